"""A sponsor's campaigns over HTTP: creating one moves its budget from the wallet, the list
pages, changes and their refusals answer named codes, the daily report counts slices by
Beijing day, opt-ins show masked numbers only, and another sponsor's campaign is 404 while a
non-sponsor is 403."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import clock
from haoka.sponsors import camara_webhooks, campaigns, slices, wallet
from haoka.sponsors.domain import MB
from haoka.sponsors.models import Campaign, SponsorOptIn
from tests.support.camara import WebhookSink
from tests.support.charging import make_line
from tests.support.sponsors import (
    DOUYIN,
    T0,
    error_code,
    fund,
    make_campaign,
    make_sponsor,
    make_user,
    member_of,
    signed_in,
)

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


def body(**overrides) -> dict:
    return {
        "kind": "APP_FREE_FLOW", "name": "抖音免流", "budget_fen": 100_00,
        "valid_from": (T0 - dt.timedelta(hours=1)).isoformat(),
        "valid_to": (T0 + dt.timedelta(days=30)).isoformat(), "rating_groups": [DOUYIN],
        "per_line_cap_mb": 1024, "price_fen_per_gb": 500, "eligibility": {"all": True},
        **overrides,
    }  # fmt: skip


def funded(client, fen: int = 100_00):
    sponsor = make_sponsor()
    if fen:
        fund(sponsor, fen, key=f"fund:{sponsor.sponsor_id}")
    return sponsor, member_of(client, sponsor)


def test_a_sponsor_creates_a_campaign_whose_budget_leaves_the_wallet(client, catalog, now):
    sponsor, member = funded(client, 150_00)
    response = member.post("/sponsor/campaigns", body(), **{"Idempotency-Key": "c-1"})
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["campaign_id"].startswith("CP") and len(shown["campaign_id"]) == 12
    assert (shown["status"], shown["status_label"], shown["kind_label"]) == (
        "ACTIVE",
        "进行中",
        "定向免流",
    )
    assert (shown["budget_fen"], shown["budget"], shown["available_fen"]) == (
        100_00,
        "¥100.00",
        100_00,
    )
    assert (shown["held_fen"], shown["spent_fen"], shown["rating_groups"]) == (0, 0, [DOUYIN])
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 50_00
    assert wallet.held_fen(sponsor_id=sponsor.sponsor_id) == 100_00
    again = member.post("/sponsor/campaigns", body(), **{"Idempotency-Key": "c-1"})
    assert again.status_code == 201 and again.json()["campaign_id"] == shown["campaign_id"]
    assert Campaign.objects.count() == 1
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 50_00


def test_a_campaign_beyond_the_wallet_is_refused_with_409(client, catalog, now):
    sponsor, member = funded(client, 50_00)
    response = member.post("/sponsor/campaigns", body())
    assert response.status_code == 409 and error_code(response) == "insufficient_balance"
    assert not Campaign.objects.exists()
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 50_00


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "LOTTERY"}, "kind"),
        ({"name": "  "}, "name"),
        ({"budget_fen": 99}, "budget_fen"),
        ({"valid_to": (T0 - dt.timedelta(hours=2)).isoformat()}, "valid_to"),
        ({"rating_groups": []}, "rating_groups"),
        ({"rating_groups": [424242]}, "rating_groups"),
        ({"eligibility": {"everyone": True}}, "eligibility"),
        ({"eligibility": {"plans": []}}, "eligibility"),
    ],
)
def test_bad_campaigns_are_refused_with_422_naming_the_field(client, catalog, now, overrides,
                                                             field):  # fmt: skip
    _, member = funded(client)
    response = member.post("/sponsor/campaigns", body(**overrides))
    assert response.status_code == 422, response.content
    assert error_code(response) == "invalid_campaign"
    assert response.json()["error"]["details"]["field"] == field
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"price_fen_per_gb": 0},
        {"price_fen_per_gb": "500"},
        {"budget_fen": -1},
        {"per_line_cap_mb": 0},
        {"valid_from": "2026-03-01T10:00:00"},  # naive
    ],
)
def test_values_of_the_wrong_type_or_range_are_refused_before_any_rule(client, catalog, now,
                                                                       overrides):  # fmt: skip
    _, member = funded(client)
    response = member.post("/sponsor/campaigns", body(**overrides))
    assert response.status_code == 422 and error_code(response) == "validation_error"


def test_the_list_pages_newest_first_and_shows_only_the_callers_campaigns(client, catalog, now):
    sponsor, member = funded(client, 0)
    made = []
    for minutes in range(3):
        with clock.frozen(now + dt.timedelta(minutes=minutes)):
            made.append(make_campaign(sponsor, now=now + dt.timedelta(minutes=minutes)))
    make_campaign(make_sponsor())
    first = member.get("/sponsor/campaigns?limit=2").json()
    assert [c["campaign_id"] for c in first["items"]] == [made[2].campaign_id, made[1].campaign_id]
    rest = member.get(f"/sponsor/campaigns?limit=2&after={first['next']}").json()
    assert [c["campaign_id"] for c in rest["items"]] == [made[0].campaign_id]
    assert rest["next"] is None
    bad = member.get("/sponsor/campaigns?after=nonsense")
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"


def test_another_sponsors_campaign_is_404_on_every_route(client, catalog, now):
    theirs = make_campaign(make_sponsor(), eligibility={"opted_in": True})
    _, member = funded(client)
    base = f"/sponsor/campaigns/{theirs.campaign_id}"
    line = make_line(plan=PLAN, now=now)
    for response in (
        member.get(base),
        member.patch(base, {"action": "pause"}),
        member.get(f"{base}/report"),
        member.post(f"{base}/opt-ins", {"msisdn": line.msisdn}),
        member.get(f"{base}/opt-ins"),
    ):
        assert response.status_code == 404 and error_code(response) == "campaign_not_found"
    assert Campaign.objects.get(pk=theirs.pk).status == "ACTIVE"
    assert not SponsorOptIn.objects.exists()


def test_pausing_resuming_and_ending_through_patch(client, catalog, now):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor)
    path = f"/sponsor/campaigns/{campaign.campaign_id}"
    assert member.patch(path, {"action": "pause"}).json()["status"] == "PAUSED"
    assert member.patch(path, {"action": "resume"}).json()["status"] == "ACTIVE"
    ended = member.patch(path, {"action": "end"}).json()
    assert (ended["status"], ended["budget_fen"], ended["available_fen"]) == ("ENDED", 0, 0)
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 100_00
    again = member.patch(path, {"action": "resume"})
    assert again.status_code == 409 and error_code(again) == "illegal_transition"
    rebudget = member.patch(path, {"budget_fen": 200_00})
    assert rebudget.status_code == 409 and error_code(rebudget) == "illegal_transition"


def test_raising_and_lowering_the_budget_and_their_refusals(client, catalog, now):
    sponsor, member = funded(client, 50_00)
    campaign = make_campaign(sponsor, per_line_cap_mb=100, price_fen_per_gb=500_00)
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=make_line(plan=PLAN, now=now).pk,
        want_bytes=100 * MB, now=now,
    )  # fmt: skip
    path = f"/sponsor/campaigns/{campaign.campaign_id}"
    raised = member.patch(path, {"budget_fen": 150_00}).json()
    assert (raised["budget_fen"], raised["held_fen"]) == (150_00, grant.held_fen)
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 0
    short = member.patch(path, {"budget_fen": 150_01})
    assert short.status_code == 409 and error_code(short) == "insufficient_balance"
    below = member.patch(path, {"budget_fen": grant.held_fen - 1})
    assert below.status_code == 409 and error_code(below) == "budget_below_held"
    lowered = member.patch(path, {"budget_fen": 60_00}).json()
    assert lowered["available_fen"] == 60_00 - grant.held_fen
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 90_00
    for bad in ({}, {"action": "pause", "budget_fen": 100_00}):
        response = member.patch(path, bad)
        assert response.status_code == 422 and error_code(response) == "invalid_campaign"
    assert member.patch(path, {"action": "stop"}).status_code == 422


def test_the_report_counts_slices_by_beijing_day(client, catalog, now):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor, per_line_cap_mb=1024)
    one, two = make_line(plan=PLAN, now=now), make_line(plan=PLAN, now=now)
    taken = [
        slices.take_slice(
            campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=100 * MB, now=now
        )
        for line in (one, two, one)
    ]
    # 23:30 Beijing on 2 March is still the 2nd; 00:30 on the 3rd is the 3rd
    late = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
    slices.settle_slice(slice_id=taken[0].slice_id, used_bytes=100 * MB, now=late)
    slices.settle_slice(slice_id=taken[1].slice_id, used_bytes=50 * MB,
                        now=late + dt.timedelta(hours=1))  # fmt: skip
    path = f"/sponsor/campaigns/{campaign.campaign_id}/report?from=2026-03-01&to=2026-03-03"
    shown = member.get(path)
    assert shown.status_code == 200, shown.content
    assert (shown.json()["from"], shown.json()["to"]) == ("2026-03-01", "2026-03-03")
    days = {d["date"]: d for d in shown.json()["days"]}
    assert sorted(days) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert (days["2026-03-01"]["slices_taken"], days["2026-03-01"]["lines_reached"]) == (3, 2)
    assert days["2026-03-01"]["bytes_taken"] == 300 * MB
    assert (days["2026-03-02"]["bytes_settled"], days["2026-03-02"]["spend_fen"]) == (
        100 * MB,
        49,
    )
    assert days["2026-03-03"]["spend_fen"] == 24 and days["2026-03-03"]["spend"] == "¥0.24"
    default = member.get(f"/sponsor/campaigns/{campaign.campaign_id}/report").json()
    assert (default["from"], default["to"]) == ("2026-01-31", "2026-03-01")


@pytest.mark.parametrize(
    "query",
    ["from=2026-03-05&to=2026-03-01", "from=2026-01-01&to=2026-04-30", "from=1999-12-31"],
)
def test_bad_report_ranges_are_refused_with_422(client, catalog, now, query):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor)
    response = member.get(f"/sponsor/campaigns/{campaign.campaign_id}/report?{query}")
    assert response.status_code == 422 and error_code(response) == "invalid_report_range"
    garbled = member.get(f"/sponsor/campaigns/{campaign.campaign_id}/report?from=March")
    assert garbled.status_code == 422 and error_code(garbled) == "validation_error"


def test_opt_ins_are_recorded_once_and_shown_masked_only(client, catalog, now):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor, eligibility={"opted_in": True})
    line = make_line(plan=PLAN, now=now)
    path = f"/sponsor/campaigns/{campaign.campaign_id}/opt-ins"
    spaced = f"+86 {line.msisdn[:3]} {line.msisdn[3:7]} {line.msisdn[7:]}"
    made = member.post(path, {"msisdn": spaced})
    assert made.status_code == 201, made.content
    masked = line.msisdn[:3] + "****" + line.msisdn[-4:]
    assert made.json()["msisdn_masked"] == masked
    assert member.post(path, {"msisdn": line.msisdn}).status_code == 201
    assert SponsorOptIn.objects.count() == 1
    listed = member.get(path)
    assert [o["msisdn_masked"] for o in listed.json()["items"]] == [masked]
    for response in (made, listed):
        assert line.msisdn not in response.content.decode()
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=MB, now=now
    )
    assert grant is not None  # the opt-in is what lets the line draw


def test_opt_in_refusals(client, catalog, now):
    sponsor, member = funded(client, 0)
    everyone = make_campaign(sponsor)
    opted = make_campaign(sponsor, eligibility={"opted_in": True})
    line = make_line(plan=PLAN, now=now)
    wrong = member.post(f"/sponsor/campaigns/{everyone.campaign_id}/opt-ins",
                        {"msisdn": line.msisdn})  # fmt: skip
    assert wrong.status_code == 409 and error_code(wrong) == "campaign_not_opt_in"
    path = f"/sponsor/campaigns/{opted.campaign_id}/opt-ins"
    nobody = member.post(path, {"msisdn": "13912345678"})
    assert nobody.status_code == 404 and error_code(nobody) == "line_not_found"
    assert "13912345678" not in nobody.content.decode()
    bad = member.post(path, {"msisdn": "12345"})
    assert bad.status_code == 422 and error_code(bad) == "invalid_msisdn"
    assert not SponsorOptIn.objects.exists()


def test_non_sponsors_are_refused_on_every_campaign_route(client, catalog, now):
    campaign = make_campaign(make_sponsor())
    base = f"/sponsor/campaigns/{campaign.campaign_id}"
    pending = member_of(client, make_sponsor(approved=False))
    for caller in (signed_in(client, make_user()), pending):
        for response in (
            caller.post("/sponsor/campaigns", body()),
            caller.get("/sponsor/campaigns"),
            caller.get(base),
            caller.patch(base, {"action": "end"}),
            caller.get(f"{base}/report"),
            caller.post(f"{base}/opt-ins", {"msisdn": "13912345678"}),
            caller.get(f"{base}/opt-ins"),
        ):
            assert response.status_code == 403 and error_code(response) == "not_a_sponsor"
    assert Campaign.objects.get(pk=campaign.pk).status == "ACTIVE"


@pytest.fixture
def sink():
    server = WebhookSink().start()
    yield server
    server.stop()


def test_a_free_flow_campaigns_expiry_reaches_the_sponsors_webhook(client, catalog, now, sink):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor, now=now)
    path = f"/sponsor/campaigns/{campaign.campaign_id}/alerts"
    answer = member.put(path, {"webhook_url": sink.url, "callback_token": "tok-1"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["expiry"] is True and "callback_token" not in answer.json()

    with clock.frozen(campaign.valid_to):
        campaigns.end_expired(now=campaign.valid_to)
    camara_webhooks.pump(now=campaign.valid_to)
    (received,) = sink.received
    assert received.body["eventType"] == "CAMPAIGN_EXPIRED"
    assert received.headers["x-callbacktoken"] == "tok-1"


def test_an_alert_address_must_be_a_url_and_another_sponsors_campaign_is_404(client, catalog, now):
    sponsor, member = funded(client, 0)
    campaign = make_campaign(sponsor, now=now)
    path = f"/sponsor/campaigns/{campaign.campaign_id}/alerts"
    bad = member.put(path, {"webhook_url": "javascript:alert(1)"})
    assert (bad.status_code, error_code(bad)) == (422, "invalid_webhook_url")
    _, stranger = funded(client, 0)
    assert stranger.put(path, {"webhook_url": "https://example.com/hook"}).status_code == 404
