"""Money is integer fen. Rates are Decimal, rounded in one named place."""

from __future__ import annotations

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


def yuan_to_fen(yuan: str | int | Decimal) -> int:
    """Parse an amount in yuan ("19", "19.9", "0.01") to fen, refusing sub-fen precision.

    Raises InvalidAmount.
    """
    if isinstance(yuan, float):
        raise InvalidAmount("金额不能是浮点数", value=str(yuan))
    try:
        value = Decimal(str(yuan).strip())
    except (InvalidOperation, ValueError):
        raise InvalidAmount(value=str(yuan)) from None
    if not value.is_finite():
        raise InvalidAmount(value=str(yuan))
    fen = value * 100
    if fen != fen.to_integral_value():
        raise InvalidAmount("金额最多两位小数", value=str(yuan))
    return int(fen)


def format_fen(fen: int) -> str:
    """¥12.34 (¥-3.00 for negative amounts)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"
