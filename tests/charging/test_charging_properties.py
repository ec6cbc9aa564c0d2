"""Properties of the rating engine over generated buckets, tariffs and wallets: every unit is
paid once, no bucket goes below zero, split usage costs the same, settlement never commits more
than was reserved, and rating is deterministic."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from haoka.charging.domain import (
    STEP,
    Bucket,
    Source,
    Tariff,
    TimeWindow,
    Unit,
    Wallet,
    price_per_step,
    rate,
    split_fen,
)
from haoka.charging.settlement import settle

DAY_START = datetime(2026, 5, 9, 16, tzinfo=UTC)  # 10 May 00:00 Beijing
WINDOWS = [None, TimeWindow(start=time(23), end=time(7)), TimeWindow(start=time(9), end=time(18))]

moments = st.integers(0, 24 * 60 - 1).map(lambda m: DAY_START + timedelta(minutes=m))
prices = st.integers(0, 50_000).map(lambda k: Decimal(k).scaleb(-4))  # 0 to 5 fen, 4 places
carries = st.integers(0, 9_999).map(lambda k: Decimal(k).scaleb(-4))
group_sets = st.frozensets(st.integers(1, 3), max_size=2)
tariffs = st.builds(
    Tariff,
    payg_data_fen_per_mb=prices,
    payg_voice_fen_per_minute=prices,
    payg_sms_fen=prices,
    zero_rated_groups=st.frozensets(st.integers(1, 3), max_size=1),
    daily_fee_fen=st.sampled_from([0, 0, 100, 300]),
    daily_data_bytes=st.integers(0, 40 * 1024),
)
wallets = st.builds(Wallet, available_fen=st.integers(-100, 3000), carry=carries)


@st.composite
def bucket_lists(draw, unit):
    buckets = []
    for bucket_id in range(1, draw(st.integers(0, 6)) + 1):
        valid_from = DAY_START + timedelta(hours=draw(st.integers(-48, 20)))
        hours = draw(st.none() | st.integers(1, 72))
        buckets.append(
            Bucket(
                id=bucket_id,
                unit=draw(st.sampled_from([unit, unit, unit, Unit.SMS])),
                source=draw(st.sampled_from(list(Source))),
                available=draw(st.integers(0, 30 * STEP[unit]) | st.integers(0, 5000)),
                valid_from=valid_from,
                valid_to=None if hours is None else valid_from + timedelta(hours=hours),
                rating_groups=draw(group_sets),
                window=draw(st.sampled_from(WINDOWS)),
            )
        )
    return buckets


@st.composite
def scenarios(draw):
    unit = draw(st.sampled_from(list(Unit)))
    return {
        "unit": unit,
        "amount": draw(st.integers(0, 60)) * STEP[unit],
        "rating_group": draw(st.none() | st.integers(1, 3)),
        "at": draw(moments),
        "buckets": draw(bucket_lists(unit)),
        "tariff": draw(tariffs),
        "wallet": draw(wallets),
    }


def daily_fee(rating):
    return rating.daily_purchase.fee_fen if rating.daily_purchase else 0


@given(scenarios())
def test_every_unit_is_paid_by_exactly_one_payer_or_is_a_shortfall(s):
    rating = rate(**s)
    drawn = sum(d.amount for d in rating.draws)
    assert drawn + rating.zero_rated + rating.wallet_units + rating.shortfall == s["amount"]
    assert rating.granted + rating.shortfall == s["amount"]
    assert rating.shortfall >= 0 and all(d.amount > 0 for d in rating.draws)
    assert rating.wallet_fen >= 0
    assert rating.wallet_fen + daily_fee(rating) <= max(0, s["wallet"].available_fen)
    assert 0 <= rating.carry < 1


@given(scenarios())
def test_the_wallet_is_charged_exactly_the_floored_cost_of_its_started_steps(s):
    rating = rate(**s)
    steps = -(-rating.wallet_units // STEP[s["unit"]])
    price = price_per_step(tariff=s["tariff"], unit=s["unit"])
    expected = split_fen(steps=steps, price=price, carry=s["wallet"].carry)
    assert (rating.wallet_fen, rating.carry) == expected


@given(scenarios())
def test_no_bucket_is_drawn_below_zero_or_while_an_earlier_one_has_units_left(s):
    rating = rate(**s)
    by_id = {b.id: b for b in s["buckets"]}
    taken = Counter()
    for draw in rating.draws:
        if draw.bucket_id is None:
            assert draw.source == Source.DAILY
            assert draw.amount <= rating.daily_purchase.amount
        else:
            taken[draw.bucket_id] += draw.amount
            bucket = by_id[draw.bucket_id]
            assert bucket.eligible(unit=s["unit"], rating_group=s["rating_group"], at=s["at"])
    assert all(amount <= by_id[bucket_id].available for bucket_id, amount in taken.items())
    assert len(taken) == len([d for d in rating.draws if d.bucket_id is not None])
    # Greedy in order: every bucket drawn before the last one was emptied.
    for draw in rating.draws[:-1]:
        if draw.bucket_id is not None:
            assert draw.amount == by_id[draw.bucket_id].available


@given(
    unit=st.sampled_from(list(Unit)),
    pieces=st.lists(st.integers(1, 20), min_size=1, max_size=6),
    available=st.integers(0, 100_000),
    price=prices,
    carry=carries,
    at=moments,
)
def test_splitting_usage_at_step_boundaries_costs_the_same_as_one_record(
    unit, pieces, available, price, carry, at
):
    step = STEP[unit]
    tariff = Tariff(payg_data_fen_per_mb=price, payg_voice_fen_per_minute=price, payg_sms_fen=price)
    plan = Bucket(id=1, unit=unit, source=Source.PLAN, available=available, valid_from=DAY_START)
    kwargs = {"unit": unit, "rating_group": None, "at": at, "tariff": tariff}
    total = sum(pieces) * step
    rich = rate(amount=total, buckets=[plan], wallet=Wallet(10**9, carry), **kwargs)
    # Everything fits: the wallet holds one fen more than the single record costs.
    money = rich.wallet_fen + 1
    one = rate(amount=total, buckets=[plan], wallet=Wallet(money, carry), **kwargs)
    assert one == rich and one.shortfall == 0

    fen, drawn, left = 0, 0, available
    for piece in pieces:
        bucket = dataclasses.replace(plan, available=left)
        part = rate(
            amount=piece * step, buckets=[bucket], wallet=Wallet(money - fen, carry), **kwargs
        )
        assert part.shortfall == 0
        piece_drawn = sum(d.amount for d in part.draws)
        fen, drawn, left, carry = (
            fen + part.wallet_fen,
            drawn + piece_drawn,
            left - piece_drawn,
            part.carry,
        )
    assert fen == one.wallet_fen
    assert carry == one.carry
    assert drawn == sum(d.amount for d in one.draws)


@given(scenarios(), st.integers(0, 80), carries)
def test_settling_never_commits_more_than_was_reserved(s, used_steps, carry_at_commit):
    reserved = rate(**s)
    used = used_steps * STEP[s["unit"]]
    done = settle(
        reserved=reserved,
        used=used,
        unit=s["unit"],
        tariff=s["tariff"],
        carry_at_commit=carry_at_commit,
    )
    assert len(done.draws) == len(reserved.draws)
    for draw, settled in zip(reserved.draws, done.draws, strict=True):
        assert settled.reserved == draw.amount
        assert settled.committed + settled.released == draw.amount
        assert 0 <= settled.committed <= draw.amount
    committed = sum(d.committed for d in done.draws) + done.zero_rated + done.wallet_units
    assert committed == min(used, reserved.granted)
    assert done.overage == max(0, used - reserved.granted)
    assert done.zero_rated <= reserved.zero_rated and done.wallet_units <= reserved.wallet_units
    assert 0 <= done.wallet_fen <= reserved.wallet_fen
    assert done.wallet_fen + done.wallet_fen_released == reserved.wallet_fen
    assert done.daily_fee_fen + done.daily_fee_released_fen == daily_fee(reserved)
    assert 0 <= done.carry < 1


@given(scenarios())
def test_committing_a_whole_reservation_at_its_own_carry_reproduces_the_rating(s):
    reserved = rate(**s)
    done = settle(
        reserved=reserved,
        used=reserved.granted,
        unit=s["unit"],
        tariff=s["tariff"],
        carry_at_commit=s["wallet"].carry,
    )
    assert all(d.released == 0 for d in done.draws)
    assert (done.wallet_fen, done.carry, done.forgiven_fen) == (
        reserved.wallet_fen,
        reserved.carry,
        0,
    )
    assert done.daily_fee_fen == daily_fee(reserved)


@given(scenarios(), st.randoms(use_true_random=False))
def test_rating_is_deterministic_whatever_order_the_buckets_arrive_in(s, random):
    first = rate(**s)
    assert rate(**s) == first  # a retransmission changes nothing
    shuffled = list(s["buckets"])
    random.shuffle(shuffled)
    assert rate(**{**s, "buckets": shuffled}) == first
