"""Reads for the sponsor console's pages: the opted-in lines (masked), the wallet's top-ups,
the monthly statement (usage by campaign and rating group) and the names charging needs to
say "由 XX 赞助" on a line's pages.

A sponsor's reads take the sponsor and look only within it: another sponsor's campaign is
``CampaignNotFound`` (404), never a row of someone else's. Numbers leave here masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum

from haoka.catalog import queries as catalog_queries
from haoka.core import pii
from haoka.core.clock import BEIJING
from haoka.lines import queries as line_queries
from haoka.sponsors.domain import TOPUP_MACHINE, TopUpStatus
from haoka.sponsors.models import Campaign, Slice, Sponsor, SponsorOptIn, SponsorTopUp


@dataclass(frozen=True)
class OptedIn:
    msisdn_masked: str
    campaign_name: str
    created_at: dt.datetime


def opted_in_lines(
    *, sponsor: Sponsor, campaign: Campaign | None = None, limit: int = 50
) -> list[OptedIn]:
    """The latest opt-ins to the sponsor's campaigns (or to one of them), newest first,
    numbers masked."""
    found = SponsorOptIn.objects.filter(campaign__sponsor=sponsor)
    if campaign is not None:
        found = found.filter(campaign=campaign)
    rows = list(found.select_related("campaign").order_by("-created_at", "-id")[:limit])
    numbers = line_queries.msisdns_of(line_ids=[r.line_id for r in rows])
    return [
        OptedIn(pii.mask_phone(numbers.get(r.line_id, "")), r.campaign.name, r.created_at)
        for r in rows
    ]


def topups_of(*, sponsor: Sponsor, limit: int = 10) -> list[dict]:
    """The sponsor's latest top-ups, newest first, with their status label."""
    found = SponsorTopUp.objects.filter(sponsor=sponsor).order_by("-created_at", "-id")[:limit]
    return [
        {
            "ref": t.ref,
            "amount_fen": t.amount_fen,
            "status": t.status,
            "status_label": TOPUP_MACHINE.label(t.status),
            "pay_url": t.pay_url if t.status == TopUpStatus.PENDING else "",
            "created_at": t.created_at,
        }
        for t in found
    ]


def app_names(rating_groups: list[int]) -> str:
    """抖音、快手 for a campaign's rating groups (分组 N for one the catalog does not name)."""
    names = catalog_queries.rating_group_names()
    return "、".join(names.get(g) or f"分组 {g}" for g in rating_groups) or "全部流量"


# ---------------------------------------------------------------- the monthly statement


@dataclass(frozen=True)
class StatementRow:
    campaign_id: str
    campaign_name: str
    apps: str  # the campaign's rating groups by name
    lines: int  # distinct lines whose slices settled in the month
    used_bytes: int
    charged_fen: int


@dataclass(frozen=True)
class Statement:
    month: dt.date
    rows: list[StatementRow]
    topups_fen: int  # money that arrived in the month
    charged_fen: int
    used_bytes: int


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[first day 00:00, next month's first day 00:00)`` Beijing, as instants."""
    first = dt.datetime.combine(month.replace(day=1), dt.time(), tzinfo=BEIJING)
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, dt.datetime.combine(following, dt.time(), tzinfo=BEIJING)


def statement(*, sponsor: Sponsor, month: dt.date) -> Statement:
    """The sponsor's month (Beijing): what its slices that settled in the month used and
    cost, by campaign (with the campaign's apps), and the top-ups paid in it. Two grouped
    queries and one for the campaigns' names."""
    start, end = month_bounds(month)
    sums = (
        Slice.objects.filter(campaign__sponsor=sponsor, settled_at__gte=start, settled_at__lt=end)
        .values("campaign_id")
        .annotate(
            used=Sum("used_bytes"),
            charged=Sum("charged_fen"),
            lines=Count("line_id", distinct=True),
        )
        .order_by()
    )
    by_pk = {r["campaign_id"]: r for r in sums}
    campaigns = Campaign.objects.filter(pk__in=list(by_pk)).order_by("created_at", "id")
    rows = [
        StatementRow(
            campaign_id=c.campaign_id,
            campaign_name=c.name,
            apps=app_names(c.rating_groups),
            lines=int(by_pk[c.pk]["lines"]),
            used_bytes=int(by_pk[c.pk]["used"] or 0),
            charged_fen=int(by_pk[c.pk]["charged"] or 0),
        )
        for c in campaigns
    ]
    paid = SponsorTopUp.objects.filter(sponsor=sponsor, paid_at__gte=start, paid_at__lt=end)
    topups = int(paid.aggregate(total=Sum("credited_fen"))["total"] or 0)
    return Statement(
        month=month.replace(day=1),
        rows=rows,
        topups_fen=topups,
        charged_fen=sum(r.charged_fen for r in rows),
        used_bytes=sum(r.used_bytes for r in rows),
    )


# ---------------------------------------------------------------- for a line's pages


@dataclass(frozen=True)
class CampaignLabel:
    campaign_id: str
    sponsor_id: str
    company_name: str
    name: str


def campaign_labels(*, campaign_ids: list[str]) -> dict[str, CampaignLabel]:
    """Who pays for these campaigns (by campaign_id): one query."""
    found = Campaign.objects.filter(campaign_id__in=set(campaign_ids)).values_list(
        "campaign_id", "sponsor__sponsor_id", "sponsor__company_name", "name"
    )
    return {c: CampaignLabel(c, s, company, name) for c, s, company, name in found}
