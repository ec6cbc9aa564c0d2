"""Pure rating rules of the online charging system: buckets, the draw order, rating a piece
of usage against buckets and the wallet, and settling a reservation.

No database, no clock, no I/O: ``at`` is always a parameter. Money is integer fen; pay-as-you-go
prices are Decimal fen per rated step and the sub-fen residue is carried between ratings, so
usage rated in one record or split into many costs the same whole fen.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import models

from haoka.catalog.domain import FirstMonth
from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError

BEIJING = ZoneInfo("Asia/Shanghai")

#: Sorts after every real expiry.
_OPEN_END = datetime.max.replace(tzinfo=UTC)

#: Enough digits that sums of fen and sub-fen prices (per MB / 1024) stay exact.
_PRECISION = 60
#: The arithmetic context of money (its methods, not ``localcontext``: a rating makes a few
#: Decimal operations, and entering a context each time cost more than the operations).
_EXACT = Context(prec=_PRECISION)


class Unit(StrEnum):
    BYTES = "BYTES"
    SECONDS = "SECONDS"
    SMS = "SMS"


class Source(StrEnum):
    PLAN = "PLAN"
    PACK = "PACK"
    DAILY = "DAILY"
    ROLLOVER = "ROLLOVER"
    GIFT = "GIFT"
    SPONSOR = "SPONSOR"
    #: Withdrawn from the line's data bank (流量银行), valid to the end of the month.
    BANK = "BANK"
    #: Drawn from the family pool (家庭共享): the main line's plan data, after the member's own.
    FAMILY = "FAMILY"


#: The Chinese names of the units, the buckets' sources and the top-up kinds (the models'
#: choices, the bills and the pages read them here).
UNIT_LABELS = {Unit.BYTES: "流量", Unit.SECONDS: "语音", Unit.SMS: "短信"}
SOURCE_LABELS = {
    Source.PLAN: "套餐",
    Source.PACK: "加油包",
    Source.DAILY: "日租",
    Source.ROLLOVER: "结转",
    Source.GIFT: "赠送",
    Source.SPONSOR: "定向赞助",
    Source.BANK: "流量银行",
    Source.FAMILY: "家庭共享",
}
TOPUP_KIND_LABELS = {"MANUAL": "手动充值", "AUTO": "自动充值"}


class PayerKind(StrEnum):
    LINE = "LINE"
    POOL = "POOL"
    SPONSOR = "SPONSOR"


#: The rating step of each unit: data per started KB, voice per started minute, SMS each.
STEP = {Unit.BYTES: 1024, Unit.SECONDS: 60, Unit.SMS: 1}

#: Ranks of the draw order after sponsor (1), targeted (2) and time-window (3) buckets. Data
#: withdrawn from the bank comes after packs and gifts (which may end before the month does)
#: and before the plan: it ends with the month like the plan's, but plan data left at the
#: month's end rolls over and withdrawn data does not, so spending it first loses least.
_SOURCE_RANK = {
    Source.ROLLOVER: 4,
    Source.PACK: 5,
    Source.GIFT: 5,
    Source.BANK: 6,
    Source.PLAN: 7,
    Source.DAILY: 8,
    #: The family pool comes after every bucket of the member's own (``charging.family_pool``
    #: moves into it only what those cannot pay) and before a 日租 purchase or the wallet.
    Source.FAMILY: 9,
}


class NegativeUsage(ValidationError):
    code = "negative_usage"
    message = "用量不能为负"


class NaiveDatetime(ValidationError):
    code = "naive_datetime"
    message = "时间必须带时区"


class InvalidChargingData(ValidationError):
    """A bucket, window, tariff or wallet that cannot be rated (details name the field)."""

    code = "invalid_charging_data"
    message = "计费数据不正确"


def require_aware(at: datetime) -> None:
    """Refuse a naive datetime (it would be read in the server's zone). Raises NaiveDatetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetime(at=str(at))


#: How long before its line opened a usage record may start (the carrier's clock, a test call
#: while the card was being activated) and how far ahead of now it may be dated (clock skew).
USAGE_BEFORE_OPENING = timedelta(days=1)
USAGE_AHEAD = timedelta(minutes=5)


class UsageOutOfWindow(ValidationError):
    code = "usage_out_of_window"
    message = "话单时间不在线路的使用期内（早于开通或晚于当前时间）"


def check_usage_window(*, started_at: datetime, opened_at: datetime, now: datetime) -> None:
    """Refuse usage that cannot be the line's: started before the line opened (less
    :data:`USAGE_BEFORE_OPENING`) or after ``now`` (plus :data:`USAGE_AHEAD`): a record of
    1970 or of 2100 is a carrier's bug or a forgery, never usage to rate.
    Raises NaiveDatetime, UsageOutOfWindow."""
    require_aware(started_at)
    if started_at < opened_at - USAGE_BEFORE_OPENING or started_at > now + USAGE_AHEAD:
        raise UsageOutOfWindow(started_at=started_at.isoformat(), opened_at=opened_at.isoformat())


def _next_beijing_midnight(at: datetime) -> datetime:
    day = at.astimezone(BEIJING).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC)


