"""Renaming a campaign and moving its end (``sponsors.campaign_edit``), on both databases:
only the sponsor's own campaign, never an ended one, never an end in the past; the money
and the terms lines took slices on do not move."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.sponsors import campaign_edit, campaigns
from haoka.sponsors.models import Campaign
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db


def test_a_campaign_is_renamed_and_runs_longer_with_its_terms_unchanged(catalog, now):
    sponsor = make_sponsor(now=now)
    campaign = make_campaign(sponsor, now=now)
    later = now + dt.timedelta(days=400)
    edited = campaign_edit.edit(
        sponsor=sponsor, campaign_id=campaign.campaign_id, name="  抖音   免流 ", valid_to=later,
        actor="test", now=now,
    )  # fmt: skip
    assert (edited.name, edited.valid_to) == ("抖音 免流", later)
    assert (edited.budget_fen, edited.price_fen_per_gb, edited.per_line_cap_mb) == (
        campaign.budget_fen, campaign.price_fen_per_gb, campaign.per_line_cap_mb,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "days", "code"), [("", 30, "invalid_campaign"), ("x" * 61, 30, "invalid_campaign"),
                               ("ok", -1, "invalid_campaign")],
)  # fmt: skip
def test_a_bad_name_or_an_end_in_the_past_is_refused(catalog, now, name, days, code):
    sponsor = make_sponsor(now=now)
    campaign = make_campaign(sponsor, now=now)
    with pytest.raises(campaign_edit.InvalidCampaign) as raised:
        campaign_edit.edit(
            sponsor=sponsor, campaign_id=campaign.campaign_id, name=name,
            valid_to=now + dt.timedelta(days=days), actor="test", now=now,
        )  # fmt: skip
    assert raised.value.code == code
    assert Campaign.objects.get(pk=campaign.pk).name == campaign.name


def test_an_ended_or_another_sponsors_campaign_is_not_edited(catalog, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    other = make_campaign(theirs, now=now)
    later = now + dt.timedelta(days=30)
    with pytest.raises(campaigns.CampaignNotFound):
        campaign_edit.edit(sponsor=mine, campaign_id=other.campaign_id, name="x",
                           valid_to=later, actor="test", now=now)  # fmt: skip
    campaigns.change(sponsor=theirs, campaign_id=other.campaign_id, action="end",
                     budget_fen=None, actor="test", now=now)  # fmt: skip
    with pytest.raises(campaign_edit.CampaignEnded):
        campaign_edit.edit(sponsor=theirs, campaign_id=other.campaign_id, name="x",
                           valid_to=later, actor="test", now=now)  # fmt: skip
