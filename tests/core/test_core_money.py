"""Money: integer fen, parsed and shown as yuan, rounded half-up in one place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core.money import InvalidAmount, format_fen, round_to_fen, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (1234, "¥12.34"),
        (123400, "¥1,234.00"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (-300, "-¥3.00"),
        (-123456789, "-¥1,234,567.89"),
    ],
)
def test_an_amount_in_fen_is_shown_as_yuan_with_two_decimals(fen, shown):
    assert format_fen(fen) == shown


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        ("19", 1900),
        ("19.9", 1990),
        ("0.01", 1),
        (" 12.34 ", 1234),
        (7, 700),
        (Decimal("1.50"), 150),
    ],
)
def test_a_yuan_amount_is_parsed_to_whole_fen(yuan, fen):
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize("yuan", ["0.001", "19.995", Decimal("0.125")])
def test_sub_fen_precision_is_refused(yuan):
    with pytest.raises(InvalidAmount) as exc:
        yuan_to_fen(yuan)
    assert exc.value.code == "invalid_amount"


@pytest.mark.parametrize("yuan", ["", "abc", "12,34", "¥12", "NaN", "Infinity", "1.2.3"])
def test_junk_is_refused_as_an_invalid_amount(yuan):
    with pytest.raises(InvalidAmount):
        yuan_to_fen(yuan)


@pytest.mark.parametrize("yuan", [0.1, 19.9, 1.0])
def test_floats_are_refused_even_when_they_look_exact(yuan):
    with pytest.raises(InvalidAmount):
        yuan_to_fen(yuan)


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),
        ("2.4999", 2),
        ("2.5001", 3),
        ("-2.5", -3),
        ("-2.4", -2),
        ("7", 7),
    ],
)
def test_round_to_fen_rounds_half_up(amount, fen):
    assert round_to_fen(Decimal(amount)) == fen


def _parse_shown(text: str) -> int:
    """Undo format_fen's presentation so the yuan parser can read it back."""
    return yuan_to_fen(text.replace("¥", "").replace(",", ""), allow_negative=True)


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_formatting_and_parsing_back_gives_the_same_fen(fen):
    assert _parse_shown(format_fen(fen)) == fen


@given(st.integers(min_value=0, max_value=10**12))
def test_any_two_decimal_yuan_string_parses_to_its_fen(fen):
    assert yuan_to_fen(f"{fen // 100}.{fen % 100:02d}") == fen


@pytest.mark.parametrize("text", ["1e2", "1E2", "+5", "0x10", " ", "1,000", "１２"])
def test_exponents_signs_separators_and_full_width_digits_are_not_amounts(text):
    with pytest.raises(InvalidAmount):
        yuan_to_fen(text)


def test_a_negative_amount_is_refused_unless_asked_for():
    with pytest.raises(InvalidAmount):
        yuan_to_fen("-3")
    assert yuan_to_fen("-3", allow_negative=True) == -300
