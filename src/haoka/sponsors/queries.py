"""Reads of sponsors for the API, pages and (later) charging's hot path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min, QuerySet, Sum

from haoka.sponsors.domain import MB, CampaignStatus, MemberStatus, SliceState, SponsorStatus
from haoka.sponsors.models import (
    BudgetShard,
    Campaign,
    PoolMember,
    Slice,
    Sponsor,
    SponsorMember,
    SponsorOptIn,
    SponsorOptOut,
)


def sponsor_of_member(*, user_id: int) -> Sponsor | None:
    """The sponsor the user acts for (any status), None when the user is no member."""
    member = SponsorMember.objects.select_related("sponsor").filter(user_id=user_id).first()
    return member.sponsor if member else None


def approved_sponsor_of(*, user_id: int) -> Sponsor | None:
    """The APPROVED sponsor the user acts for, else None."""
    sponsor = sponsor_of_member(user_id=user_id)
    return sponsor if sponsor is not None and sponsor.status == SponsorStatus.APPROVED else None


def staff_sponsors(*, status: str | None) -> QuerySet[Sponsor]:
    """Sponsors for staff's queue (``status`` PENDING: the applications to review)."""
    found = Sponsor.objects.all()
    return found.filter(status=status) if status else found


@dataclass(frozen=True)
class LiveCampaign:
    """What charging's hot path needs of an ACTIVE campaign to ask it for a slice."""

    campaign_id: str
    sponsor_id: str
    kind: str
    rating_groups: tuple[int, ...]  # empty: any traffic
    #: The per-line monthly cap: the hot path knows a line reached it from the line's own
    #: SPONSOR buckets, without asking.
    cap_bytes: int


def live_campaigns(*, now: dt.datetime) -> list[LiveCampaign]:
    """The ACTIVE campaigns valid at ``now``, oldest first: one indexed query
    (``campaign_live``: status, valid_from). Its answer changes only when a campaign is
    created, changes status or starts, so a process may keep it a few seconds (or until a
    NOTIFY on the campaign table, as ``accounts.tokencache`` does for tokens):
    ``slices.take_slice`` checks status and validity again on the row, so a stale answer
    costs at most a refused slice."""
    found = (
        Campaign.objects.filter(status=CampaignStatus.ACTIVE, valid_from__lte=now, valid_to__gt=now)
        .order_by("created_at", "id")
        .values_list(
            "campaign_id", "sponsor__sponsor_id", "kind", "rating_groups", "per_line_cap_mb"
        )
    )
    return [LiveCampaign(c, s, k, tuple(g), cap * MB) for c, s, k, g, cap in found]


def live_campaigns_by_rating_group(*, now: dt.datetime) -> dict[int | None, list[LiveCampaign]]:
    """:func:`live_campaigns` by rating group (None: campaigns for any traffic)."""
    grouped: dict[int | None, list[LiveCampaign]] = {}
    for campaign in live_campaigns(now=now):
        for group in campaign.rating_groups or (None,):
            grouped.setdefault(group, []).append(campaign)
    return grouped


def active_pool_members(*, campaign_ids: list[str]) -> dict[str, frozenset[int]]:
    """The lines of the ACTIVE members of these 企业流量池 campaigns, by campaign id."""
    found = PoolMember.objects.filter(
        campaign__campaign_id__in=campaign_ids, status=MemberStatus.ACTIVE
    ).values_list("campaign__campaign_id", "line_id")
    members: dict[str, set[int]] = {}
    for campaign_id, line_id in found:
        members.setdefault(campaign_id, set()).add(line_id)
    return {c: frozenset(lines) for c, lines in members.items()}


def pool_members_of(*, campaign: Campaign) -> QuerySet[PoolMember]:
    """The members of a 企业流量池 (any status), for the sponsor's list."""
    return PoolMember.objects.filter(campaign=campaign)


def campaigns_of_sponsor(*, sponsor_id: str, campaign_ids: set[str]) -> set[str]:
    """Those of ``campaign_ids`` that belong to the sponsor ``sponsor_id`` (any status)."""
    found = Campaign.objects.filter(campaign_id__in=campaign_ids, sponsor__sponsor_id=sponsor_id)
    return set(found.values_list("campaign_id", flat=True))


