"""Editing a campaign's name and end (the console's 修改活动). Budget, pause, resume and end
are ``campaigns.change``; what a campaign pays for (apps, cap, price, eligibility) stays as
created, because lines' slices and month rows were taken on those terms.

Moving the end later keeps the campaign live longer; moving it earlier (never before now)
ends it sooner through ``end_expired``, and slices already taken keep their own end (at
most the month's)."""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction

from haoka.core.errors import Conflict
from haoka.sponsors.campaigns import campaign_of
from haoka.sponsors.domain import CampaignStatus, InvalidCampaign
from haoka.sponsors.models import Campaign, Sponsor

log = structlog.get_logger(__name__)


class CampaignEnded(Conflict):
    code = "campaign_ended"
    message = "活动已结束，不能修改"


def checked_name(name: object) -> str:
    """The name with its spaces collapsed, 1 to 60 characters. Raises InvalidCampaign."""
    text = " ".join(str(name or "").split())
    if not 1 <= len(text) <= 60:
        raise InvalidCampaign("活动名称须为 1 到 60 个字", field="name")
    return text


def edit(
    *, sponsor: Sponsor, campaign_id: str, name: str, valid_to: dt.datetime, actor: str,
    now: dt.datetime,
) -> Campaign:  # fmt: skip
    """Rename the sponsor's campaign and set its end. Raises CampaignNotFound (also
    another sponsor's), CampaignEnded, InvalidCampaign (name; an end not after its start
    and now)."""
    name = checked_name(name)
    with transaction.atomic():
        found = campaign_of(sponsor=sponsor, campaign_id=campaign_id)
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=found.pk)
        if campaign.status == CampaignStatus.ENDED:
            raise CampaignEnded(campaign_id=campaign.campaign_id)
        if valid_to <= campaign.valid_from or valid_to <= now:
            raise InvalidCampaign("结束时间须晚于开始时间和当前时间", field="valid_to")
        Campaign.objects.filter(pk=campaign.pk).update(name=name, valid_to=valid_to)
    log.info("sponsor_campaign_edited", campaign_id=campaign.campaign_id, actor=actor)
    campaign.refresh_from_db()
    return campaign
