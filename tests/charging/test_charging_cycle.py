"""Calendar rules in Beijing time: days, months, plan grants, rollover, expiry, the monthly
fee, upgrade proration and pack validity."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from haoka.charging import cycle
from haoka.charging.cycle import (
    InvalidCycleAmount,
    InvalidPeriod,
    InvalidPlanTerms,
    NewBucket,
    PlanTerms,
)
from haoka.charging.domain import Bucket, NaiveDatetime, Source, TimeWindow, Unit

GB = 1024**3


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def plan_bucket(bucket_id, available, valid_to, **fields):
    fields.setdefault("source", Source.PLAN)
    fields.setdefault("unit", Unit.BYTES)
    return Bucket(
        id=bucket_id,
        available=available,
        valid_from=valid_to - timedelta(days=28),
        valid_to=valid_to,
        **fields,
    )


# --- days and months ------------------------------------------------------------------------


def test_the_beijing_day_turns_at_16_00_utc():
    assert cycle.beijing_day(utc(2026, 5, 10, 15, 59, 59)) == (
        utc(2026, 5, 9, 16),
        utc(2026, 5, 10, 16),
    )
    assert cycle.beijing_day(utc(2026, 5, 10, 16)) == (utc(2026, 5, 10, 16), utc(2026, 5, 11, 16))


def test_the_beijing_month_turns_at_16_00_utc_on_the_last_utc_day():
    assert cycle.beijing_month(utc(2026, 5, 31, 15, 59, 59)) == (
        utc(2026, 4, 30, 16),
        utc(2026, 5, 31, 16),
    )
    assert cycle.beijing_month(utc(2026, 5, 31, 16))[0] == utc(2026, 5, 31, 16)


def test_a_leap_february_has_29_beijing_days():
    start, end = cycle.beijing_month(utc(2028, 2, 29, 15, 59, 59))  # 23:59:59 on 2028-02-29
    assert (start, end) == (utc(2028, 1, 31, 16), utc(2028, 2, 29, 16))
    assert end - start == timedelta(days=29)
    assert cycle.beijing_date(utc(2028, 2, 29, 16)).isoformat() == "2028-03-01"


def test_a_common_february_has_28_beijing_days():
    start, end = cycle.beijing_month(utc(2026, 2, 14))
    assert end - start == timedelta(days=28)


def test_december_is_followed_by_january_of_the_next_year():
    assert cycle.next_month_start(utc(2026, 12, 15)) == utc(2026, 12, 31, 16)
    assert cycle.beijing_month(utc(2026, 12, 31, 16)) == (
        utc(2026, 12, 31, 16),
        utc(2027, 1, 31, 16),
    )
    assert cycle.beijing_date(utc(2026, 12, 31, 15, 59, 59)).month == 12


def test_calendar_functions_refuse_naive_datetimes():
    with pytest.raises(NaiveDatetime):
        cycle.beijing_day(datetime(2026, 5, 10))


# --- plan grants ----------------------------------------------------------------------------

MAY_START, MAY_END = cycle.beijing_month(utc(2026, 5, 10))


def test_a_plan_grants_one_bucket_per_allowance_for_the_month():
    terms = PlanTerms(
        general_data_bytes=30 * GB,
        targeted_data_bytes=100 * GB,
        targeted_groups=frozenset({7, 8}),
        voice_seconds=100 * 60,
        sms_count=50,
    )
    grants = cycle.plan_grants(plan=terms, month_start=MAY_START, month_end=MAY_END)
    assert grants == [
        NewBucket(Unit.BYTES, Source.PLAN, 30 * GB, MAY_START, MAY_END),
        NewBucket(Unit.BYTES, Source.PLAN, 100 * GB, MAY_START, MAY_END, frozenset({7, 8})),
        NewBucket(Unit.SECONDS, Source.PLAN, 6000, MAY_START, MAY_END),
        NewBucket(Unit.SMS, Source.PLAN, 50, MAY_START, MAY_END),
    ]


def test_zero_allowances_grant_no_bucket():
    grants = cycle.plan_grants(
        plan=PlanTerms(general_data_bytes=GB), month_start=MAY_START, month_end=MAY_END
    )
    assert [(g.unit, g.amount, g.rating_groups) for g in grants] == [(Unit.BYTES, GB, frozenset())]


def test_targeted_data_without_rating_groups_or_negative_amounts_are_refused():
    with pytest.raises(InvalidPlanTerms) as exc:
        PlanTerms(targeted_data_bytes=GB)
    assert exc.value.code == "invalid_plan_terms"
    with pytest.raises(InvalidPlanTerms):
        PlanTerms(voice_seconds=-60)


def test_a_grant_period_must_end_after_it_starts():
    with pytest.raises(InvalidPeriod):
        cycle.plan_grants(plan=PlanTerms(), month_start=MAY_END, month_end=MAY_END)


# --- rollover and expiry --------------------------------------------------------------------


def test_unused_general_plan_data_rolls_over_to_the_end_of_the_next_month():
    buckets = [plan_bucket(1, 3 * GB, MAY_END), plan_bucket(2, GB, MAY_END)]
    rolled = cycle.rollover(buckets=buckets, month_end=MAY_END)
    assert rolled == NewBucket(
        Unit.BYTES, Source.ROLLOVER, 4 * GB, MAY_END, cycle.next_month_start(MAY_END)
    )
    assert rolled.valid_to == utc(2026, 6, 30, 16)


def test_only_general_plan_data_of_the_month_rolls_over():
    night = TimeWindow(start=time(23), end=time(7))
    buckets = [
        plan_bucket("general", GB, MAY_END),
        plan_bucket("targeted", GB, MAY_END, rating_groups=frozenset({7})),
        plan_bucket("night", GB, MAY_END, window=night),
        plan_bucket("rollover", GB, MAY_END, source=Source.ROLLOVER),
        plan_bucket("pack", GB, MAY_END, source=Source.PACK),
        plan_bucket("voice", 600, MAY_END, unit=Unit.SECONDS),
        plan_bucket("later", GB, MAY_END + timedelta(days=1)),
        plan_bucket("earlier", GB, MAY_START),
    ]
    assert cycle.rollover(buckets=buckets, month_end=MAY_END).amount == GB


def test_nothing_left_rolls_over_nothing():
    assert cycle.rollover(buckets=[plan_bucket(1, 0, MAY_END)], month_end=MAY_END) is None
    assert cycle.rollover(buckets=[], month_end=MAY_END) is None


def test_rollover_from_december_lasts_to_the_end_of_january():
    dec_end = cycle.next_month_start(utc(2026, 12, 10))
    rolled = cycle.rollover(buckets=[plan_bucket(1, GB, dec_end)], month_end=dec_end)
    assert (rolled.valid_from, rolled.valid_to) == (utc(2026, 12, 31, 16), utc(2027, 1, 31, 16))


def test_a_rollover_bucket_expires_exactly_at_its_valid_to():
    rolled = cycle.rollover(buckets=[plan_bucket(1, GB, MAY_END)], month_end=MAY_END)
    as_bucket = Bucket(
        id=9,
        unit=rolled.unit,
        source=rolled.source,
        available=rolled.amount,
        valid_from=rolled.valid_from,
        valid_to=rolled.valid_to,
    )
    just_before = rolled.valid_to - timedelta(microseconds=1)
    assert cycle.expired(buckets=[as_bucket], at=just_before) == []
    assert cycle.expired(buckets=[as_bucket], at=rolled.valid_to) == [9]
    assert cycle.rollover(buckets=[as_bucket], month_end=rolled.valid_to) is None


def test_expired_lists_ended_buckets_in_the_order_given_and_never_open_ones():
    at = utc(2026, 6, 1)
    buckets = [
        plan_bucket(3, GB, at - timedelta(days=1)),
        plan_bucket(1, GB, at + timedelta(seconds=1)),
        plan_bucket(2, GB, at),
        Bucket(id=4, unit=Unit.BYTES, source=Source.PACK, available=0, valid_from=at),
    ]
    assert cycle.expired(buckets=buckets, at=at) == [3, 2]


# --- monthly fee ----------------------------------------------------------------------------


def test_the_monthly_fee_is_charged_from_a_sufficient_balance_without_arrears():
    outcome = cycle.monthly_fee(balance_fen=5000, fee_fen=1900, at=MAY_START, grace_days=3)
    assert (outcome.balance_fen, outcome.charged_fen, outcome.arrears) == (3100, 1900, False)
    assert outcome.suspend_at is None


def test_an_exact_balance_reaches_zero_without_arrears():
    outcome = cycle.monthly_fee(balance_fen=1900, fee_fen=1900, at=MAY_START, grace_days=3)
    assert outcome.balance_fen == 0 and not outcome.arrears


def test_a_short_balance_goes_negative_and_is_suspended_after_the_grace_period():
    outcome = cycle.monthly_fee(balance_fen=1000, fee_fen=1900, at=MAY_START, grace_days=3)
    assert (outcome.balance_fen, outcome.arrears) == (-900, True)
    assert outcome.suspend_at == MAY_START + timedelta(days=3)


def test_a_negative_fee_or_grace_is_refused():
    with pytest.raises(InvalidCycleAmount):
        cycle.monthly_fee(balance_fen=0, fee_fen=-1, at=MAY_START, grace_days=3)
    with pytest.raises(InvalidCycleAmount):
        cycle.monthly_fee(balance_fen=0, fee_fen=1, at=MAY_START, grace_days=-1)


# --- proration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fen"),
    [
        (utc(2026, 4, 30, 15, 59, 59), 103),  # 30 Apr 23:59:59 Beijing: 1 of 30 days
        (utc(2026, 4, 30, 16), 3100),  # 1 May 00:00 Beijing: 31 of 31 days
        (utc(2026, 5, 16, 4), 1600),  # 16 May: 16 of 31 days
        (utc(2026, 5, 31, 15, 59, 59), 100),  # 31 May 23:59:59 Beijing: 1 of 31 days
        (utc(2026, 5, 31, 16), 3100),  # 1 Jun 00:00 Beijing: 30 of 30 days
    ],
)
def test_an_upgrade_costs_the_difference_for_the_beijing_days_left(at, fen):
    assert cycle.prorate(old_fee_fen=1900, new_fee_fen=5000, at=at) == fen


def test_a_leap_february_prorates_over_29_days():
    # 29 Feb 2028 Beijing: 1 day of 29; 2900 / 29 = 100.
    assert cycle.prorate(old_fee_fen=0, new_fee_fen=2900, at=utc(2028, 2, 29, 4)) == 100
    # 1 Feb 2028: all 29 days.
    assert cycle.prorate(old_fee_fen=0, new_fee_fen=2900, at=utc(2028, 1, 31, 16)) == 2900


def test_proration_rounds_half_up_at_the_named_place():
    # April has 30 days; on 30 April 1 of 30 days is left: 15 / 30 = 0.5 fen -> 1.
    assert cycle.prorate(old_fee_fen=0, new_fee_fen=15, at=utc(2026, 4, 30, 4)) == 1
    # 14 / 30 = 0.466... -> 0.
    assert cycle.prorate(old_fee_fen=0, new_fee_fen=14, at=utc(2026, 4, 30, 4)) == 0


def test_a_downgrade_or_same_fee_costs_nothing_now():
    assert cycle.prorate(old_fee_fen=5000, new_fee_fen=1900, at=utc(2026, 5, 10)) == 0
    assert cycle.prorate(old_fee_fen=1900, new_fee_fen=1900, at=utc(2026, 5, 10)) == 0


# --- pack validity --------------------------------------------------------------------------


def test_a_pack_of_zero_days_runs_to_the_end_of_the_beijing_month():
    at = utc(2026, 5, 31, 15, 59, 59)  # the last second of May in Beijing
    assert cycle.pack_validity(validity_days=0, at=at) == (at, utc(2026, 5, 31, 16))
    later = utc(2026, 5, 31, 16)  # already 1 June in Beijing
    assert cycle.pack_validity(validity_days=0, at=later) == (later, utc(2026, 6, 30, 16))


def test_a_one_day_pack_ends_at_the_next_beijing_midnight():
    at = utc(2026, 5, 10, 15, 59, 59)  # 23:59:59 Beijing
    assert cycle.pack_validity(validity_days=1, at=at) == (at, utc(2026, 5, 10, 16))


def test_an_n_day_pack_counts_the_day_of_purchase_as_day_one():
    at = utc(2026, 12, 29, 2)  # 29 Dec 10:00 Beijing
    assert cycle.pack_validity(validity_days=7, at=at)[1] == utc(2027, 1, 4, 16)


def test_a_negative_validity_is_refused():
    with pytest.raises(InvalidCycleAmount):
        cycle.pack_validity(validity_days=-1, at=utc(2026, 5, 10))
