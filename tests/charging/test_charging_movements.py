"""Pure rules of 流量控 (no database): what a gift or a deposit may take and in which order,
never what is reserved; limits; giving back on reversal; the bank's lots; where withdrawn
data sits in the draw order."""

from __future__ import annotations

import datetime as dt
from datetime import time

import pytest

from haoka.charging import domain, movements
from haoka.charging.domain import Bucket, PayerKind, Source, TimeWindow, Unit
from haoka.charging.movements import GIFT_MACHINE, GiftState, Lot, Take

AT = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)
MONTH_END = dt.datetime(2026, 5, 31, 16, 0, tzinfo=dt.UTC)
MB, GB = movements.MB, movements.GB


def _bucket(id, source, available, *, valid_to=MONTH_END, **more) -> Bucket:
    return Bucket(
        id=id, unit=more.pop("unit", Unit.BYTES), source=source, available=available,
        valid_from=AT - dt.timedelta(days=1), valid_to=valid_to, **more,
    )  # fmt: skip


def test_a_gift_takes_rollover_then_packs_then_plan_soonest_expiry_first():
    soon = AT + dt.timedelta(days=2)
    buckets = [
        _bucket(1, Source.PLAN, 10 * GB),
        _bucket(2, Source.PACK, GB),
        _bucket(3, Source.PACK, GB, valid_to=soon),
        _bucket(4, Source.ROLLOVER, 512 * MB),
    ]
    takes = movements.take(buckets=buckets, sources=movements.GIFTABLE, amount=3 * GB, at=AT)
    assert takes == [
        Take(4, Source.ROLLOVER, 512 * MB),
        Take(3, Source.PACK, GB),
        Take(2, Source.PACK, GB),
        Take(1, Source.PLAN, 512 * MB),
    ]


def test_a_gift_never_takes_targeted_windowed_sponsored_pooled_daily_gifted_or_banked_data():
    night = TimeWindow(start=time(23), end=time(7))
    buckets = [
        _bucket(1, Source.PLAN, GB, rating_groups=frozenset({1003})),
        _bucket(2, Source.PACK, GB, window=night),
        _bucket(3, Source.SPONSOR, GB),
        _bucket(4, Source.PLAN, GB, payer_kind=PayerKind.POOL),
        _bucket(5, Source.DAILY, GB),
        _bucket(6, Source.GIFT, GB),
        _bucket(7, Source.BANK, GB),
        _bucket(8, Source.PLAN, GB, unit=Unit.SECONDS),
        _bucket(9, Source.PLAN, GB, valid_to=AT),  # ended
    ]
    assert movements.movable_bytes(buckets=buckets, sources=movements.GIFTABLE, at=AT) == 0
    with pytest.raises(movements.NotEnoughData):
        movements.take(buckets=buckets, sources=movements.GIFTABLE, amount=100 * MB, at=AT)


def test_a_deposit_takes_rollover_before_plan_data_and_never_a_pack():
    buckets = [
        _bucket(1, Source.PLAN, GB),
        _bucket(2, Source.ROLLOVER, 300 * MB),
        _bucket(3, Source.PACK, 5 * GB),
    ]
    takes = movements.take(buckets=buckets, sources=movements.DEPOSITABLE, amount=GB, at=AT)
    assert takes == [Take(2, Source.ROLLOVER, 300 * MB), Take(1, Source.PLAN, 724 * MB)]
    with pytest.raises(movements.NotEnoughData):
        movements.take(buckets=buckets, sources=movements.DEPOSITABLE, amount=2 * GB, at=AT)


def test_only_the_available_part_of_a_bucket_can_be_taken():
    # available = amount - used - reserved: what sessions hold is not in it
    buckets = [_bucket(1, Source.PLAN, 200 * MB)]
    with pytest.raises(movements.NotEnoughData) as refused:
        movements.take(buckets=buckets, sources=movements.GIFTABLE, amount=201 * MB, at=AT)
    assert refused.value.details["available"] == 200 * MB


@pytest.mark.parametrize("megabytes", [0, 99, -100, 10**9, True, "100"])
def test_amounts_below_100_mb_or_absurd_are_refused(megabytes):
    with pytest.raises(movements.AmountOutOfRange):
        movements.bytes_of(megabytes=megabytes)


def test_100_mb_is_the_smallest_movement():
    assert movements.bytes_of(megabytes=100) == 100 * MB


