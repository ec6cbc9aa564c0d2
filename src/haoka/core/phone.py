"""Mainland China mobile numbers (the one parser every domain uses), with ``phonenumbers``.

Validity of a mainland mobile number is decided by its first seven digits in libphonenumber's
metadata, so it is computed once per 7-digit prefix and cached.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from haoka.core.errors import ValidationError

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidMsisdn(ValidationError):
    code = "invalid_msisdn"
    message = "不是有效的中国大陆手机号码"


@lru_cache(maxsize=1 << 18)
def is_mobile_prefix(prefix7: str) -> bool:
    """Is ``prefix7`` + any four digits a valid mainland mobile number?"""
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(prefix7 + "0000"))
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) == "CN"
        and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def parse_mainland_mobile(raw: str) -> str:
    """The 11-digit national number of a valid mainland mobile number.

    Accepts "13812345678", "138 1234 5678", "+86 138-1234-5678", "8613812345678",
    "008613812345678", and full-width digits. Raises InvalidMsisdn.
    """
    if not isinstance(raw, str):
        raise InvalidMsisdn(reason="not_text")
    if len(raw) == 11 and raw.isascii() and raw.isdigit():  # the common case, kept fast
        compact = raw
    else:
        if len(raw) > 32:
            raise InvalidMsisdn(reason="too_long")
        compact = unicodedata.normalize("NFKC", raw).strip().replace(" ", "").replace("-", "")
    if compact.startswith("+"):
        if not compact.startswith("+86"):
            raise InvalidMsisdn(reason="not_china", value=raw[:32])
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    if not compact.isascii() or not compact.isdigit():
        raise InvalidMsisdn(reason="not_digits", value=raw[:32])
    if len(compact) != 11 or compact[0] != "1":
        raise InvalidMsisdn(reason="wrong_length", value=raw[:32])
    if not is_mobile_prefix(compact[:7]):
        raise InvalidMsisdn(reason="not_mobile", value=raw[:32])
    return compact
