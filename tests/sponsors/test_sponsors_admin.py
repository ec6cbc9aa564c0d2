"""Staff screens of campaigns: money in ¥, budget fields read-only, pause / resume / end
actions through the sponsor's own use case (ending returns the budget to the wallet), slices
and the webhook outbox read-only."""

from __future__ import annotations

import pytest

from haoka.accounts.models import Role, User
from haoka.sponsors import campaigns, slices, wallet
from haoka.sponsors.domain import MB
from haoka.sponsors.models import Campaign, CampaignEvent
from tests.support.charging import make_line
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    client.force_login(user)
    return user


def test_the_campaign_list_shows_money_in_yuan_and_chinese_labels(client, staff, catalog, now):
    campaign = make_campaign(make_sponsor(), budget_fen=1234_56)
    page = client.get("/admin/sponsors/campaign/").content.decode()
    assert campaign.campaign_id in page and "¥1,234.56" in page and "进行中" in page
    detail = client.get(f"/admin/sponsors/campaign/{campaign.pk}/change/").content.decode()
    assert "¥1,234.56" in detail and 'name="budget_fen"' not in detail
    assert client.get("/admin/sponsors/campaign/add/").status_code == 403


def test_staff_pause_resume_and_end_through_the_use_case(client, staff, catalog, now):
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor)
    url = "/admin/sponsors/campaign/"

    def act(action: str) -> str:
        client.post(url, {"action": action, "_selected_action": [campaign.pk]})
        return Campaign.objects.get(pk=campaign.pk).status

    assert act("pause") == "PAUSED"
    assert act("resume") == "ACTIVE"
    assert act("end") == "ENDED"
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 100_00
    events = Campaign.objects.get(pk=campaign.pk).events.values_list("to_status", "actor")
    assert list(events)[-1] == ("ENDED", f"staff:{staff.pk}")
    response = client.post(url, {"action": "resume", "_selected_action": [campaign.pk]},
                           follow=True)  # fmt: skip
    assert "活动状态不允许此操作" in response.content.decode()


def test_slices_and_the_outbox_are_read_only(client, staff, catalog, now):
    campaign = make_campaign(make_sponsor(), budget_fen=100, per_line_cap_mb=100)
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=make_line(plan="CM-MANGO-39", now=now).pk,
        want_bytes=100 * MB, now=now,
    )  # fmt: skip
    campaigns.record_events(campaign_pk=campaign.pk, kinds=["THRESHOLD_80"], now=now)
    assert grant is not None
    listed = client.get("/admin/sponsors/slice/")
    assert listed.status_code == 200 and "使用中" in listed.content.decode()
    assert client.get("/admin/sponsors/slice/add/").status_code == 403
    assert client.get("/admin/sponsors/campaignevent/").status_code == 200
    event = CampaignEvent.objects.first()
    delete = client.post(f"/admin/sponsors/campaignevent/{event.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403 and CampaignEvent.objects.filter(pk=event.pk).exists()
