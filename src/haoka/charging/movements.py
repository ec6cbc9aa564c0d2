"""Pure rules of the data a line's owner moves (流量控): gifts to another line (转赠) and the
line's data bank (流量银行). No database, no clock: ``at`` is always a parameter.

A movement takes bytes from the *available* part of a line's buckets (amount - used -
reserved: what open sessions hold is never taken) and shrinks the bucket's ``amount`` by what
it took (its ``moved_out`` grows by the same): the engine, the CHECK ``amount >= used +
reserved`` and the dashboard's "left" stay right without a second notion of "remaining".
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models

from haoka.charging.domain import Bucket, PayerKind, Source, Unit, require_aware
from haoka.core import states
from haoka.core.errors import Conflict, IllegalTransition, ValidationError

#: Sorts after every real expiry.
_OPEN_END = datetime.max.replace(tzinfo=UTC)
MB = 1024**2
GB = 1024**3
#: The smallest gift, deposit or withdrawal.
MIN_BYTES = 100 * MB
#: The largest (an input bound: the monthly limits are the real ones).
MAX_MEGABYTES = 1024 * 1024
#: How long banked data keeps (from the day it was deposited).
BANK_MONTHS = 12

#: What a gift may take: data the line got for all traffic from its plan, a pack or rollover;
#: never targeted, time-window, sponsored, daily-rental, pooled, gifted or withdrawn data.
GIFTABLE = (Source.ROLLOVER, Source.PACK, Source.PLAN)
#: What a deposit may take: this month's general plan data and rollover (rollover first: it
#: can never roll again, while plan data left at the month's end still rolls over). Packs are
#: not banked: a 7-day pack bought with money would become a 12-month one.
DEPOSITABLE = (Source.ROLLOVER, Source.PLAN)


class MovementKind(models.TextChoices):
    GIFT_OUT = "GIFT_OUT", "转赠给他人"
    GIFT_IN = "GIFT_IN", "收到转赠"
    GIFT_BACK = "GIFT_BACK", "转赠撤回（退回）"
    GIFT_TAKEN_BACK = "GIFT_TAKEN_BACK", "转赠撤回（收回）"
    DEPOSIT = "DEPOSIT", "存入流量银行"
    WITHDRAWAL = "WITHDRAWAL", "从流量银行取出"
    BANK_EXPIRY = "BANK_EXPIRY", "流量银行到期失效"
    CONVERSION = "CONVERSION", "兑换积分"
    CONVERSION_BACK = "CONVERSION_BACK", "积分兑换撤回"


class GiftState(models.TextChoices):
    CODE_SENT = "CODE_SENT", "待验证"
    DONE = "DONE", "已转赠"
    EXPIRED = "EXPIRED", "已过期"
    FAILED = "FAILED", "失败"
    REVERSED = "REVERSED", "已撤回"


class GiftStateConflict(IllegalTransition):
    code = "gift_state_conflict"
    message = "转赠当前状态不允许此操作"


#: A gift waits for its SMS code, then moves (DONE) or not (EXPIRED: the code's time ran out;
#: FAILED: a rule refused it at confirmation). Staff may reverse a DONE gift (a compensating
#: movement, never an edit).
GIFT_MACHINE = states.Machine(
    GiftState,
    {
        GiftState.CODE_SENT: {GiftState.DONE, GiftState.EXPIRED, GiftState.FAILED},
        GiftState.DONE: {GiftState.REVERSED},
        GiftState.EXPIRED: set(),
        GiftState.FAILED: set(),
        GiftState.REVERSED: set(),
    },
    error=GiftStateConflict,
)


# ---------------------------------------------------------------- errors


class AmountOutOfRange(ValidationError):
    code = "data_amount_out_of_range"
    message = "流量数量不正确：至少 100MB"


class MonthlyLimitReached(Conflict):
    code = "data_monthly_limit"
    message = "已超过本月的流量转出上限"


class NotEnoughData(Conflict):
    code = "data_not_enough"
    message = "可转出的剩余流量不足"


class SameLine(ValidationError):
    code = "gift_same_line"
    message = "不能转赠给本号码"


class LineNotActive(Conflict):
    code = "line_not_active"
    message = "号码当前不是正常状态"


class ReceiverNotAvailable(Conflict):
    code = "gift_receiver_unavailable"
    message = "受赠号码不是本平台的正常号码"


class BankEmpty(Conflict):
    code = "data_bank_not_enough"
    message = "流量银行余额不足"


# ---------------------------------------------------------------- checks


def bytes_of(*, megabytes: int) -> int:
    """``megabytes`` as bytes, at least :data:`MIN_BYTES`. Raises AmountOutOfRange."""
    if isinstance(megabytes, bool) or not isinstance(megabytes, int):
        raise AmountOutOfRange(megabytes=str(megabytes)[:20])
    if not MIN_BYTES <= megabytes * MB <= MAX_MEGABYTES * MB:
        raise AmountOutOfRange(megabytes=megabytes, min_megabytes=MIN_BYTES // MB)
    return megabytes * MB


def check_monthly(*, amount: int, done_this_month: int, monthly_max: int) -> None:
    """Refuse a movement that would take the month's total past ``monthly_max`` bytes.
    Raises MonthlyLimitReached."""
    if done_this_month + amount > monthly_max:
        raise MonthlyLimitReached(
            amount=amount, done_this_month=done_this_month, monthly_max=monthly_max,
            left=max(0, monthly_max - done_this_month),
        )  # fmt: skip


def check_gift_lines(
    *, giver_id: int, giver_status: str, receiver_id: int | None, receiver_status: str
) -> None:
    """A gift goes from an ACTIVE line to another ACTIVE line. Raises SameLine,
    LineNotActive (the giver), ReceiverNotAvailable (no such line, or not ACTIVE)."""
    if receiver_id is not None and receiver_id == giver_id:
        raise SameLine()
    if giver_status != "ACTIVE":
        raise LineNotActive(status=giver_status)
    if receiver_id is None or receiver_status != "ACTIVE":
        raise ReceiverNotAvailable()


# ---------------------------------------------------------------- taking bytes from buckets


@dataclass(frozen=True)
class Take:
    """Bytes taken from one bucket (its source kept, for the history and a reversal)."""

    bucket_id: int | str
    source: Source
    amount: int


def movable(bucket: Bucket, *, sources: Sequence[Source], at: datetime) -> bool:
    """Whether ``bucket`` is the line's own general data of ``sources``, valid at ``at``."""
    return (
        bucket.unit == Unit.BYTES
        and bucket.source in sources
        and bucket.payer_kind == PayerKind.LINE
        and not bucket.rating_groups
        and bucket.window is None
        and bucket.available > 0
        and bucket.valid_at(at)
    )


