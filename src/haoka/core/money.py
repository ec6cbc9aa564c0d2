"""Money is integer fen. Rates are Decimal, rounded in one named place."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from haoka.core.errors import ValidationError

#: The one rounding mode for turning a computed Decimal amount into fen.
FEN_ROUNDING = ROUND_HALF_UP


class InvalidAmount(ValidationError):
    code = "invalid_amount"
    message = "金额格式不正确"


def round_to_fen(amount: Decimal) -> int:
    """Round a Decimal amount of fen to whole fen with :data:`FEN_ROUNDING`."""
    return int(amount.quantize(Decimal(1), rounding=FEN_ROUNDING))


_YUAN = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")


def yuan_to_fen(yuan: str | int | Decimal, *, allow_negative: bool = False) -> int:
    """Parse an amount in yuan ("19", "19.9", "0.01") to fen. Refuses floats, exponents,
    sub-fen precision and (unless ``allow_negative``) negative amounts.

    Raises InvalidAmount.
    """
    if isinstance(yuan, float):
        raise InvalidAmount("金额不能是浮点数", value=str(yuan))
    text = str(yuan).strip()
    if not _YUAN.match(text):
        if re.match(r"^-?[0-9]+\.[0-9]{3,}$", text):
            raise InvalidAmount("金额最多两位小数", value=text[:20])
        raise InvalidAmount(value=text[:20])
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InvalidAmount(value=text[:20]) from None
    if value < 0 and not allow_negative:
        raise InvalidAmount("金额不能为负", value=text[:20])
    fen = value * 100
    if fen != fen.to_integral_value():
        raise InvalidAmount("金额最多两位小数", value=str(yuan))
    return int(fen)


def format_fen(fen: int) -> str:
    """¥12.34, ¥1,234.00 (-¥3.00 for negative amounts)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"
