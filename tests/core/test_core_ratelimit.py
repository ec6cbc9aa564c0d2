"""Fixed-window rate limits kept in the database."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import ratelimit
from haoka.core.errors import RateLimited
from haoka.core.models import RateCounter

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)
T0 = dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.UTC)


def test_hits_within_the_limit_pass_and_are_counted():
    assert [ratelimit.hit(key="k", limit=3, window=MINUTE, now=T0) for _ in range(3)] == [1, 2, 3]


def test_the_hit_past_the_limit_is_refused_with_when_to_retry():
    for _ in range(3):
        ratelimit.hit(key="k", limit=3, window=MINUTE, now=T0)
    with pytest.raises(RateLimited) as exc:
        ratelimit.hit(key="k", limit=3, window=MINUTE, now=T0 + dt.timedelta(seconds=20))
    assert exc.value.code == "rate_limited"
    assert exc.value.status == 429
    assert exc.value.details == {"retry_after_seconds": 40}


def test_refused_hits_keep_counting_so_hammering_does_not_help():
    ratelimit.hit(key="k", limit=1, window=MINUTE, now=T0)
    for _ in range(3):
        with pytest.raises(RateLimited):
            ratelimit.hit(key="k", limit=1, window=MINUTE, now=T0)
    assert RateCounter.objects.get(key="k").count == 4


def test_a_new_window_starts_from_zero():
    ratelimit.hit(key="k", limit=1, window=MINUTE, now=T0 + dt.timedelta(seconds=59))
    with pytest.raises(RateLimited):
        ratelimit.hit(key="k", limit=1, window=MINUTE, now=T0 + dt.timedelta(seconds=59))
    assert ratelimit.hit(key="k", limit=1, window=MINUTE, now=T0 + dt.timedelta(seconds=60)) == 1


def test_windows_are_aligned_to_the_clock_not_to_the_first_hit():
    hour = dt.timedelta(hours=1)
    ratelimit.hit(key="k", limit=1, window=hour, now=T0 + dt.timedelta(minutes=59))
    # One minute later is a new clock hour, hence a new window.
    assert ratelimit.hit(key="k", limit=1, window=hour, now=T0 + dt.timedelta(minutes=60)) == 1


def test_counters_are_kept_per_key():
    ratelimit.hit(key="phone:1", limit=1, window=MINUTE, now=T0)
    assert ratelimit.hit(key="phone:2", limit=1, window=MINUTE, now=T0) == 1
    with pytest.raises(RateLimited):
        ratelimit.hit(key="phone:1", limit=1, window=MINUTE, now=T0)


def test_purge_drops_only_counters_of_windows_that_started_before_the_cut():
    ratelimit.hit(key="old", limit=5, window=MINUTE, now=T0)
    ratelimit.hit(key="new", limit=5, window=MINUTE, now=T0 + dt.timedelta(hours=2))
    assert ratelimit.purge(before=T0 + dt.timedelta(hours=1)) == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]