def movable_bytes(*, buckets: Iterable[Bucket], sources: Sequence[Source], at: datetime) -> int:
    """How many bytes a movement from ``sources`` could take at ``at``. Raises NaiveDatetime."""
    require_aware(at)
    return sum(b.available for b in buckets if movable(b, sources=sources, at=at))


def take(
    *, buckets: Iterable[Bucket], sources: Sequence[Source], amount: int, at: datetime
) -> list[Take]:
    """Take ``amount`` bytes from the movable buckets: in the order of ``sources``, soonest
    expiry first within one, then by id; each only up to what it has available (never what
    sessions reserved). Raises NotEnoughData, NaiveDatetime."""
    require_aware(at)
    rank = {source: i for i, source in enumerate(sources)}
    usable = sorted(
        (b for b in buckets if movable(b, sources=sources, at=at)),
        key=lambda b: (rank[b.source], b.valid_to or _OPEN_END, str(b.id)),
    )
    have = sum(b.available for b in usable)
    if amount <= 0 or have < amount:
        raise NotEnoughData(amount=amount, available=have)
    takes, need = [], amount
    for bucket in usable:
        if need == 0:
            break
        n = min(need, bucket.available)
        takes.append(Take(bucket.id, Source(bucket.source), n))
        need -= n
    return takes


@dataclass(frozen=True)
class GiveBack:
    """A reversal: what goes back into which of the giver's buckets, and what lapses (its
    bucket has ended since)."""

    restores: tuple[Take, ...]
    lapsed: int


def give_back(*, takes: Sequence[Take], amount: int, still_valid: Iterable[int | str]) -> GiveBack:
    """Put ``amount`` bytes back where a gift took them, the last taken first (the bucket
    that expires latest gets back first), never more than was taken from a bucket; what
    belonged to a bucket that is no longer valid lapses."""
    valid = set(still_valid)
    restores, left = [], amount
    for t in reversed(takes):
        if left == 0:
            break
        n = min(left, t.amount)
        left -= n
        if t.bucket_id in valid:
            restores.append(Take(t.bucket_id, t.source, n))
    restored = sum(r.amount for r in restores)
    return GiveBack(tuple(restores), amount - restored)


# ---------------------------------------------------------------- the bank's lots


@dataclass(frozen=True)
class Lot:
    """A deposit as the bank sees it: what is left of it and when it expires."""

    id: int | str
    remaining: int
    expires_at: datetime


def add_months(at: datetime, months: int) -> datetime:
    """``at`` ``months`` calendar months later (the 31st becomes the month's last day)."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def lot_expiry(*, deposited_at: datetime) -> datetime:
    """When a deposit made at ``deposited_at`` expires: :data:`BANK_MONTHS` later."""
    require_aware(deposited_at)
    return add_months(deposited_at, BANK_MONTHS)


def soonest_first(
    *, lots: Iterable[Lot], amount: int, at: datetime
) -> tuple[list[tuple[int | str, int]], int]:
    """(lot id, amount) pieces taking ``amount`` from the lots not expired at ``at``, the
    soonest-expiring first, never more than a lot has; and what those lots hold. The pieces
    are [] when ``amount`` is not positive or the lots hold less (the bank's withdrawals,
    the points' spending). Raises NaiveDatetime."""
    require_aware(at)
    live = sorted(
        (lot for lot in lots if lot.remaining > 0 and lot.expires_at > at),
        key=lambda lot: (lot.expires_at, str(lot.id)),
    )
    have = sum(lot.remaining for lot in live)
    if amount <= 0 or have < amount:
        return [], have
    out, need = [], amount
    for lot in live:
        if need == 0:
            break
        n = min(need, lot.remaining)
        out.append((lot.id, n))
        need -= n
    return out, have


def take_lots(*, lots: Iterable[Lot], amount: int, at: datetime) -> list[tuple[int | str, int]]:
    """(lot id, bytes) to withdraw ``amount``: the oldest-expiring lots first, none expired
    at ``at``. Raises BankEmpty, NaiveDatetime."""
    taken, have = soonest_first(lots=lots, amount=amount, at=at)
    if not taken:
        raise BankEmpty(amount=amount, balance=have)
    return taken


def format_bytes(amount: int) -> str:
    """1GB, 1.5GB, 300MB (as a bill line reads: no trailing .0)."""
    if amount >= GB:
        text = f"{amount / GB:.2f}".rstrip("0").rstrip(".")
        return f"{text}GB"
    text = f"{amount / MB:.1f}".rstrip("0").rstrip(".")
    return f"{text}MB"
