"""Mainland China mobile numbers, parsed with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from haoka.core.errors import ValidationError

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidMsisdn(ValidationError):
    code = "invalid_msisdn"
    message = "不是有效的中国大陆手机号码"


def parse_mainland_mobile(raw: str) -> str:
    """Return the 11-digit national number of a valid mainland mobile number.

    Accepts "13812345678", "+86 138 1234 5678", "86-13812345678", "008613812345678".
    Raises InvalidMsisdn.
    """
    if not isinstance(raw, str):
        raise InvalidMsisdn(value=str(raw))
    text = raw.strip()
    if not text or len(text) > 32 or any(c.isalpha() for c in text):
        raise InvalidMsisdn(value=text[:32])
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("00"):
        text = "+" + digits[2:]
    elif len(digits) == 13 and digits.startswith("86"):
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidMsisdn(value=text) from None
    national = str(number.national_number)
    if (
        number.country_code != 86
        or len(national) != 11
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise InvalidMsisdn(value=text)
    return national
