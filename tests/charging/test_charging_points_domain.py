"""The pure rules of points (charging.points): when plan data may be converted, how many
points bytes make, spending oldest lots first, expiry 12 months after earning. No database."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import points
from haoka.charging.domain import NaiveDatetime, Source
from haoka.charging.movements import GB, MB
from tests.support.money import beijing

MAY_END = beijing(2026, 6, 1)


def test_packs_convert_at_any_time_but_plan_data_only_in_the_months_last_three_days():
    assert points.convertible_sources(at=beijing(2026, 5, 28, 23, 59), month_end=MAY_END) == (
        Source.PACK,
    )
    assert points.convertible_sources(at=beijing(2026, 5, 29), month_end=MAY_END) == (
        Source.ROLLOVER,
        Source.PLAN,
        Source.PACK,
    )
    assert points.in_plan_window(at=beijing(2026, 5, 31, 23, 59), month_end=MAY_END)
    assert not points.in_plan_window(at=MAY_END, month_end=MAY_END)


def test_a_naive_time_is_refused():
    with pytest.raises(NaiveDatetime):
        points.in_plan_window(at=dt.datetime(2026, 5, 30), month_end=MAY_END)


def test_points_are_rounded_down_and_a_conversion_worth_none_is_refused():
    assert points.points_for(amount=2 * GB, points_per_gb=100) == 200
    assert points.points_for(amount=1536 * MB, points_per_gb=100) == 150
    assert points.points_for(amount=100 * MB, points_per_gb=100) == 9  # 9.77 -> 9
    with pytest.raises(points.ConversionTooSmall):
        points.points_for(amount=100 * MB, points_per_gb=10)


def test_points_expire_twelve_calendar_months_after_they_were_earned():
    assert points.expiry(earned_at=beijing(2026, 5, 10, 12)) == beijing(2027, 5, 10, 12)
    assert points.expiry(earned_at=dt.datetime(2028, 2, 29, tzinfo=dt.UTC)) == dt.datetime(
        2029, 2, 28, tzinfo=dt.UTC
    )


def _lot(i, remaining, month):
    return points.Lot(i, remaining, dt.datetime(2027, month, 1, tzinfo=dt.UTC))


def test_spending_takes_the_soonest_expiring_lots_first_and_never_an_expired_one():
    lots = [_lot(1, 50, 6), _lot(2, 80, 3), _lot(3, 70, 1)]
    at = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)  # lot 3 has expired
    assert points.spend(lots=lots, points=100, at=at) == [(2, 80), (1, 20)]
    assert points.balance(lots=lots, at=at) == 130


def test_spending_more_than_the_usable_points_is_refused_with_the_balance():
    lots = [_lot(1, 50, 6)]
    with pytest.raises(points.NotEnoughPoints) as refused:
        points.spend(lots=lots, points=51, at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert refused.value.details == {"points": 51, "balance": 50}
    with pytest.raises(points.NotEnoughPoints):
        points.spend(lots=lots, points=0, at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))


def test_a_conversion_can_be_reversed_once():
    points.CONVERSION_MACHINE.check(
        current=points.ConversionState.DONE, target=points.ConversionState.REVERSED
    )
    with pytest.raises(points.ConversionStateConflict):
        points.CONVERSION_MACHINE.check(
            current=points.ConversionState.REVERSED, target=points.ConversionState.REVERSED
        )
