"""A line's sponsored usage (赞助流量) for its dashboard and bills: the bytes its SPONSOR
buckets paid, by sponsor, campaign and rating group ("抖音 1.00 GB，由 XX 赞助").

The usage records of the line's Beijing days say which buckets paid (``draws``:
``[bucket_id, source, amount]``); a SPONSOR bucket names its campaign (``payer_id``), and
the sponsors domain says who pays for that. The user pays ¥0.00 for these bytes: the
sponsor's wallet pays, at the campaign's price, when the slice settles."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from haoka.catalog import queries as catalog_queries
from haoka.charging.domain import Source
from haoka.charging.models import Bucket, UsageRecord
from haoka.sponsors import console as sponsor_console


@dataclass(frozen=True)
class SponsoredRow:
    sponsor_id: str
    sponsor_name: str
    campaign_name: str
    rating_group: int | None
    app: str  # the rating group's name (通用 for any traffic)
    bytes: int


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def of_month(*, line_id: int, month: dt.date) -> list[SponsoredRow]:
    """The line's sponsored bytes over the Beijing month of ``month``, by sponsor, campaign
    and app, largest first. One indexed read of the month's records (``usage_line_day``),
    one of the paying buckets, one of the campaigns' names."""
    first = month.replace(day=1)
    records = UsageRecord.objects.filter(
        line_id=line_id, beijing_date__gte=first, beijing_date__lt=_next_month(first)
    ).exclude(draws=[])
    by_bucket: dict[tuple[int, int | None], int] = defaultdict(int)
    for rating_group, draws in records.values_list("rating_group", "draws"):
        for bucket_id, source, amount in draws or ():
            if source == Source.SPONSOR and bucket_id:
                by_bucket[(bucket_id, rating_group)] += int(amount)
    if not by_bucket:
        return []
    payers = dict(
        Bucket.objects.filter(pk__in={b for b, _ in by_bucket}).values_list("pk", "payer_id")
    )
    totals: dict[tuple[str, int | None], int] = defaultdict(int)
    for (bucket_id, rating_group), amount in by_bucket.items():
        totals[(payers.get(bucket_id) or "", rating_group)] += amount
    labels = sponsor_console.campaign_labels(campaign_ids=[c for c, _ in totals])
    names = catalog_queries.rating_group_names()
    rows = []
    for (campaign_id, rating_group), amount in totals.items():
        label = labels.get(campaign_id)
        rows.append(
            SponsoredRow(
                sponsor_id=label.sponsor_id if label else "",
                sponsor_name=label.company_name if label else "赞助方",
                campaign_name=label.name if label else "",
                rating_group=rating_group,
                app=names.get(rating_group, "") if rating_group is not None else "通用",
                bytes=amount,
            )
        )
    rows.sort(key=lambda r: (-r.bytes, r.sponsor_id, r.rating_group or 0))
    return [r if r.app else _named(r) for r in rows]


def _named(row: SponsoredRow) -> SponsoredRow:
    return SponsoredRow(**{**vars(row), "app": f"分组 {row.rating_group}"})


def by_sponsor(rows: list[SponsoredRow]) -> list[dict]:
    """The rows grouped by sponsor: ``{sponsor_id, sponsor_name, bytes, apps: [rows]}``."""
    grouped: dict[str, dict] = {}
    for row in rows:
        entry = grouped.setdefault(
            row.sponsor_id,
            {
                "sponsor_id": row.sponsor_id,
                "sponsor_name": row.sponsor_name,
                "bytes": 0,
                "apps": [],
            },
        )
        entry["bytes"] += row.bytes
        entry["apps"].append(row)
    return sorted(grouped.values(), key=lambda e: (-e["bytes"], e["sponsor_id"]))
