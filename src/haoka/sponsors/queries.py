"""Reads of sponsors for the API, pages and (later) charging's hot path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from haoka.sponsors.domain import CampaignStatus, SponsorStatus
from haoka.sponsors.models import Campaign, Sponsor, SponsorMember


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
        .values_list("campaign_id", "sponsor__sponsor_id", "kind", "rating_groups")
    )
    return [LiveCampaign(c, s, k, tuple(g)) for c, s, k, g in found]


def live_campaigns_by_rating_group(*, now: dt.datetime) -> dict[int | None, list[LiveCampaign]]:
    """:func:`live_campaigns` by rating group (None: campaigns for any traffic)."""
    grouped: dict[int | None, list[LiveCampaign]] = {}
    for campaign in live_campaigns(now=now):
        for group in campaign.rating_groups or (None,):
            grouped.setdefault(group, []).append(campaign)
    return grouped