def test_the_monthly_limit_counts_what_was_already_moved():
    movements.check_monthly(amount=GB, done_this_month=4 * GB, monthly_max=5 * GB)
    with pytest.raises(movements.MonthlyLimitReached):
        movements.check_monthly(amount=GB + 1, done_this_month=4 * GB, monthly_max=5 * GB)


@pytest.mark.parametrize(
    ("giver_status", "receiver_id", "receiver_status", "error"),
    [
        ("ACTIVE", 1, "ACTIVE", movements.SameLine),
        ("SUSPENDED", 2, "ACTIVE", movements.LineNotActive),
        ("ACTIVE", None, "", movements.ReceiverNotAvailable),
        ("ACTIVE", 2, "CLOSED", movements.ReceiverNotAvailable),
    ],
)
def test_a_gift_goes_from_an_active_line_to_another_active_line(
    giver_status, receiver_id, receiver_status, error
):
    with pytest.raises(error):
        movements.check_gift_lines(
            giver_id=1, giver_status=giver_status, receiver_id=receiver_id,
            receiver_status=receiver_status,
        )  # fmt: skip


def test_a_reversal_gives_back_to_the_last_taken_bucket_first_and_lapses_what_ended():
    takes = [Take(1, Source.ROLLOVER, 300 * MB), Take(2, Source.PLAN, 700 * MB)]
    back = movements.give_back(takes=takes, amount=800 * MB, still_valid=[2])
    assert back.restores == (Take(2, Source.PLAN, 700 * MB),)
    assert back.lapsed == 100 * MB
    partial = movements.give_back(takes=takes, amount=500 * MB, still_valid=[1, 2])
    assert partial.restores == (Take(2, Source.PLAN, 500 * MB),) and partial.lapsed == 0


def test_withdrawals_take_the_oldest_lots_first_and_never_an_expired_one():
    lots = [
        Lot(1, 100 * MB, AT - dt.timedelta(seconds=1)),  # expired
        Lot(2, 300 * MB, AT + dt.timedelta(days=200)),
        Lot(3, 500 * MB, AT + dt.timedelta(days=30)),
    ]
    assert movements.take_lots(lots=lots, amount=600 * MB, at=AT) == [(3, 500 * MB), (2, 100 * MB)]
    with pytest.raises(movements.BankEmpty):
        movements.take_lots(lots=lots, amount=801 * MB, at=AT)


def test_a_deposit_keeps_twelve_calendar_months():
    assert movements.lot_expiry(deposited_at=AT) == AT.replace(year=2027)
    leap = dt.datetime(2028, 2, 29, 1, tzinfo=dt.UTC)
    assert movements.lot_expiry(deposited_at=leap) == dt.datetime(2029, 2, 28, 1, tzinfo=dt.UTC)
    assert movements.add_months(dt.datetime(2026, 1, 31, tzinfo=dt.UTC), 1).day == 28


def test_withdrawn_data_is_drawn_after_packs_and_gifts_and_before_plan_data():
    buckets = [
        _bucket(1, Source.PLAN, GB),
        _bucket(2, Source.BANK, GB),
        _bucket(3, Source.GIFT, GB),
        _bucket(4, Source.PACK, GB),
        _bucket(5, Source.ROLLOVER, GB),
    ]
    order = domain.draw_order(buckets=buckets, unit=Unit.BYTES, rating_group=None, at=AT)
    sources = [b.source for b in order]  # packs and gifts share a rank: by expiry, then id
    assert sources == ["ROLLOVER", "GIFT", "PACK", "BANK", "PLAN"]


def test_a_gift_waits_for_its_code_then_moves_once_and_may_be_reversed_once():
    GIFT_MACHINE.check(current=GiftState.CODE_SENT, target=GiftState.DONE)
    GIFT_MACHINE.check(current=GiftState.DONE, target=GiftState.REVERSED)
    for current, target in [
        (GiftState.DONE, GiftState.DONE),
        (GiftState.EXPIRED, GiftState.DONE),
        (GiftState.FAILED, GiftState.DONE),
        (GiftState.REVERSED, GiftState.REVERSED),
        (GiftState.CODE_SENT, GiftState.REVERSED),
    ]:
        with pytest.raises(movements.GiftStateConflict):
            GIFT_MACHINE.check(current=current, target=target)


@pytest.mark.parametrize(
    ("amount", "text"), [(GB, "1GB"), (1536 * MB, "1.5GB"), (300 * MB, "300MB")]
)
def test_amounts_read_as_a_bill_line_reads_them(amount, text):
    assert movements.format_bytes(amount) == text
