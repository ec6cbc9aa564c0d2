"""Monthly bills (账单): one per line per Beijing month, issued by the cycle when the month is
over (so it is final: every posting of the month has been made).

The money part is the wallet's ledger entries posted in the month, grouped by the kind of
transaction, so it always adds up: closing = opening + top-ups - monthly fee - 日租 - packs -
usage + other (a CHECK constraint). Usage and 日租 fees share one posting per rating
(``charging.usage``); the usage part is what the month's usage records say the wallet paid,
the rest of those postings is 日租 fees. The itemised usage (by Beijing day and by rating
group) comes from the usage records of the month's Beijing days.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum

from haoka.catalog import queries as catalog_queries
from haoka.charging import cycle, dataflow
from haoka.charging.models import Bill, CycleRun, PackPurchase, TopUp, UsageRecord
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.errors import NotFound, ValidationError
from haoka.core.money import format_fen
from haoka.lines import operations as line_ops
from haoka.lines import queries as line_queries

TOPUP_KINDS = ("line.topup", "line.first_topup", "line.opening_balance")
FEE_KINDS = ("charging.monthly_fee", "line.plan_upgrade")
PACK_KINDS = ("charging.pack",)
USAGE_KINDS = ("charging.usage",)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class BillNotFound(NotFound):
    code = "bill_not_found"
    message = "该月账单不存在（账单在次月初出具）"


class InvalidMonth(ValidationError):
    code = "invalid_month"
    message = "月份格式应为 YYYY-MM"


def parse_month(text: str) -> dt.date:
    """``2026-05`` -> 2026-05-01. Raises InvalidMonth."""
    found = _MONTH.match(text or "")
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 2000:
        raise InvalidMonth(month=str(text)[:20])
    return dt.date(int(found[1]), int(found[2]), 1)


def _bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(month, dt.time(), tzinfo=cycle.BEIJING)
    return start.astimezone(dt.UTC), cycle.next_month_start(start)


def issue(*, line_id: int, month: dt.date, now: dt.datetime, plan_code: str = "") -> Bill:
    """The line's bill of ``month`` (its first day), made once (UNIQUE(line, month)); the
    owner is told. ``plan_code``: the plan the month ran on (default: as recorded by the
    cycle, else the line's). Runs in the caller's transaction or its own."""
    existing = Bill.objects.filter(line_id=line_id, month=month).first()
    if existing is not None:
        return existing
    start, end = _bounds(month)
    money = _money(line_id, start=start, end=end)
    by_day, by_group = _itemised(line_id, month=month)
    try:
        with transaction.atomic():
            bill = Bill.objects.create(
                line_id=line_id,
                month=month,
                plan_code=plan_code or _plan_of(line_id, month),
                usage_by_day=by_day,
                usage_by_rating_group=by_group,
                issued_at=now,
                **money,
            )
    except IntegrityError:
        return Bill.objects.get(line_id=line_id, month=month)
    line_ops.notify(
        line_id=line_id,
        kind="BILL",
        key=f"bill:{line_id}:{month:%Y-%m}",
        title=f"{month:%Y年%m月}账单已出",
        body=f"{month:%m}月消费 {format_fen(spent(bill))}，"
        f"月末余额 {format_fen(bill.closing_fen)}。",
        sms=False,
        now=now,
    )
    return bill


def packs_bought(bill: Bill) -> list[dict]:
    """The packs bought in the bill's month, oldest first."""
    start, end = _bounds(bill.month)
    rows = PackPurchase.objects.filter(
        line_id=bill.line_id, created_at__gte=start, created_at__lt=end
    ).order_by("created_at", "id")
    return [
        {"name": p.pack_name, "price_fen": p.price_fen, "bought_at": p.created_at} for p in rows
    ]


def data_movements(bill: Bill) -> list[dict]:
    """The data the line gave, got, banked and withdrew in the bill's month, oldest first
    (``text`` reads 转赠给 138****0002 1GB)."""
    start, end = _bounds(bill.month)
    return dataflow.of_month(line_id=bill.line_id, start=start, end=end)


def topups_paid(bill: Bill) -> list[dict]:
    """The top-ups that reached the wallet in the bill's month, oldest first."""
    start, end = _bounds(bill.month)
    rows = TopUp.objects.filter(
        line_id=bill.line_id, paid_at__gte=start, paid_at__lt=end, credited_fen__gt=0
    ).order_by("paid_at", "id")
    return [
        {"ref": t.ref, "kind": t.kind, "amount_fen": t.credited_fen, "paid_at": t.paid_at}
        for t in rows
    ]


def spent(bill: Bill) -> int:
    """What the month cost: fee, 日租, packs and usage."""
    return bill.monthly_fee_fen + bill.daily_fees_fen + bill.packs_fen + bill.usage_fen


def month_so_far(*, line_id: int, now: dt.datetime) -> dict[str, int]:
    """This Beijing month's charges until ``now`` (本月已产生费用), counted as the month's bill
    will count them: ``monthly_fee_fen`` (the first month's prorated fee included),
    ``daily_fees_fen``, ``packs_fen``, ``usage_fen`` and their ``total_fen``."""
    start, _ = _bounds(clock.beijing_date(now).replace(day=1))
    money = _money(line_id, start=start, end=now + dt.timedelta(microseconds=1))
    parts = ("monthly_fee_fen", "daily_fees_fen", "packs_fen", "usage_fen")
    figures = {k: money[k] for k in parts}
    return {**figures, "total_fen": sum(figures.values())}


def _sum(qs) -> int:
    return int(qs.aggregate(s=Sum("amount_fen"))["s"] or 0)


def _money(line_id: int, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    entries = ledger.entries(account=chart.line_wallet(line_id=line_id))
    # Wallet entries are a liability's: a credit (customer money in) is negative.
    opening = -_sum(entries.filter(created_at__lt=start))
    closing = -_sum(entries.filter(created_at__lt=end))
    rows = (
        entries.filter(created_at__gte=start, created_at__lt=end)
        .values("transaction__kind")
        .annotate(s=Sum("amount_fen"))
        .order_by()
    )
    by_kind = {r["transaction__kind"]: int(r["s"]) for r in rows}

    def total(kinds) -> int:
        return sum(by_kind.get(k, 0) for k in kinds)

    topups, fee, packs, usage_postings = (
        -total(TOPUP_KINDS), total(FEE_KINDS), total(PACK_KINDS), total(USAGE_KINDS)
    )  # fmt: skip
    records = UsageRecord.objects.filter(line_id=line_id, rated_at__gte=start, rated_at__lt=end)
    paid = int(records.aggregate(s=Sum("wallet_fen"))["s"] or 0)
    usage = max(0, min(usage_postings, paid))
    daily = usage_postings - usage
    return {
        "opening_fen": opening,
        "closing_fen": closing,
        "topups_fen": topups,
        "monthly_fee_fen": fee,
        "daily_fees_fen": daily,
        "packs_fen": packs,
        "usage_fen": usage,
        "other_fen": closing - opening - topups + fee + daily + packs + usage,
    }


def _itemised(line_id: int, *, month: dt.date) -> tuple[list[dict], list[dict]]:
    records = UsageRecord.objects.filter(
        line_id=line_id,
        beijing_date__gte=month,
        beijing_date__lt=dt.date(month.year + month.month // 12, month.month % 12 + 1, 1),
    )
    sums = {"rated": Sum("rated_amount"), "wallet": Sum("wallet_fen"), "n": Count("id")}
    by_day = [
        {
            "date": r["beijing_date"].isoformat(),
            "unit": r["unit"],
            "rated_amount": int(r["rated"]),
            "wallet_fen": int(r["wallet"]),
            "records": r["n"],
        }
        for r in records.values("beijing_date", "unit").annotate(**sums).order_by()
    ]
    by_day.sort(key=lambda r: (r["date"], r["unit"]))
    names = catalog_queries.rating_group_names()
    by_group = [
        {
            "rating_group": r["rating_group"],
            "name": names.get(r["rating_group"], "") if r["rating_group"] is not None else "",
            "unit": r["unit"],
            "rated_amount": int(r["rated"]),
            "wallet_fen": int(r["wallet"]),
            "records": r["n"],
        }
        for r in records.values("rating_group", "unit").annotate(**sums).order_by()
    ]
    by_group.sort(key=lambda r: (r["rating_group"] is None, r["rating_group"] or 0, r["unit"]))
    return by_day, by_group


def _plan_of(line_id: int, month: dt.date) -> str:
    run = CycleRun.objects.filter(line_id=line_id, month=month).values_list("plan_code", flat=True)
    return run.first() or line_queries.status_and_plan(line_id=line_id).plan_code