@dataclass(frozen=True)
class TimeWindow:
    """A time of day ``[start, end)`` in Beijing time; wraps midnight when ``end < start``
    (23:00-07:00 holds 23:30 and 06:59, not 07:00).

    Raises InvalidChargingData for an empty window (start == end) or times with a zone.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end or self.start.tzinfo or self.end.tzinfo:
            raise InvalidChargingData(start=str(self.start), end=str(self.end))

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window. Raises NaiveDatetime."""
        require_aware(at)
        local = at.astimezone(BEIJING).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: datetime) -> datetime:
        """The first moment after ``at`` at which the window ends (07:00 Beijing the next
        morning for 23:00-07:00 at 23:30; the same morning at 01:00). Raises NaiveDatetime."""
        require_aware(at)
        local = at.astimezone(BEIJING)
        end = datetime.combine(local.date(), self.end, tzinfo=BEIJING)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=BEIJING)
        return end.astimezone(UTC)


@dataclass(frozen=True)
class Bucket:
    """An allowance as the engine sees it: ``available`` = amount - used - reserved.

    Empty ``rating_groups`` covers all traffic. Raises InvalidChargingData when available < 0.
    """

    id: int | str
    unit: Unit
    source: Source
    available: int
    valid_from: datetime
    valid_to: datetime | None = None
    rating_groups: frozenset[int] = frozenset()
    window: TimeWindow | None = None
    payer_kind: PayerKind = PayerKind.LINE
    payer_id: int | str | None = None

    def __post_init__(self) -> None:
        if self.available < 0:
            raise InvalidChargingData("额度余量不能为负", bucket=self.id, available=self.available)

    def valid_at(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[valid_from, valid_to)``."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def eligible(self, *, unit: Unit, rating_group: int | None, at: datetime) -> bool:
        """Whether this bucket can pay for ``unit`` of ``rating_group`` at ``at``."""
        return (
            self.unit == unit
            and self.available > 0
            and self.valid_at(at)
            and (not self.rating_groups or rating_group in self.rating_groups)
            and (self.window is None or self.window.contains(at))
        )


@dataclass(frozen=True)
class Tariff:
    """The pay-as-you-go side of a plan. Raises InvalidChargingData for negative or float values."""

    payg_data_fen_per_mb: Decimal = Decimal(0)
    payg_voice_fen_per_minute: Decimal = Decimal(0)
    payg_sms_fen: Decimal = Decimal(0)
    zero_rated_groups: frozenset[int] = frozenset()
    daily_fee_fen: int = 0
    daily_data_bytes: int = 0

    def __post_init__(self) -> None:
        prices = (self.payg_data_fen_per_mb, self.payg_voice_fen_per_minute, self.payg_sms_fen)
        if any(not isinstance(p, Decimal) or not p.is_finite() or p < 0 for p in prices):
            raise InvalidChargingData("按量单价必须是非负的 Decimal")
        if self.daily_fee_fen < 0 or self.daily_data_bytes < 0:
            raise InvalidChargingData("日租费用和流量不能为负")

    @functools.cached_property
    def data_fen_per_kb(self) -> Decimal:
        """The data price per rated step (exact: a price per MB over 1024), computed once."""
        with localcontext(prec=_PRECISION):
            return self.payg_data_fen_per_mb / 1024


@dataclass(frozen=True)
class Wallet:
    """Money the engine may spend: balance minus money already reserved (may be <= 0), and
    the sub-fen residue already consumed but not yet debited. Raises InvalidChargingData."""

    available_fen: int
    carry: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _check_carry(self.carry)


def _check_carry(carry: Decimal) -> None:
    if not isinstance(carry, Decimal) or not (0 <= carry < 1):
        raise InvalidChargingData("分以下余数必须在 [0, 1) 之间", carry=str(carry))


@dataclass(frozen=True)
class Draw:
    """Units taken from one bucket; ``bucket_id`` is None for a daily rental bought now."""

    bucket_id: int | str | None
    source: Source
    amount: int


@dataclass(frozen=True)
class DailyPurchase:
    """A 日租 allowance bought by this rating: the caller creates the DAILY bucket."""

    fee_fen: int
    amount: int
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True)
class Rating:
    """Who pays for a piece of usage. ``granted + shortfall == amount``.

    ``carry`` is the wallet's new sub-fen residue if all of it is consumed (an offline record);
    for a reservation :func:`settle` recomputes it at commit.
    """

    amount: int
    draws: tuple[Draw, ...]
    daily_purchase: DailyPurchase | None
    zero_rated: int
    wallet_units: int
    wallet_fen: int
    carry: Decimal
    granted: int
    shortfall: int


