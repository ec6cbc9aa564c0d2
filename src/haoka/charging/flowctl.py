"""What a line's owner can do with its data right now (流量控), and why not when it cannot:
how much it may give (转赠) and deposit (流量银行) this minute, what this month's limits
leave, the bank's balance and lots, and the latest movements. A read: nothing is locked, so
the figures are what the next gift or deposit will check again under the line's lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from haoka.charging import (
    conversions,
    cycle,
    databank,
    dataflow,
    movements,
    points,
    points_ledger,
    points_shop,
)
from haoka.charging import online_store as store
from haoka.charging.domain import Unit
from haoka.charging.movements import MovementKind

#: Why data that the line has may not move (shown beside the figures).
NOT_MOVABLE = "定向流量、赞助流量、日租流量、受赠流量和流量银行取出的流量不可转赠或存入"


@dataclass(frozen=True)
class Allowance:
    """One movement's room now: what the buckets hold for it, what the month's limit leaves,
    and the smaller of the two (what the form may ask), in bytes; ``reason`` when it is 0."""

    movable_bytes: int
    month_used_bytes: int
    month_max_bytes: int
    can_bytes: int
    reason: str

    @property
    def month_left_bytes(self) -> int:
        return max(0, self.month_max_bytes - self.month_used_bytes)


@dataclass(frozen=True)
class Points:
    """The owner's points and what converting data into them gives now."""

    convert: Allowance
    #: Points per GB now; None when staff never set a rate (converting is closed).
    points_per_gb: int | None
    #: Whether plan data converts now (the month's last days), or only packs.
    plan_window: bool
    usable: int
    lots: list
    shop: list


@dataclass(frozen=True)
class Overview:
    active: bool
    gift: Allowance
    deposit: Allowance
    withdraw: Allowance
    points: Points
    bank_balance_bytes: int
    bank_lots: list
    bank_history: list[dict]
    history: list[dict]
    month_end: dt.datetime
    not_movable: str = NOT_MOVABLE


def _allowance(*, movable: int, used: int, maximum: int, active: bool, empty: str) -> Allowance:
    left = max(0, maximum - used)
    can = min(movable, left) if active else 0
    if can >= movements.MIN_BYTES:
        reason = ""
    elif not active:
        reason = "号码恢复正常状态后才能操作"
    elif left < movements.MIN_BYTES:
        reason = "本月额度已用完，下月 1 日恢复"
    else:
        reason = empty
    return Allowance(movable, used, maximum, can if not reason else 0, reason)


def _points(*, buckets: list, user_id: int, active: bool, now, end) -> Points:
    """Converting (no monthly limit: what the sources hold) and the owner's points."""
    try:
        rate = conversions.rate_at(at=now)
    except points.NoRate:
        rate = None
    window = points.in_plan_window(at=now, month_end=end)
    sources = points.convertible_sources(at=now, month_end=end)
    movable = movements.movable_bytes(buckets=buckets, sources=sources, at=now)
    empty = (
        "可兑换的流量不足 100MB"
        if window
        else "加油包流量不足 100MB（套餐流量每月最后 3 天可兑换）"
    )
    most = max(movable, movements.MIN_BYTES)  # no monthly limit
    convert = _allowance(movable=movable, used=0, maximum=most, active=active, empty=empty)
    if rate is None:
        convert = Allowance(movable, 0, movable, 0, "积分兑换暂未开放")
    mine = points_ledger.statement(user_id=user_id, now=now)
    return Points(convert, rate, window, mine.usable, mine.lots, points_shop.items())


def overview(
    *, line_id: int, user_id: int, status: str, now: dt.datetime, history: int = 10
) -> Overview:
    """The line's 流量控 figures at ``now`` (``status`` is the line's, as the caller read it;
    ``user_id`` its owner, whose points these are)."""
    start, end = cycle.beijing_month(now)
    active = status == "ACTIVE"

    def used(kind: MovementKind) -> int:
        return dataflow.moved_this_month(line_id=line_id, kinds=[kind], month_start=start)

    mb = movements.MB
    bank = databank.statement(line_id=line_id, now=now, history=history)
    rows = store.buckets_valid_at(line_id, at=now).values()
    buckets = [b.engine() for b in rows if b.unit == Unit.BYTES]

    def movable(sources) -> int:
        return movements.movable_bytes(buckets=buckets, sources=sources, at=now)

    gift = _allowance(
        movable=movable(movements.GIFTABLE), used=used(MovementKind.GIFT_OUT),
        maximum=settings.DATA_GIFT_MONTHLY_MAX_MB * mb, active=active,
        empty="可转赠的通用流量不足 100MB",
    )  # fmt: skip
    deposit = _allowance(
        movable=movable(movements.DEPOSITABLE), used=used(MovementKind.DEPOSIT),
        maximum=settings.DATA_BANK_DEPOSIT_MONTHLY_MAX_MB * mb, active=active,
        empty="套餐内剩余通用流量不足 100MB",
    )  # fmt: skip
    withdraw = _allowance(
        movable=bank.balance_bytes, used=used(MovementKind.WITHDRAWAL),
        maximum=settings.DATA_BANK_WITHDRAWAL_MONTHLY_MAX_MB * mb, active=active,
        empty="流量银行余额不足 100MB",
    )  # fmt: skip
    recent = dataflow.history(line_id=line_id, limit=history, after=None).items
    return Overview(
        active=active, gift=gift, deposit=deposit, withdraw=withdraw,
        points=_points(buckets=buckets, user_id=user_id, active=active, now=now, end=end),
        bank_balance_bytes=bank.balance_bytes, bank_lots=bank.lots,
        bank_history=bank.history, history=recent,
        month_end=end,
    )  # fmt: skip
