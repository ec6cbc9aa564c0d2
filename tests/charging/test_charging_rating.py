"""The rating engine: rated units, windows, eligibility, the draw order, zero rating, 日租,
pay-as-you-go with a sub-fen carry, reservation settlement and usage alerts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from haoka.charging import cycle
from haoka.charging.domain import (
    Bucket,
    InvalidChargingData,
    NaiveDatetime,
    NegativeUsage,
    PayerKind,
    Source,
    Tariff,
    TimeWindow,
    Unit,
    Wallet,
    draw_order,
    expiring_soon,
    rate,
    rated_amount,
    usage_alerts,
)
from haoka.charging.settlement import settle

KB = 1024
MB = 1024 * KB
NOON = datetime(2026, 5, 10, 4, 0, tzinfo=UTC)  # 12:00 Beijing
NIGHT_AT = datetime(2026, 5, 10, 15, 30, tzinfo=UTC)  # 23:30 Beijing
MONTH_START, MONTH_END = cycle.beijing_month(NOON)
NIGHT = TimeWindow(start=time(23), end=time(7))
NO_PAYG = Tariff()
PAYG = Tariff(
    payg_data_fen_per_mb=Decimal("3"),
    payg_voice_fen_per_minute=Decimal("15"),
    payg_sms_fen=Decimal("10"),
)
EMPTY = Wallet(available_fen=0)


def bucket(bucket_id, source=Source.PLAN, available=10 * MB, **fields):
    fields.setdefault("unit", Unit.BYTES)
    fields.setdefault("valid_from", MONTH_START)
    fields.setdefault("valid_to", MONTH_END)
    return Bucket(id=bucket_id, source=source, available=available, **fields)


def rate_data(amount, buckets, *, at=NOON, group=None, tariff=NO_PAYG, wallet=EMPTY):
    return rate(
        unit=Unit.BYTES,
        amount=amount,
        rating_group=group,
        at=at,
        buckets=buckets,
        tariff=tariff,
        wallet=wallet,
    )


def paid_by(rating):
    return [(d.bucket_id, d.amount) for d in rating.draws]


# --- rated units ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "raw", "rated"),
    [
        (Unit.BYTES, 0, 0),
        (Unit.BYTES, 1, 1024),
        (Unit.BYTES, 1024, 1024),
        (Unit.BYTES, 1500, 2048),
        (Unit.SECONDS, 1, 60),
        (Unit.SECONDS, 60, 60),
        (Unit.SECONDS, 61, 120),
        (Unit.SMS, 3, 3),
    ],
)
def test_usage_is_rated_per_started_kb_minute_or_message(unit, raw, rated):
    assert rated_amount(unit=unit, raw=raw) == rated


def test_negative_usage_is_refused_with_a_stable_code():
    with pytest.raises(NegativeUsage) as exc:
        rated_amount(unit=Unit.BYTES, raw=-1)
    assert exc.value.code == "negative_usage"
    with pytest.raises(NegativeUsage):
        rate_data(-1024, [])


# --- time windows and eligibility -----------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "inside"),
    [
        (datetime(2026, 5, 10, 14, 59, 59, tzinfo=UTC), False),  # 22:59:59 Beijing
        (datetime(2026, 5, 10, 15, 0, tzinfo=UTC), True),  # 23:00
        (datetime(2026, 5, 10, 15, 30, tzinfo=UTC), True),  # 23:30
        (datetime(2026, 5, 10, 16, 0, tzinfo=UTC), True),  # 00:00, past midnight
        (datetime(2026, 5, 10, 22, 59, 59, tzinfo=UTC), True),  # 06:59:59
        (datetime(2026, 5, 10, 23, 0, tzinfo=UTC), False),  # 07:00, end exclusive
        (datetime(2026, 5, 10, 4, 0, tzinfo=UTC), False),  # noon
    ],
)
def test_a_night_window_wraps_midnight_in_beijing_time_and_excludes_its_end(utc, inside):
    assert NIGHT.contains(utc) is inside


def test_a_daytime_window_holds_its_start_but_not_its_end():
    office = TimeWindow(start=time(9), end=time(18))
    assert office.contains(datetime(2026, 5, 10, 1, 0, tzinfo=UTC))  # 09:00 Beijing
    assert not office.contains(datetime(2026, 5, 10, 10, 0, tzinfo=UTC))  # 18:00 Beijing


def test_an_empty_window_is_refused():
    with pytest.raises(InvalidChargingData) as exc:
        TimeWindow(start=time(7), end=time(7))
    assert exc.value.code == "invalid_charging_data"


def test_naive_datetimes_are_refused():
    with pytest.raises(NaiveDatetime):
        NIGHT.contains(datetime(2026, 5, 10, 23, 30))
    with pytest.raises(NaiveDatetime):
        rate_data(1024, [bucket(1)], at=datetime(2026, 5, 10, 12))


def test_a_bucket_is_valid_from_its_start_until_just_before_its_end():
    plan = bucket(1, valid_from=NOON, valid_to=NOON + timedelta(hours=1))
    eligible = lambda at: plan.eligible(unit=Unit.BYTES, rating_group=None, at=at)  # noqa: E731
    assert not eligible(NOON - timedelta(microseconds=1))
    assert eligible(NOON)
    assert eligible(NOON + timedelta(minutes=59, seconds=59))
    assert not eligible(NOON + timedelta(hours=1))


def test_an_empty_bucket_or_one_of_another_unit_is_not_eligible():
    assert not bucket(1, available=0).eligible(unit=Unit.BYTES, rating_group=None, at=NOON)
    assert not bucket(1).eligible(unit=Unit.SECONDS, rating_group=None, at=NOON)


def test_a_targeted_bucket_is_eligible_only_for_its_rating_groups():
    video = bucket(1, Source.PACK, rating_groups=frozenset({7}))
    assert video.eligible(unit=Unit.BYTES, rating_group=7, at=NOON)
    assert not video.eligible(unit=Unit.BYTES, rating_group=8, at=NOON)
    assert not video.eligible(unit=Unit.BYTES, rating_group=None, at=NOON)


def test_a_bucket_with_negative_available_is_refused():
    with pytest.raises(InvalidChargingData):
        bucket(1, available=-1)


def test_a_wallet_carry_outside_zero_to_one_or_a_float_price_is_refused():
    with pytest.raises(InvalidChargingData):
        Wallet(available_fen=0, carry=Decimal(1))
    with pytest.raises(InvalidChargingData):
        Tariff(payg_data_fen_per_mb=0.03)


# --- draw order -----------------------------------------------------------------------------


def test_draw_order_with_one_bucket_of_each_kind():
    buckets = [
        bucket("daily", Source.DAILY, valid_to=NIGHT_AT + timedelta(hours=1)),
        bucket("plan", Source.PLAN),
        bucket("gift", Source.GIFT, valid_to=MONTH_END - timedelta(days=1)),
        bucket("pack", Source.PACK, valid_to=MONTH_END - timedelta(days=2)),
        bucket("rollover", Source.ROLLOVER),
        bucket("night", Source.PACK, window=NIGHT),
        bucket("video", Source.PACK, rating_groups=frozenset({7})),
        bucket(
            "sponsor", Source.SPONSOR, rating_groups=frozenset({7}), payer_kind=PayerKind.SPONSOR
        ),
    ]
    order = draw_order(buckets=buckets, unit=Unit.BYTES, rating_group=7, at=NIGHT_AT)
    assert [b.id for b in order] == [
        "sponsor",
        "video",
        "night",
        "rollover",
        "pack",
        "gift",
        "plan",
        "daily",
    ]


def test_ties_go_to_the_soonest_expiry_then_open_ended_then_the_lowest_id():
    soon = NOON + timedelta(days=3)
    buckets = [
        bucket(5, Source.PACK, valid_to=None),
        bucket(4, Source.PACK, valid_to=MONTH_END),
        bucket(3, Source.GIFT, valid_to=soon),
        bucket(2, Source.PACK, valid_to=soon),
        bucket(1, Source.PACK, valid_to=None),
    ]
    order = draw_order(buckets=buckets, unit=Unit.BYTES, rating_group=None, at=NOON)
    assert [b.id for b in order] == [2, 3, 4, 1, 5]


def test_rollover_with_the_soonest_expiry_pays_first():
    later = bucket(1, Source.ROLLOVER, valid_to=MONTH_END)
    sooner = bucket(2, Source.ROLLOVER, valid_to=MONTH_END - timedelta(days=5))
    order = draw_order(buckets=[later, sooner], unit=Unit.BYTES, rating_group=None, at=NOON)
    assert [b.id for b in order] == [2, 1]


def test_sponsor_pays_only_when_its_rating_group_matches():
    sponsor = bucket("s", Source.SPONSOR, rating_groups=frozenset({7}))
    plan = bucket("p")
    assert paid_by(rate_data(4 * KB, [plan, sponsor], group=7)) == [("s", 4 * KB)]
    assert paid_by(rate_data(4 * KB, [plan, sponsor], group=8)) == [("p", 4 * KB)]
    assert paid_by(rate_data(4 * KB, [plan, sponsor], group=None)) == [("p", 4 * KB)]


def test_night_bucket_pays_only_inside_its_window():
    buckets = [bucket("plan"), bucket("night", Source.PACK, window=NIGHT)]
    assert paid_by(rate_data(2 * KB, buckets, at=NIGHT_AT)) == [("night", 2 * KB)]
    assert paid_by(rate_data(2 * KB, buckets, at=NOON)) == [("plan", 2 * KB)]


def test_an_expired_bucket_pays_nothing_at_its_valid_to():
    rollover = bucket("r", Source.ROLLOVER, valid_to=NOON)
    assert paid_by(rate_data(KB, [rollover, bucket("p")], at=NOON)) == [("p", KB)]


def test_usage_spills_over_to_the_next_bucket_in_order():
    buckets = [bucket("plan", available=10 * KB), bucket("pack", Source.PACK, available=3 * KB)]
    rating = rate_data(5 * KB, buckets)
    assert paid_by(rating) == [("pack", 3 * KB), ("plan", 2 * KB)]
    assert rating.granted == 5 * KB and rating.shortfall == 0


# --- zero rating and partial grants ---------------------------------------------------------


def test_a_zero_rated_group_is_free_and_draws_nothing():
    tariff = Tariff(payg_data_fen_per_mb=Decimal(3), zero_rated_groups=frozenset({9}))
    rating = rate_data(8 * KB, [bucket(1)], group=9, tariff=tariff, wallet=Wallet(100))
    assert rating.draws == ()
    assert rating.zero_rated == rating.granted == 8 * KB
    assert rating.wallet_fen == 0


def test_a_sponsor_of_a_zero_rated_group_still_pays_first():
    tariff = Tariff(zero_rated_groups=frozenset({9}))
    sponsor = bucket("s", Source.SPONSOR, available=KB, rating_groups=frozenset({9}))
    rating = rate_data(3 * KB, [sponsor], group=9, tariff=tariff)
    assert paid_by(rating) == [("s", KB)]
    assert rating.zero_rated == 2 * KB


def test_when_nobody_can_pay_the_rest_is_a_shortfall():
    rating = rate_data(4 * KB, [bucket(1, available=3 * KB)], tariff=PAYG, wallet=EMPTY)
    assert paid_by(rating) == [(1, 3 * KB)]
    assert rating.granted == 3 * KB
    assert rating.shortfall == KB
    assert rating.wallet_fen == 0


def test_a_free_payg_rate_grants_the_rest_free():
    rating = rate_data(4 * KB, [bucket(1, available=KB)], tariff=NO_PAYG, wallet=EMPTY)
    assert rating.zero_rated == 3 * KB and rating.shortfall == 0


def test_a_bucket_pays_its_last_partial_piece_and_the_wallet_pays_the_started_kbs_left():
    tariff = Tariff(payg_data_fen_per_mb=Decimal(1024))  # 1 fen per KB
    rating = rate_data(2 * KB, [bucket(1, available=1000)], tariff=tariff, wallet=Wallet(10))
    assert paid_by(rating) == [(1, 1000)]
    assert rating.wallet_units == 2 * KB - 1000  # 1048 bytes: two started KB
    assert rating.wallet_fen == 2


# --- pay as you go --------------------------------------------------------------------------


def test_payg_carries_the_sub_fen_residue_to_the_next_rating():
    tariff = Tariff(payg_data_fen_per_mb=Decimal(1))  # 1/1024 fen per KB
    first = rate_data(512 * KB, [], tariff=tariff, wallet=Wallet(10))
    assert (first.wallet_fen, first.carry) == (0, Decimal("0.5"))
    second = rate_data(512 * KB, [], tariff=tariff, wallet=Wallet(10, carry=first.carry))
    assert (second.wallet_fen, second.carry) == (1, Decimal(0))


def test_the_wallet_buys_only_the_minutes_it_can_afford():
    rating = rate(
        unit=Unit.SECONDS,
        amount=300,
        rating_group=None,
        at=NOON,
        buckets=[],
        tariff=PAYG,
        wallet=Wallet(available_fen=31, carry=Decimal("0.5")),
    )
    # 2 minutes cost floor(30.5) = 30 fen <= 31; 3 minutes would cost 45.
    assert rating.wallet_units == 120
    assert rating.wallet_fen == 30
    assert rating.carry == Decimal("0.5")
    assert rating.shortfall == 180


@pytest.mark.parametrize("available", [0, -5])
def test_an_empty_or_indebted_wallet_pays_nothing_not_even_sub_fen_usage(available):
    wallet = Wallet(available_fen=available, carry=Decimal("0.5"))
    rating = rate_data(KB, [], tariff=PAYG, wallet=wallet)  # 3/1024 fen, less than a fen
    assert rating.wallet_units == 0 and rating.wallet_fen == 0 and rating.shortfall == KB
    assert rating.carry == Decimal("0.5")


def test_the_wallet_buys_the_most_steps_whose_floored_cost_fits_its_balance():
    tariff = Tariff(payg_voice_fen_per_minute=Decimal("0.6"))
    wallet = Wallet(available_fen=1, carry=Decimal("0.3"))
    rating = rate(
        unit=Unit.SECONDS,
        amount=600,
        rating_group=None,
        at=NOON,
        buckets=[],
        tariff=tariff,
        wallet=wallet,
    )
    # 2 minutes: floor(1.2 + 0.3) = 1 fen; 3 minutes: floor(2.1) = 2 fen > 1.
    assert (rating.wallet_units, rating.wallet_fen, rating.carry) == (120, 1, Decimal("0.5"))


def test_sms_is_charged_per_message():
    rating = rate(
        unit=Unit.SMS,
        amount=3,
        rating_group=None,
        at=NOON,
        buckets=[],
        tariff=PAYG,
        wallet=Wallet(100),
    )
    assert (rating.wallet_units, rating.wallet_fen) == (3, 30)


# --- 日租 (daily rental) ---------------------------------------------------------------------

DAILY = Tariff(payg_data_fen_per_mb=Decimal(3), daily_fee_fen=100, daily_data_bytes=1024 * MB)


def test_daily_rental_is_bought_on_the_first_data_use_past_the_plan():
    rating = rate_data(5 * KB, [bucket("plan", available=KB)], tariff=DAILY, wallet=Wallet(500))
    assert paid_by(rating) == [("plan", KB), (None, 4 * KB)]
    purchase = rating.daily_purchase
    assert purchase.fee_fen == 100 and purchase.amount == 1024 * MB
    assert (purchase.valid_from, purchase.valid_to) == cycle.beijing_day(NOON)  # the whole day
    assert rating.wallet_fen == 0 and rating.shortfall == 0


def test_daily_rental_is_not_bought_while_the_plan_still_pays():
    rating = rate_data(5 * KB, [bucket("plan")], tariff=DAILY, wallet=Wallet(500))
    assert rating.daily_purchase is None


def test_daily_rental_is_bought_once_per_beijing_day():
    _, midnight = cycle.beijing_day(NOON)
    used_up = bucket("d", Source.DAILY, available=0, valid_from=NOON, valid_to=midnight)
    rating = rate_data(KB, [used_up], tariff=DAILY, wallet=Wallet(500))
    assert rating.daily_purchase is None
    assert rating.wallet_units == KB
    next_day = rate_data(KB, [used_up], at=midnight, tariff=DAILY, wallet=Wallet(500))
    assert next_day.daily_purchase is not None


def test_daily_rental_is_not_bought_when_the_wallet_cannot_pay_the_fee():
    rating = rate_data(KB, [], tariff=DAILY, wallet=Wallet(99))
    assert rating.daily_purchase is None
    assert rating.wallet_units == KB and rating.wallet_fen == 0


def test_daily_rental_is_bought_with_exactly_the_fee_left_and_nothing_remains_for_payg():
    tariff = Tariff(payg_data_fen_per_mb=Decimal(1), daily_fee_fen=100, daily_data_bytes=KB)
    rating = rate_data(2 * KB, [], tariff=tariff, wallet=Wallet(100))
    assert rating.daily_purchase is not None
    assert paid_by(rating) == [(None, KB)]
    assert rating.wallet_units == 0 and rating.shortfall == KB


def test_beyond_the_daily_allowance_the_rest_of_the_wallet_pays_as_you_go():
    tariff = Tariff(payg_data_fen_per_mb=Decimal(1024), daily_fee_fen=100, daily_data_bytes=KB)
    rating = rate_data(4 * KB, [], tariff=tariff, wallet=Wallet(102))
    assert paid_by(rating) == [(None, KB)]
    assert rating.wallet_units == 2 * KB and rating.wallet_fen == 2
    assert rating.shortfall == KB


def test_daily_rental_is_only_for_data():
    rating = rate(
        unit=Unit.SECONDS,
        amount=60,
        rating_group=None,
        at=NOON,
        buckets=[],
        tariff=DAILY,
        wallet=Wallet(500),
    )
    assert rating.daily_purchase is None


# --- settlement of a reservation ------------------------------------------------------------


def test_used_units_fill_reserved_draws_in_order_and_the_rest_is_released():
    reserved = rate_data(
        6 * KB, [bucket("plan", available=4 * KB), bucket("pack", Source.PACK, available=KB)]
    )
    done = settle(
        reserved=reserved,
        used=3 * KB,
        unit=Unit.BYTES,
        tariff=NO_PAYG,
        carry_at_commit=Decimal(0),
    )
    assert [(s.bucket_id, s.committed, s.released) for s in done.draws] == [
        ("pack", KB, 0),
        ("plan", 2 * KB, 2 * KB),
    ]
    assert done.zero_rated == 0 and done.overage == 0


def test_usage_beyond_the_reservation_is_overage_for_a_fresh_rating():
    reserved = rate_data(2 * KB, [bucket(1)])
    done = settle(
        reserved=reserved, used=5 * KB, unit=Unit.BYTES, tariff=NO_PAYG, carry_at_commit=Decimal(0)
    )
    assert done.draws[0].committed == 2 * KB
    assert done.overage == 3 * KB


def test_an_unused_daily_purchase_is_released_and_a_used_one_charged():
    reserved = rate_data(4 * KB, [bucket("plan", available=KB)], tariff=DAILY, wallet=Wallet(500))
    kwargs = {"reserved": reserved, "unit": Unit.BYTES, "tariff": DAILY}
    unused = settle(used=KB, carry_at_commit=Decimal(0), **kwargs)
    assert (unused.daily_fee_fen, unused.daily_fee_released_fen) == (0, 100)
    used = settle(used=2 * KB, carry_at_commit=Decimal(0), **kwargs)
    assert (used.daily_fee_fen, used.daily_fee_released_fen) == (100, 0)
    assert used.draws[1].committed == KB


def test_wallet_fen_are_recomputed_at_commit_and_never_exceed_the_reservation():
    tariff = Tariff(payg_voice_fen_per_minute=Decimal("1.5"))
    reserved = rate(
        unit=Unit.SECONDS,
        amount=180,
        rating_group=None,
        at=NOON,
        buckets=[],
        tariff=tariff,
        wallet=Wallet(100),
    )
    assert reserved.wallet_fen == 4  # floor(4.5)
    half = settle(
        reserved=reserved, used=60, unit=Unit.SECONDS, tariff=tariff, carry_at_commit=Decimal(0)
    )
    assert (half.wallet_fen, half.wallet_fen_released, half.carry) == (1, 3, Decimal("0.5"))
    moved = settle(
        reserved=reserved,
        used=180,
        unit=Unit.SECONDS,
        tariff=tariff,
        carry_at_commit=Decimal("0.5"),
    )
    assert (moved.wallet_fen, moved.forgiven_fen, moved.carry) == (4, 1, Decimal(0))


def test_settling_negative_usage_is_refused():
    with pytest.raises(NegativeUsage):
        settle(
            reserved=rate_data(KB, [bucket(1)]),
            used=-1,
            unit=Unit.BYTES,
            tariff=NO_PAYG,
            carry_at_commit=Decimal(0),
        )


# --- alerts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "alerts"),
    [
        (100, 21, []),
        (100, 20, [80]),
        (30, 0, [80, 100]),
        (100, 0, [80, 100]),
        (20, 10, []),
        (20, 0, [100]),
        (0, 0, []),
    ],
)
def test_alerts_fire_once_when_usage_crosses_80_and_100_percent(before, after, alerts):
    assert usage_alerts(total=100, remaining_before=before, remaining_after=after) == alerts


def test_a_bucket_with_no_total_raises_no_alert():
    assert usage_alerts(total=0, remaining_before=0, remaining_after=0) == []


@pytest.mark.parametrize(
    ("valid_to", "soon"),
    [
        (None, False),
        (NOON, False),
        (NOON + timedelta(days=1), True),
        (NOON + timedelta(days=3), True),
        (NOON + timedelta(days=3, seconds=1), False),
    ],
)
def test_a_bucket_is_expiring_soon_within_three_days(valid_to, soon):
    assert expiring_soon(valid_to=valid_to, at=NOON) is soon
