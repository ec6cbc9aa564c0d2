"""Pure calendar rules of the charging cycle, in Beijing time: days and months, the monthly
plan grants, rollover of unused data, expiry, the monthly fee, upgrade proration and pack
validity. Results are aware UTC datetimes; ``at`` is always a parameter.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from haoka.charging.domain import (
    BEIJING,
    Bucket,
    FirstMonthShare,
    Source,
    TimeWindow,
    Unit,
    require_aware,
)
from haoka.core.errors import ValidationError
from haoka.core.money import round_to_fen


class InvalidPlanTerms(ValidationError):
    code = "invalid_plan_terms"
    message = "套餐额度设置不正确"


class InvalidPeriod(ValidationError):
    code = "invalid_period"
    message = "周期起止时间不正确"


class InvalidCycleAmount(ValidationError):
    code = "invalid_cycle_amount"
    message = "费用或天数不能为负"


def beijing_date(at: datetime) -> date:
    """The Beijing calendar date of ``at``. Raises NaiveDatetime."""
    require_aware(at)
    return at.astimezone(BEIJING).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC)


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def beijing_day(at: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the Beijing day holding ``at``. Raises NaiveDatetime."""
    day = beijing_date(at)
    return _midnight(day), _midnight(day + timedelta(days=1))


def beijing_month(at: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the Beijing month holding ``at``. Raises NaiveDatetime."""
    first = beijing_date(at).replace(day=1)
    return _midnight(first), _midnight(_first_of_next_month(first))


def next_month_start(at: datetime) -> datetime:
    """The start (UTC) of the Beijing month after the one holding ``at``.

    Raises NaiveDatetime."""
    return beijing_month(at)[1]


@dataclass(frozen=True)
class PlanTerms:
    """What a plan grants each month. Raises InvalidPlanTerms for negative amounts or
    targeted data without rating groups (it would silently become general data)."""

    general_data_bytes: int = 0
    targeted_data_bytes: int = 0
    targeted_groups: frozenset[int] = frozenset()
    voice_seconds: int = 0
    sms_count: int = 0

    def __post_init__(self) -> None:
        amounts = (
            self.general_data_bytes,
            self.targeted_data_bytes,
            self.voice_seconds,
            self.sms_count,
        )
        if any(a < 0 for a in amounts):
            raise InvalidPlanTerms("套餐额度不能为负")
        if self.targeted_data_bytes > 0 and not self.targeted_groups:
            raise InvalidPlanTerms("定向流量必须指定应用分组")


def first_month_terms(*, plan: PlanTerms, share: FirstMonthShare, activated_on: date) -> PlanTerms:
    """The plan's allowances as granted in the activation month (``domain.first_month``)."""

    def scaled(amount: int, unit: Unit) -> int:
        return share.allowance(amount, unit=unit, activated_on=activated_on)

    targeted = scaled(plan.targeted_data_bytes, Unit.BYTES)
    return PlanTerms(
        general_data_bytes=scaled(plan.general_data_bytes, Unit.BYTES),
        targeted_data_bytes=targeted,
        targeted_groups=plan.targeted_groups if targeted else frozenset(),
        voice_seconds=scaled(plan.voice_seconds, Unit.SECONDS),
        sms_count=scaled(plan.sms_count, Unit.SMS),
    )


@dataclass(frozen=True)
class NewBucket:
    """A bucket to create (the caller adds the line, payer and ids)."""

    unit: Unit
    source: Source
    amount: int
    valid_from: datetime
    valid_to: datetime | None
    rating_groups: frozenset[int] = frozenset()
    window: TimeWindow | None = None


def _check_period(valid_from: datetime, valid_to: datetime) -> None:
    require_aware(valid_from)
    require_aware(valid_to)
    if valid_to <= valid_from:
        raise InvalidPeriod(valid_from=valid_from.isoformat(), valid_to=valid_to.isoformat())


def plan_grants(*, plan: PlanTerms, month_start: datetime, month_end: datetime) -> list[NewBucket]:
    """The PLAN buckets of one month, valid ``[month_start, month_end)``: general data,
    targeted data (scoped to the plan's rating groups), voice and SMS; nothing for zero.

    Raises InvalidPeriod, NaiveDatetime.
    """
    _check_period(month_start, month_end)
    wanted = [
        (Unit.BYTES, plan.general_data_bytes, frozenset()),
        (Unit.BYTES, plan.targeted_data_bytes, frozenset(plan.targeted_groups)),
        (Unit.SECONDS, plan.voice_seconds, frozenset()),
        (Unit.SMS, plan.sms_count, frozenset()),
    ]
    return [
        NewBucket(unit, Source.PLAN, amount, month_start, month_end, rating_groups=groups)
        for unit, amount, groups in wanted
        if amount > 0
    ]


def _rolls(bucket: Bucket, month_end: datetime) -> bool:
    # Only this month's general plan data: it ends exactly at month_end (a bucket valid past
    # it is not the month's, an earlier one already had its turn), is unscoped and untimed.
    return (
        bucket.source == Source.PLAN
        and bucket.unit == Unit.BYTES
        and not bucket.rating_groups
        and bucket.window is None
        and bucket.valid_to == month_end
    )


def rollover(*, buckets: Iterable[Bucket], month_end: datetime) -> NewBucket | None:
    """The month's unused general plan data as one ROLLOVER bucket, valid from ``month_end``
    to the end of the following month; None when nothing is left. Rollover never rolls again.

    Raises NaiveDatetime.
    """
    require_aware(month_end)
    left = sum(b.available for b in buckets if _rolls(b, month_end))
    if left <= 0:
        return None
    return NewBucket(Unit.BYTES, Source.ROLLOVER, left, month_end, next_month_start(month_end))


def expired(*, buckets: Iterable[Bucket], at: datetime) -> list[int | str]:
    """Ids of the buckets whose ``valid_to`` is at or before ``at``, in the order given.

    Raises NaiveDatetime.
    """
    require_aware(at)
    return [b.id for b in buckets if b.valid_to is not None and b.valid_to <= at]


@dataclass(frozen=True)
class FeeOutcome:
    """The wallet after the monthly fee; a negative balance is arrears, suspended after the
    grace period unless topped up."""

    balance_fen: int
    charged_fen: int
    arrears: bool
    suspend_at: datetime | None


def monthly_fee(*, balance_fen: int, fee_fen: int, at: datetime, grace_days: int) -> FeeOutcome:
    """Charge the monthly fee in full (the balance may go negative).

    Raises InvalidCycleAmount, NaiveDatetime.
    """
    if fee_fen < 0 or grace_days < 0:
        raise InvalidCycleAmount(fee_fen=fee_fen, grace_days=grace_days)
    require_aware(at)
    balance = balance_fen - fee_fen
    arrears = balance < 0
    suspend_at = at + timedelta(days=grace_days) if arrears else None
    return FeeOutcome(balance, fee_fen, arrears, suspend_at)


def prorate(*, old_fee_fen: int, new_fee_fen: int, at: datetime) -> int:
    """What an upgrade costs now: the fee difference for the Beijing days left in the month
    (today counts) over the days in the month, rounded by ``round_to_fen``. A downgrade costs
    nothing now: it takes effect next cycle.

    Raises InvalidCycleAmount, NaiveDatetime.
    """
    if old_fee_fen < 0 or new_fee_fen < 0:
        raise InvalidCycleAmount(old_fee_fen=old_fee_fen, new_fee_fen=new_fee_fen)
    day = beijing_date(at)
    difference = new_fee_fen - old_fee_fen
    if difference <= 0:
        return 0
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    days_left = days_in_month - day.day + 1
    return round_to_fen(Decimal(difference) * days_left / days_in_month)


def pack_validity(*, validity_days: int, at: datetime) -> tuple[datetime, datetime]:
    """``[valid_from, valid_to)`` of a pack bought at ``at``: 0 days runs to the end of the
    Beijing month; N days to Beijing midnight N days later (the day of purchase is day 1).

    Raises InvalidCycleAmount, NaiveDatetime.
    """
    if validity_days < 0:
        raise InvalidCycleAmount(validity_days=validity_days)
    if validity_days == 0:
        return at, next_month_start(at)
    return at, _midnight(beijing_date(at) + timedelta(days=validity_days))
