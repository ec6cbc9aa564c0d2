"""Reads of sponsors for the API, pages and (later) charging's hot path."""

from __future__ import annotations

from django.db.models import QuerySet

from haoka.sponsors.domain import SponsorStatus
from haoka.sponsors.models import Sponsor, SponsorMember


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