def open_slice_ids(*, after_id: int, limit: int) -> list[int]:
    """Ids of OPEN slices above ``after_id``, ascending, at most ``limit``: charging's
    settling worker pages through them (index ``slice_open_expiry`` leads with state)."""
    found = Slice.objects.filter(state=SliceState.OPEN, pk__gt=after_id).order_by("pk")
    return list(found.values_list("pk", flat=True)[:limit])


# ---------------------------------------------------------------- the sponsor's console


def campaigns_of(*, sponsor: Sponsor) -> QuerySet[Campaign]:
    """The sponsor's campaigns (index ``campaign_of_sponsor``)."""
    return Campaign.objects.filter(sponsor=sponsor)


@dataclass(frozen=True)
class Books:
    """Where a campaign's budget is: unsliced in its shards, held by open slices, spent."""

    available_fen: int
    held_fen: int
    spent_fen: int


def books_of(*, campaigns: list[Campaign]) -> dict[int, Books]:
    """The books of these campaigns by pk, in one grouped query over their shards
    (``budget_fen`` = unsliced + held + spent, so held is what is left)."""
    sums = {
        row["campaign_id"]: row
        for row in BudgetShard.objects.filter(campaign__in=[c.pk for c in campaigns])
        .values("campaign_id")
        .annotate(available=Sum("available_fen"), spent=Sum("spent_fen"))
        .order_by()
    }
    books = {}
    for c in campaigns:
        row = sums.get(c.pk, {"available": 0, "spent": 0})
        available, spent = int(row["available"] or 0), int(row["spent"] or 0)
        books[c.pk] = Books(available, c.budget_fen - available - spent, spent)
    return books


def opt_ins_of(*, campaign: Campaign) -> QuerySet[SponsorOptIn]:
    return SponsorOptIn.objects.filter(campaign=campaign)


# ---------------------------------------------------------------- a line's sponsors


@dataclass(frozen=True)
class KnownBy:
    """A sponsor that knows a line's number: since when, through what, refused or not."""

    sponsor_id: str
    company_name: str
    since: dt.datetime
    opted_in: bool  # the sponsor recorded an opt-in to one of its campaigns
    sliced: bool  # the line drew sponsored data from one of its campaigns
    opted_out_at: dt.datetime | None


def sponsors_of_line(*, line_id: int) -> list[KnownBy]:
    """The sponsors that know the line (an opt-in, a slice or a 企业流量池 invitation of one of
    their campaigns) or that the line refused, earliest first: four small grouped queries on
    indexed columns."""
    opt_ins = dict(
        SponsorOptIn.objects.filter(line_id=line_id)
        .values("campaign__sponsor_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("campaign__sponsor_id", "first")
    )
    sliced = dict(
        Slice.objects.filter(line_id=line_id)
        .values("campaign__sponsor_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("campaign__sponsor_id", "first")
    )
    opt_outs = dict(
        SponsorOptOut.objects.filter(line_id=line_id).values_list("sponsor_id", "created_at")
    )
    pooled = dict(  # invited to a 企业流量池: the sponsor typed the number
        PoolMember.objects.filter(line_id=line_id)
        .values("campaign__sponsor_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("campaign__sponsor_id", "first")
    )
    pks = set(opt_ins) | set(sliced) | set(opt_outs) | set(pooled)
    names = {
        pk: (sid, name)
        for pk, sid, name in Sponsor.objects.filter(pk__in=pks).values_list(
            "pk", "sponsor_id", "company_name"
        )
    }
    known = [
        KnownBy(
            sponsor_id=names[pk][0],
            company_name=names[pk][1],
            since=min(
                t for t in (opt_ins.get(pk), sliced.get(pk), opt_outs.get(pk), pooled.get(pk)) if t
            ),
            opted_in=pk in opt_ins,
            sliced=pk in sliced,
            opted_out_at=opt_outs.get(pk),
        )
        for pk in pks
    ]
    return sorted(known, key=lambda k: (k.since, k.sponsor_id))
