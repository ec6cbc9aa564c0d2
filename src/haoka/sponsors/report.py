"""A campaign's activity by Beijing day, from its budget slices: what lines took (slices,
bytes, lines reached) and what settled (bytes used and money spent).

These are the sponsors domain's own numbers: a slice settles when charging closes the bucket
it became, so spend lands on the day of settling, not of use. Charging's byte-level usage of
sponsored buckets (per rating group, per hour) comes later with its hot path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from haoka.core.clock import BEIJING
from haoka.core.errors import ValidationError
from haoka.sponsors.models import Campaign, Slice

#: The longest range one report covers (a quarter).
MAX_DAYS = 92
#: Dates a report may name (as the API's instants: typing mistakes outside).
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


class InvalidReportRange(ValidationError):
    code = "invalid_report_range"
    message = "报表日期范围不正确（起始不晚于结束，最长 92 天）"


@dataclass(frozen=True)
class Day:
    date: dt.date
    slices_taken: int
    lines_reached: int  # distinct lines that took a slice that day
    bytes_taken: int
    bytes_settled: int  # used bytes of the slices settled that day
    spend_fen: int  # what those slices charged


def date_range(*, start: dt.date | None, end: dt.date | None, now: dt.datetime) -> tuple:
    """The (start, end) Beijing days of a report, both included: ``end`` defaults to today,
    ``start`` to 29 days before ``end``. Raises InvalidReportRange."""
    end = end or now.astimezone(BEIJING).date()
    start = start or end - dt.timedelta(days=29)
    if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
        raise InvalidReportRange(field="from" if not EARLIEST <= start <= LATEST else "to")
    if start > end:
        raise InvalidReportRange(field="from", reason="from_after_to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidReportRange(field="to", reason="too_long", max_days=MAX_DAYS)
    return start, end


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants of ``[start 00:00, end+1 00:00)`` Beijing."""
    first = dt.datetime.combine(start, dt.time(), tzinfo=BEIJING)
    last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=BEIJING)
    return first, last


def campaign_by_day(*, campaign: Campaign, start: dt.date, end: dt.date) -> list[Day]:
    """The campaign's days from ``start`` to ``end`` (Beijing, both included) that saw a
    slice taken or settled, oldest first: two grouped queries over ``slice_of_campaign``."""
    first, last = _bounds(start, end)
    day = TruncDate("created_at", tzinfo=BEIJING)
    taken = {
        r["day"]: r
        for r in Slice.objects.filter(campaign=campaign, created_at__gte=first, created_at__lt=last)
        .annotate(day=day)
        .values("day")
        .annotate(n=Count("id"), lines=Count("line_id", distinct=True), sliced=Sum("bytes"))
        .order_by()
    }
    settled_day = TruncDate("settled_at", tzinfo=BEIJING)
    settled = {
        r["day"]: r
        for r in Slice.objects.filter(campaign=campaign, settled_at__gte=first, settled_at__lt=last)
        .annotate(day=settled_day)
        .values("day")
        .annotate(used=Sum("used_bytes"), spent=Sum("charged_fen"))
        .order_by()
    }
    days = []
    for date in sorted(set(taken) | set(settled)):
        t, s = taken.get(date, {}), settled.get(date, {})
        days.append(
            Day(
                date=date,
                slices_taken=int(t.get("n") or 0),
                lines_reached=int(t.get("lines") or 0),
                bytes_taken=int(t.get("sliced") or 0),
                bytes_settled=int(s.get("used") or 0),
                spend_fen=int(s.get("spent") or 0),
            )
        )
    return days
