"""Reads of a line's money side for pages and the API: which line a caller may see, its
buckets (remaining and percent used), wallet (balance, held by open sessions, available),
usage by Beijing day, bills, top-ups, pack purchases and notifications."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from haoka.catalog import queries as catalog_queries
from haoka.catalog.domain import FIRST_MONTH_LABELS, FirstMonth
from haoka.charging import cycle
from haoka.charging.bills import BillNotFound
from haoka.charging.models import (
    AutoTopUp,
    Bill,
    Bucket,
    ChargingAccount,
    CycleRun,
    PackPurchase,
    TopUp,
    UsageRecord,
)
from haoka.core import accounts_chart as chart
from haoka.core import ledger, pagination
from haoka.core.errors import NotFound, ValidationError
from haoka.lines import queries as line_queries

MAX_DAYS = 90
_SOURCE_ORDER = {
    "SPONSOR": 0, "PACK": 1, "ROLLOVER": 2, "GIFT": 3, "BANK": 4, "PLAN": 5, "DAILY": 6, "FAMILY": 7
}  # fmt: skip


class LineNotFound(NotFound):
    code = "line_not_found"
    message = "线路不存在"


class InvalidDays(ValidationError):
    code = "invalid_days"
    message = f"天数须在 1 到 {MAX_DAYS} 之间"


def line_for(*, msisdn: str, user_id: int, staff: bool):
    """The line with this number the caller may see: their own (staff: anyone's), the live
    one first, else the latest. Raises LineNotFound (also for someone else's line)."""
    text = str(msisdn)
    if len(text) != 11 or not text.isdigit():
        raise LineNotFound(msisdn=text[:20])
    line = line_queries.find_line(msisdn=text, user_id=None if staff else user_id)
    if line is None:
        raise LineNotFound(msisdn=str(msisdn)[:11])
    return line


@dataclass(frozen=True)
class PlanView:
    code: str
    name: str
    monthly_fee_fen: int


def plan_of(*, code: str) -> PlanView | None:
    row = catalog_queries.plan_name_and_fee(code=code)
    return PlanView(code, row[0], row[1]) if row else None


@dataclass(frozen=True)
class FirstMonthView:
    """How the line's activation month was charged: ``text`` reads 首月按天折算：25 天 / 31 天
    for a prorated month, else the plan term's wording."""

    rule: str
    days: int
    month_days: int
    fee_fen: int

    @property
    def prorated(self) -> bool:
        return self.rule in (FirstMonth.PRORATED, FirstMonth.FEE_PRORATED)

    @property
    def text(self) -> str:
        if self.prorated:
            return f"首月按天折算：{self.days} 天 / {self.month_days} 天"
        return FIRST_MONTH_LABELS.get(self.rule, self.rule)


def first_month_of(*, line_id: int, month: dt.date) -> FirstMonthView | None:
    """The activation month's terms when ``month`` (its first day) is the month the line was
    activated in (not brought over from another system), else None."""
    run = (
        CycleRun.objects.filter(line_id=line_id, month=month)
        .exclude(first_month="")
        .values_list("first_month", "days", "month_days", "fee_fen")
        .first()
    )
    return FirstMonthView(*run) if run else None


@dataclass(frozen=True)
class WalletView:
    balance_fen: int  # customer money (negative: arrears)
    held_fen: int  # held by open charging sessions
    available_fen: int


def wallet_of(*, line_id: int) -> WalletView:
    balance = -ledger.balance_fen(account=chart.line_wallet(line_id=line_id))
    held = (
        ChargingAccount.objects.filter(line_id=line_id)
        .values_list("reserved_fen", flat=True)
        .first()
        or 0
    )
    return WalletView(balance, held, balance - held)


@dataclass(frozen=True)
class BucketView:
    id: int
    label: str
    unit: str
    source: str
    amount: int
    moved_out: int
    used: int
    reserved: int
    remaining: int
    percent_used: int  # of ``amount``, rounded down (100 only when nothing is left)
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    rating_groups: list[int]
    window: str


def _view(b: Bucket) -> BucketView:
    remaining = max(0, b.amount - b.used - b.reserved)
    percent = 100 if remaining == 0 else (b.amount - remaining) * 100 // b.amount
    window = ""
    if b.window_start is not None and b.window_end is not None:
        window = f"{b.window_start:%H:%M}-{b.window_end:%H:%M}"
    return BucketView(
        b.pk, b.label, b.unit, b.source, b.amount, b.moved_out, b.used, b.reserved, remaining,
        percent,
        b.valid_from, b.valid_to, sorted(int(g) for g in b.rating_groups), window,
    )  # fmt: skip


def buckets_of(*, line_id: int, now: dt.datetime) -> list[BucketView]:
    """The line's allowances valid now, by unit, then sponsor, packs, rollover, gifts, plan,
    daily, then soonest end."""
    rows = Bucket.objects.filter(line_id=line_id, valid_from__lte=now).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now)
    )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    ordered = sorted(
        rows,
        key=lambda b: (b.unit, _SOURCE_ORDER.get(b.source, 9), b.valid_to or far, b.pk),
    )
    return [_view(b) for b in ordered]


def usage_by_day(*, line_id: int, days: int, now: dt.datetime) -> list[dict]:
    """Usage per Beijing day and unit over the last ``days`` days (today included): rated
    amount, wallet fen, records. Days without usage are left out. Raises InvalidDays."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidDays(days=str(days)[:10])
    today = cycle.beijing_date(now)
    rows = (
        UsageRecord.objects.filter(
            line_id=line_id, beijing_date__gt=today - dt.timedelta(days=days)
        )
        .values("beijing_date", "unit")
        .annotate(rated=Sum("rated_amount"), wallet=Sum("wallet_fen"), n=Count("id"))
        .order_by()
    )
    out = [
        {
            "date": r["beijing_date"],
            "unit": r["unit"],
            "rated_amount": int(r["rated"]),
            "wallet_fen": int(r["wallet"]),
            "records": r["n"],
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (r["date"], r["unit"]))


def bills_of(*, line_id: int, limit: int | None, after: str | None) -> pagination.Page:
    return pagination.paginate(
        Bill.objects.filter(line_id=line_id), order=["-month", "-id"], limit=limit, after=after
    )


def bill_of(*, line_id: int, month: dt.date) -> Bill:
    """Raises BillNotFound."""
    bill = Bill.objects.filter(line_id=line_id, month=month).first()
    if bill is None:
        raise BillNotFound(month=f"{month:%Y-%m}")
    return bill


def notifications_of(*, line_id: int, limit: int | None, after: str | None) -> pagination.Page:
    return pagination.paginate(
        line_queries.notifications(line_id=line_id),
        order=["-created_at", "-id"],
        limit=limit,
        after=after,
    )


def topups_of(*, line_id: int, limit: int | None, after: str | None) -> pagination.Page:
    return pagination.paginate(
        TopUp.objects.filter(line_id=line_id),
        order=["-created_at", "-id"],
        limit=limit,
        after=after,
    )


def purchases_of(*, line_id: int, limit: int | None, after: str | None) -> pagination.Page:
    return pagination.paginate(
        PackPurchase.objects.filter(line_id=line_id),
        order=["-created_at", "-id"],
        limit=limit,
        after=after,
    )


def auto_topup_of(*, line_id: int) -> AutoTopUp | None:
    return AutoTopUp.objects.filter(line_id=line_id).first()
