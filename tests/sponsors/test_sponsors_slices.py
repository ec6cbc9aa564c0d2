"""Budget slices on both databases: a line takes slices of a campaign up to its monthly
cap, the budget is never overspent, settling charges the used bytes and gives back the rest
(posting revenue, wholesale cost and margin), and the campaign moves between ACTIVE and
EXHAUSTED as its budget runs out and comes back."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import clock, ledger
from haoka.core.models import LedgerTransaction
from haoka.lines.models import Line
from haoka.sponsors import campaigns, queries, slices, tasks, wallet
from haoka.sponsors.domain import GB, MB, SLICE_BYTES
from haoka.sponsors.models import (
    BudgetShard,
    Campaign,
    CampaignEvent,
    LineCampaignMonth,
    Slice,
    WholesaleRate,
)
from tests.support.charging import make_line
from tests.support.sponsors import DOUYIN, make_campaign, make_sponsor

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


def budget_books(campaign: Campaign) -> tuple[int, int, int]:
    """(unsliced, held by open slices, spent) of the campaign."""
    shards = BudgetShard.objects.filter(campaign=campaign)
    open_slices = Slice.objects.filter(campaign=campaign, state="OPEN")
    return (
        sum(s.available_fen for s in shards),
        sum(s.held_fen for s in open_slices),
        sum(s.spent_fen for s in shards),
    )


def test_a_line_takes_a_slice_of_at_most_a_hundred_megabytes(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor)
    line = make_line(plan=PLAN, now=now)
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=GB, now=now
    )
    assert grant is not None
    assert (grant.bytes, grant.held_fen, grant.rating_groups) == (SLICE_BYTES, 49, (DOUYIN,))
    assert grant.label == f"由 {sponsor.company_name} 赞助"
    assert grant.sponsor_id == sponsor.sponsor_id and grant.campaign_id == campaign.campaign_id
    # the end of the Beijing month (1 April 00:00 Beijing)
    assert grant.valid_to == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    assert budget_books(campaign) == (100_00 - 49, 49, 0)
    assert wallet.held_fen(sponsor_id=sponsor.sponsor_id) == 100_00


def test_a_line_never_takes_more_than_its_monthly_cap(catalog, now):
    campaign = make_campaign(make_sponsor(), per_line_cap_mb=250)
    line = make_line(plan=PLAN, now=now)
    sizes = []
    while grant := slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=GB, now=now
    ):
        sizes.append(grant.bytes)
    assert sizes == [100 * MB, 100 * MB, 50 * MB]
    assert LineCampaignMonth.objects.get(line_id=line.pk).taken_bytes == 250 * MB
    # a new Beijing month starts a new cap
    april = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC) + dt.timedelta(hours=-8)
    assert slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=MB, now=april
    )


def test_settling_charges_the_used_bytes_and_gives_back_the_rest(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor, per_line_cap_mb=100)
    WholesaleRate.objects.create(
        carrier_code="CMCC", fen_per_gb=200, valid_from=now - dt.timedelta(days=1)
    )
    line = make_line(plan=PLAN, now=now)
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=GB, now=now
    )
    settled = slices.settle_slice(slice_id=grant.slice_id, used_bytes=60 * MB, now=now)
    # 60 MB at ¥5/GB = 29.3 fen -> 29; wholesale ¥2/GB = 11.7 -> 12; margin 17
    assert (settled.state, settled.used_bytes, settled.charged_fen) == ("SETTLED", 60 * MB, 29)
    assert budget_books(campaign) == (100_00 - 29, 0, 29)
    assert ledger.balance_fen(account="revenue:sponsored_data") == -29
    assert ledger.balance_fen(account="expense:sponsored_data_wholesale") == 12
    assert ledger.balance_fen(account="liability:carrier_wholesale_payable") == -12
    assert wallet.held_fen(sponsor_id=sponsor.sponsor_id) == 100_00 - 29
    # the unused 40 MB are the line's again
    assert LineCampaignMonth.objects.get(line_id=line.pk).taken_bytes == 60 * MB
    again = slices.settle_slice(slice_id=grant.slice_id, used_bytes=100 * MB, now=now)
    assert again.charged_fen == 29
    assert LedgerTransaction.objects.filter(kind="sponsor.slice_settled").count() == 1
    assert ledger.trial_balance_fen() == 0


def test_a_campaign_out_of_budget_is_exhausted_and_active_again_when_budget_returns(catalog, now):
    campaign = make_campaign(make_sponsor(), budget_fen=100)  # ¥1: 16 shards of 6-7 fen
    line = make_line(plan=PLAN, now=now)
    taken = []
    while grant := slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=GB, now=now
    ):
        taken.append(grant)  # borrowing from shard after shard once its own is empty
    assert sum(g.held_fen for g in taken) == 100 and len(taken) == 16
    assert budget_books(campaign) == (0, 100, 0)
    campaign.refresh_from_db()
    assert campaign.status == "EXHAUSTED"
    assert set(CampaignEvent.objects.filter(campaign=campaign).values_list("kind", flat=True)) == {
        "THRESHOLD_80", "THRESHOLD_100",
    }  # fmt: skip
    slices.settle_slice(slice_id=taken[0].slice_id, used_bytes=0, now=now)
    campaign.refresh_from_db()
    assert campaign.status == "ACTIVE"
    assert list(campaign.events.values_list("to_status", flat=True)) == [
        "ACTIVE",
        "EXHAUSTED",
        "ACTIVE",
    ]


def test_no_slice_for_an_opted_out_ineligible_inactive_or_paused_case(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor, eligibility={"plans": ["CT-WUYOU-0"]})
    line = make_line(plan=PLAN, now=now)

    def take(c=campaign, line_id=line.pk, at=now):
        return slices.take_slice(campaign_id=c.campaign_id, line_id=line_id, want_bytes=MB, now=at)

    assert take() is None  # not on a listed plan
    everyone = make_campaign(sponsor)
    assert take(everyone) is not None
    campaigns.opt_out(line_id=line.pk, sponsor_id=sponsor.sponsor_id, now=now)
    assert take(everyone) is None  # opted out of the sponsor: at once
    other = make_line(plan=PLAN, now=now)
    assert take(everyone, other.pk, now + dt.timedelta(days=400)) is None  # past valid_to
    Line.objects.filter(pk=other.pk).update(status="SUSPENDED")
    assert take(everyone, other.pk) is None
    Line.objects.filter(pk=other.pk).update(status="ACTIVE")
    campaigns.change(sponsor=sponsor, campaign_id=everyone.campaign_id, action="pause",
                     budget_fen=None, actor="test", now=now)  # fmt: skip
    assert take(everyone, other.pk) is None


def test_an_opted_in_campaign_slices_only_for_lines_the_sponsor_recorded(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor, eligibility={"opted_in": True})
    line = make_line(plan=PLAN, now=now)
    take = lambda: slices.take_slice(  # noqa: E731
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=MB, now=now
    )
    assert take() is None
    campaigns.opt_in(sponsor=sponsor, campaign_id=campaign.campaign_id, msisdn=line.msisdn, now=now)
    assert take() is not None


def test_ending_a_campaign_returns_its_unsliced_budget_and_open_slices_return_theirs(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor)
    line = make_line(plan=PLAN, now=now)
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=GB, now=now
    )
    campaigns.change(sponsor=sponsor, campaign_id=campaign.campaign_id, action="end",
                     budget_fen=None, actor="test", now=now)  # fmt: skip
    sid = sponsor.sponsor_id
    assert (wallet.balance_fen(sponsor_id=sid), wallet.held_fen(sponsor_id=sid)) == (
        100_00 - 49,
        49,
    )
    slices.settle_slice(slice_id=grant.slice_id, used_bytes=50 * MB, now=now)  # 24.4 -> 24 fen
    assert (wallet.balance_fen(sponsor_id=sid), wallet.held_fen(sponsor_id=sid)) == (100_00 - 24, 0)
    campaign.refresh_from_db()
    assert campaign.budget_fen == 24 and budget_books(campaign) == (0, 0, 24)
    assert ledger.trial_balance_fen() == 0


def test_expired_campaigns_are_ended_once_with_their_budget_returned(catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor, valid_to=now + dt.timedelta(days=1))
    later = now + dt.timedelta(days=2)
    assert campaigns.end_expired(now=later) == 1
    assert campaigns.end_expired(now=later) == 0
    campaign.refresh_from_db()
    assert campaign.status == "ENDED"
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 100_00
    assert CampaignEvent.objects.filter(campaign=campaign, kind="EXPIRED").count() == 1


def test_the_hot_path_reads_live_campaigns_by_rating_group_in_one_query(
    catalog, now, django_assert_num_queries
):
    sponsor = make_sponsor()
    douyin = make_campaign(sponsor)
    anything = make_campaign(sponsor, kind="CAMARA_SESSION", rating_groups=[])
    paused = make_campaign(sponsor)
    campaigns.change(sponsor=sponsor, campaign_id=paused.campaign_id, action="pause",
                     budget_fen=None, actor="test", now=now)  # fmt: skip
    make_campaign(sponsor, valid_from=now + dt.timedelta(days=1))  # not started
    with django_assert_num_queries(1):
        grouped = queries.live_campaigns_by_rating_group(now=now)
    assert [c.campaign_id for c in grouped[DOUYIN]] == [douyin.campaign_id]
    assert [c.campaign_id for c in grouped[None]] == [anything.campaign_id]
    assert grouped[DOUYIN][0].sponsor_id == sponsor.sponsor_id


def test_the_expiry_task_ends_campaigns_past_their_validity(catalog, now):
    campaign = make_campaign(make_sponsor(), valid_to=now + dt.timedelta(minutes=1))
    with clock.frozen(now + dt.timedelta(minutes=2)):
        assert tasks.end_expired.call() == 1
    campaign.refresh_from_db()
    assert campaign.status == "ENDED"
