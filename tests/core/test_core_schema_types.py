"""The bounded types of API input: money and counts are strict JSON integers within what a
column holds; instants are aware and between 2000 and 2100; ids in paths are text, bounded."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import TypeAdapter, ValidationError

from haoka.core.schema_types import (
    MAX_BIGINT,
    MAX_FEN,
    MAX_UNITS,
    BasisPoints,
    BigCount,
    Count,
    Fen,
    Id,
    Months,
    PlausibleDatetime,
    RatingGroup,
    SignedFen,
)


def _json(kind, text: str):
    return TypeAdapter(kind).validate_json(text)


def _python(kind, value):
    return TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (Fen, [0, 1000, MAX_FEN], [-1, MAX_FEN + 1, 2**63, "1000", 1000.0, True, None]),
        (SignedFen, [-MAX_FEN, 0, MAX_FEN], [-MAX_FEN - 1, MAX_FEN + 1, "-1", -1.0]),
        (Count, [0, 120, 2**31 - 1], [-1, 2**31, "3", 3.0, False]),
        (BigCount, [0, MAX_UNITS], [-1, MAX_UNITS + 1, 2**63, "1", 1.5]),
        (RatingGroup, [0, 2**32 - 1], [-1, 2**32, 2**63, "1003"]),
        (BasisPoints, [0, 10_000], [-1, 10_001, "1000"]),
        (Months, [0, 120], [-1, 121, "12"]),
    ],
)
def test_money_and_counts_are_strict_integers_within_their_bounds(kind, good, bad):
    for value in good:
        assert _python(kind, value) == value
        assert _json(kind, str(value)) == value
    for value in bad:
        with pytest.raises(ValidationError):
            _python(kind, value)


def test_a_number_in_a_json_string_is_refused_not_coerced():
    for text in ('"1000"', "1000.0", "true", "1e3"):
        with pytest.raises(ValidationError):
            _json(Fen, text)


def test_money_and_counts_stay_far_below_what_a_bigint_holds():
    assert MAX_FEN * 1000 < MAX_BIGINT  # a thousand maximal amounts still add up
    assert (MAX_UNITS + 1024) * 1000 < MAX_BIGINT  # a batch rounded up to rating steps


def test_ids_in_paths_are_text_bounded_by_a_bigint():
    assert _python(Id, "42") == 42 and _python(Id, str(MAX_BIGINT)) == MAX_BIGINT
    for text in ("0", "-1", str(MAX_BIGINT + 1), str(2**64), "4.2"):
        with pytest.raises(ValidationError):
            _python(Id, text)


@pytest.mark.parametrize(
    "text",
    [
        "2000-01-01T00:00:00Z",
        "2026-05-10T12:00:00+08:00",
        "2100-12-31T23:59:59Z",
        "2101-01-01T07:00:00+08:00",  # still 2100 in UTC
    ],
)
def test_an_aware_instant_between_2000_and_2100_is_plausible(text):
    assert _python(PlausibleDatetime, text) == dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+08:00",
        "1970-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "9999-12-31T23:59:59-08:00",
        "2026-05-10T12:00:00",  # naive: which zone?
        "not a date",
    ],
)
def test_an_instant_before_2000_after_2100_or_without_a_zone_is_refused(text):
    with pytest.raises(ValidationError):
        _python(PlausibleDatetime, text)