def rated_amount(*, unit: Unit, raw: int) -> int:
    """Round raw usage up to whole rating steps (1500 B -> 2048, 61 s -> 120).

    Raises NegativeUsage."""
    if raw < 0:
        raise NegativeUsage(unit=str(unit), raw=raw)
    step = STEP[Unit(unit)]
    return -(-raw // step) * step


def price_per_step(*, tariff: Tariff, unit: Unit) -> Decimal:
    """Pay-as-you-go fen for one rating step: per KB (= per MB / 1024), minute or message."""
    if unit == Unit.BYTES:
        return tariff.data_fen_per_kb
    if unit == Unit.SECONDS:
        return tariff.payg_voice_fen_per_minute
    return tariff.payg_sms_fen


def split_fen(*, steps: int, price: Decimal, carry: Decimal) -> tuple[int, Decimal]:
    """Whole fen to debit now for ``steps`` at ``price`` and the residue carried:
    floor(steps * price + carry). Flooring with a carry (not rounding each record) is what
    keeps split usage exact."""
    total = _EXACT.add(_EXACT.multiply(steps, price), carry)
    fen = int(total.to_integral_value(rounding=ROUND_FLOOR, context=_EXACT))
    return fen, _EXACT.subtract(total, fen)


def _rank(bucket: Bucket) -> int:
    if bucket.source == Source.SPONSOR:
        return 1
    if bucket.rating_groups:
        return 2
    if bucket.window is not None:
        return 3
    return _SOURCE_RANK[Source(bucket.source)]


def _order_key(bucket: Bucket) -> tuple:
    # Soonest expiry first, open-ended last; ids of one type compare, ints before strings.
    expiry = bucket.valid_to or _OPEN_END
    return (_rank(bucket), expiry, isinstance(bucket.id, str), bucket.id)


def draw_order(
    *, buckets: Iterable[Bucket], unit: Unit, rating_group: int | None, at: datetime
) -> list[Bucket]:
    """The eligible buckets in the order they pay: sponsor, targeted, time-window, rollover,
    packs and gifts, withdrawn from the bank, plan, daily, the family pool; ties by soonest
    ``valid_to`` (open last), then id.

    Raises NaiveDatetime.
    """
    require_aware(at)
    eligible = [b for b in buckets if b.eligible(unit=unit, rating_group=rating_group, at=at)]
    return sorted(eligible, key=_order_key)


def _take(buckets: Sequence[Bucket], *, need: int, into: list[Draw]) -> int:
    """Draw ``need`` from ``buckets`` in order into ``into``; return what is still needed."""
    for bucket in buckets:
        if need == 0:
            break
        take = min(need, bucket.available)
        into.append(Draw(bucket_id=bucket.id, source=Source(bucket.source), amount=take))
        need -= take
    return need


def _buy_daily(
    *, unit: Unit, need: int, at: datetime, buckets: Sequence[Bucket], tariff: Tariff, fen: int
) -> DailyPurchase | None:
    """A 日租 purchase when data reaches step 7 with no DAILY bucket today and money for it."""
    if unit != Unit.BYTES or need == 0 or tariff.daily_fee_fen <= 0:
        return None
    if tariff.daily_data_bytes <= 0 or fen < tariff.daily_fee_fen:
        return None
    # A DAILY bucket valid now, even an empty one, means today's rental was already bought.
    if any(b.source == Source.DAILY and b.unit == unit and b.valid_at(at) for b in buckets):
        return None
    # The rental is the Beijing day's: valid from its midnight, so a record of earlier that
    # day rated later (a late usage record) draws from it instead of buying a second one.
    end = _next_beijing_midnight(at)
    return DailyPurchase(
        fee_fen=tariff.daily_fee_fen,
        amount=tariff.daily_data_bytes,
        valid_from=end - timedelta(days=1),
        valid_to=end,
    )


def affordable_steps(*, price: Decimal, carry: Decimal, available_fen: int, wanted: int) -> int:
    """The largest n <= ``wanted`` with floor(n * price + carry) <= ``available_fen``, i.e.
    n * price < available_fen + 1 - carry (``price`` > 0); none from an empty wallet."""
    # An empty or indebted wallet buys nothing, not even a step whose fen would be carried.
    if available_fen <= 0:
        return 0
    # exact quotient and remainder
    whole, rest = _EXACT.divmod(_EXACT.subtract(available_fen + 1, carry), price)
    return min(wanted, int(whole) - (1 if rest == 0 else 0))


def _pay_as_you_go(
    *, unit: Unit, need: int, tariff: Tariff, available_fen: int, carry: Decimal
) -> tuple[int, int, int, Decimal]:
    """Step 8: the wallet buys whole steps; a price of 0 grants the rest free.
    Returns (free units, wallet units, fen, new carry)."""
    price = price_per_step(tariff=tariff, unit=unit)
    if need == 0 or price == 0:
        return need, 0, 0, carry
    step = STEP[Unit(unit)]
    wanted = -(-need // step)
    steps = affordable_steps(price=price, carry=carry, available_fen=available_fen, wanted=wanted)
    fen, new_carry = split_fen(steps=steps, price=price, carry=carry)
    # A remainder left by a bucket's partial last piece is paid as a started step.
    return 0, (need if steps == wanted else steps * step), fen, new_carry


def rate(
    *,
    unit: Unit,
    amount: int,
    rating_group: int | None,
    at: datetime,
    buckets: Sequence[Bucket],
    tariff: Tariff,
    wallet: Wallet,
) -> Rating:
    """Decide who pays for ``amount`` rated units (see :func:`rated_amount`) used at ``at``:
    sponsor buckets, zero rating, the other buckets in :func:`draw_order`, a 日租 purchase,
    then the wallet at pay-as-you-go rates. What nobody can pay is the ``shortfall``.

    Raises NegativeUsage, NaiveDatetime.
    """
    if amount < 0:
        raise NegativeUsage(unit=str(unit), amount=amount)
    ordered = draw_order(buckets=buckets, unit=unit, rating_group=rating_group, at=at)
    draws: list[Draw] = []
    need = _take([b for b in ordered if b.source == Source.SPONSOR], need=amount, into=draws)
    zero_rated = need if rating_group in tariff.zero_rated_groups else 0
    need = _take(
        [b for b in ordered if b.source != Source.SPONSOR], need=need - zero_rated, into=draws
    )
    fen = wallet.available_fen
    purchase = _buy_daily(unit=unit, need=need, at=at, buckets=buckets, tariff=tariff, fen=fen)
    if purchase is not None:
        draws.append(Draw(bucket_id=None, source=Source.DAILY, amount=min(need, purchase.amount)))
        need, fen = need - draws[-1].amount, fen - purchase.fee_fen
    free, units, fen, carry = _pay_as_you_go(
        unit=unit, need=need, tariff=tariff, available_fen=fen, carry=wallet.carry
    )
    granted = sum(d.amount for d in draws) + zero_rated + free + units
    return Rating(
        amount=amount,
        draws=tuple(draws),
        daily_purchase=purchase,
        zero_rated=zero_rated + free,
        wallet_units=units,
        wallet_fen=fen,
        carry=carry,
        granted=granted,
        shortfall=amount - granted,
    )


def paid_until(*, buckets: Iterable[Bucket], at: datetime) -> datetime | None:
    """When the first of ``buckets`` (those a grant draws) stops paying after ``at``: its
    ``valid_to`` (a daily rental's is the next Beijing midnight) or the end of its time
    window (a night pack's 07:00); None when none of them ends. Raises NaiveDatetime."""
    require_aware(at)
    ends = [b.valid_to for b in buckets if b.valid_to is not None]
    ends += [b.window.ends_after(at) for b in buckets if b.window is not None]
    return min(ends, default=None)


#: Used-percentage thresholds that alert the customer.
# ---------------------------------------------------------------- the first month


class UnknownFirstMonth(ValidationError):
    code = "unknown_first_month"
    message = "套餐的首月规则不正确"


def days_left_in_month(on: date) -> tuple[int, int]:
    """(days left in ``on``'s month counting ``on`` itself, days in the month): a line
    activated on 7 December has 25 of 31 days; on the 1st, all of them; on the last, 1."""
    month_days = calendar.monthrange(on.year, on.month)[1]
    return month_days - on.day + 1, month_days


def prorate(amount: int, *, activated_on: date, allowance: bool, step: int = 1) -> int:
    """``amount`` (a month's fee in fen, or a month's allowance in bytes, seconds or
    messages) for the days left in the Beijing month from ``activated_on`` (a Beijing date,
    that day included). The one rounding rule, in the customer's favour: a fee is rounded
    down to the fen; an allowance up, to a whole ``step`` (the unit's rating step: a started
    minute is a whole minute); neither ever exceeds the month's, and the 1st gives exactly
    the month's.

    Raises InvalidChargingData for a negative amount or a step below 1."""
    if amount < 0 or step < 1:
        raise InvalidChargingData(amount=amount, step=step)
    days, month_days = days_left_in_month(activated_on)
    if not allowance:
        return amount * days // month_days
    steps = -(-amount * days // (month_days * step))
    return min(amount, steps * step)


@dataclass(frozen=True)
class FirstMonthShare:
    """What the activation month charges and grants under a plan's first-month term:
    ``fee_fen`` to charge now; allowances scaled (``prorate_allowances``), in full, or none
    (``grant_allowances`` False: 次月生效); ``days`` of ``month_days`` for the text."""

    rule: FirstMonth
    fee_fen: int
    days: int
    month_days: int
    grant_allowances: bool
    prorate_allowances: bool

    @property
    def prorated(self) -> bool:
        return self.rule in (FirstMonth.PRORATED, FirstMonth.FEE_PRORATED)

    def allowance(self, amount: int, *, unit: Unit, activated_on: date) -> int:
        """One of the plan's monthly allowances as granted in the activation month."""
        if not self.grant_allowances:
            return 0
        if self.prorate_allowances:
            return prorate(amount, activated_on=activated_on, allowance=True, step=STEP[unit])
        return amount


def first_month(*, rule: str, fee_fen: int, activated_on: date) -> FirstMonthShare:
    """The activation month of a plan charging ``fee_fen`` a month, activated on the Beijing
    date ``activated_on``, under its first-month term (``catalog.domain.FirstMonth``):
    PRORATED scales fee and allowances by the days left (``prorate``); FEE_PRORATED the fee
    only; FULL charges and grants the whole month; FREE grants it without a fee; NEXT_MONTH
    (次月生效) charges nothing and grants nothing, usage paid at the plan's rates until the
    1st. Raises UnknownFirstMonth, InvalidChargingData."""
    try:
        term = FirstMonth(rule)
    except ValueError:
        raise UnknownFirstMonth(rule=str(rule)[:20]) from None
    if fee_fen < 0:
        raise InvalidChargingData(fee_fen=fee_fen)
    days, month_days = days_left_in_month(activated_on)
    fee = {
        FirstMonth.PRORATED: prorate(fee_fen, activated_on=activated_on, allowance=False),
        FirstMonth.FEE_PRORATED: prorate(fee_fen, activated_on=activated_on, allowance=False),
        FirstMonth.FULL: fee_fen,
        FirstMonth.FREE: 0,
        FirstMonth.NEXT_MONTH: 0,
    }[term]
    return FirstMonthShare(
        rule=term,
        fee_fen=fee,
        days=days,
        month_days=month_days,
        grant_allowances=term != FirstMonth.NEXT_MONTH,
        prorate_allowances=term == FirstMonth.PRORATED,
    )


ALERT_THRESHOLDS = (80, 100)


def usage_alerts(*, total: int, remaining_before: int, remaining_after: int) -> list[int]:
    """The thresholds of :data:`ALERT_THRESHOLDS` (percent used of ``total``) crossed by going
    from ``remaining_before`` to ``remaining_after``; each fires once, on the crossing."""
    if total <= 0:
        return []
    used_before = (total - remaining_before) * 100
    used_after = (total - remaining_after) * 100
    return [t for t in ALERT_THRESHOLDS if used_before < t * total <= used_after]


def expiring_soon(*, valid_to: datetime | None, at: datetime, days: int = 3) -> bool:
    """Whether a bucket still valid at ``at`` ends within ``days`` days. Raises NaiveDatetime."""
    require_aware(at)
    return valid_to is not None and at < valid_to <= at + timedelta(days=days)


# ---------------------------------------------------------------- state machines


class SessionState(models.TextChoices):
    OPEN = "OPEN", "进行中"
    RELEASED = "RELEASED", "已结束"
    EXPIRED = "EXPIRED", "已超时"


class SessionStateConflict(IllegalTransition):
    code = "session_state_conflict"
    message = "计费会话当前状态不允许此操作"


#: An Nchf session ends once: released by its last report, or expired by the sweep (its
#: updates keep it OPEN: not a move).
SESSION_MACHINE = states.Machine(
    SessionState,
    {
        SessionState.OPEN: {SessionState.RELEASED, SessionState.EXPIRED},
        SessionState.RELEASED: set(),
        SessionState.EXPIRED: set(),
    },
    error=SessionStateConflict,
)


class TopUpStatus(models.TextChoices):
    PENDING = "PENDING", "待支付"
    PAID = "PAID", "已到账"
    FAILED = "FAILED", "发起失败"
    #: Paid after the line had closed: the money goes back through the gateway.
    REFUNDING = "REFUNDING", "退款中"
    REFUNDED = "REFUNDED", "已退款"


class TopUpStateConflict(IllegalTransition):
    code = "topup_state_conflict"
    message = "充值单当前状态不允许此操作"


T = TopUpStatus
#: A top-up is paid (even after its payment start FAILED: the gateway may have taken it),
#: or its manual start fails; money that arrives after the line closed goes back
#: (REFUNDING -> REFUNDED), also for a top-up already PAID or REFUNDED when another attempt
#: of it is paid late. A second paid attempt of a PAID top-up is credited without a move.
TOPUP_MACHINE = states.Machine(
    TopUpStatus,
    {
        T.PENDING: {T.PAID, T.FAILED, T.REFUNDING},
        T.FAILED: {T.PAID, T.REFUNDING},
        T.PAID: {T.REFUNDING},
        T.REFUNDING: {T.REFUNDED},
        T.REFUNDED: {T.REFUNDING},
    },
    error=TopUpStateConflict,
)
