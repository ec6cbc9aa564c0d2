"""The clock: one place reads the wall clock; tests freeze it per thread or globally."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from haoka.core import clock

AT = dt.datetime(2026, 1, 31, 16, 30, tzinfo=dt.UTC)


def _now_in_other_thread() -> dt.datetime:
    seen: list[dt.datetime] = []
    thread = threading.Thread(target=lambda: seen.append(clock.now()))
    thread.start()
    thread.join()
    return seen[0]


def test_now_is_aware_utc():
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == dt.timedelta(0)


def test_frozen_fixes_now_for_this_thread_only():
    with clock.frozen(AT):
        assert clock.now() == AT
        assert _now_in_other_thread() != AT
    assert clock.now() != AT


def test_frozen_for_all_threads_is_seen_by_other_threads():
    with clock.frozen(AT, all_threads=True):
        assert clock.now() == AT
        assert _now_in_other_thread() == AT
    assert _now_in_other_thread() != AT


def test_frozen_takes_any_timezone_and_stores_utc():
    beijing_noon = dt.datetime(2026, 2, 1, 12, 0, tzinfo=clock.BEIJING)
    with clock.frozen(beijing_noon):
        assert clock.now() == dt.datetime(2026, 2, 1, 4, 0, tzinfo=dt.UTC)
        assert clock.now().tzinfo is dt.UTC


def test_nested_freezes_restore_the_outer_instant():
    later = AT + dt.timedelta(hours=1)
    with clock.frozen(AT):
        with clock.frozen(later):
            assert clock.now() == later
        assert clock.now() == AT


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError), clock.frozen(dt.datetime(2026, 1, 1, 12, 0)):
        pass


def test_the_beijing_date_rolls_over_at_1600_utc():
    assert clock.beijing_date(dt.datetime(2026, 1, 31, 15, 59, 59, tzinfo=dt.UTC)) == dt.date(
        2026, 1, 31
    )
    assert clock.beijing_date(AT) == dt.date(2026, 2, 1)


def test_beijing_gives_the_same_instant_eight_hours_ahead():
    local = clock.beijing(AT)
    assert local == AT
    assert (local.hour, local.minute) == (0, 30)
    assert local.utcoffset() == dt.timedelta(hours=8)
