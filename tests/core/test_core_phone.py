"""Mainland mobile numbers are normalized to 11 digits; anything else is refused."""

from __future__ import annotations

import pytest

from haoka.core.phone import InvalidMsisdn, parse_mainland_mobile


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "+86 138 1234 5678",
        "+8613812345678",
        "86-13812345678",
        "008613812345678",
        "138-1234-5678",
    ],
)
def test_common_spellings_of_a_mobile_number_give_the_11_digits(raw):
    assert parse_mainland_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["19912345678", "16612345678", "17012345678", "14512345678"])
def test_numbers_of_newer_segments_are_accepted(raw):
    assert parse_mainland_mobile(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12345678901",  # no such segment
        "99912345678",
        "010-12345678",  # Beijing fixed line
        "+1 415 555 0100",  # not China
        "+852 9123 4567",  # Hong Kong
        "1381234567a",
        "tel:13812345678",
        "1" * 40,
    ],
)
def test_anything_but_a_mainland_mobile_is_refused(raw):
    with pytest.raises(InvalidMsisdn) as exc:
        parse_mainland_mobile(raw)
    assert exc.value.code == "invalid_msisdn"
    assert exc.value.status == 422


def test_a_non_string_is_refused():
    with pytest.raises(InvalidMsisdn):
        parse_mainland_mobile(13812345678)  # type: ignore[arg-type]
