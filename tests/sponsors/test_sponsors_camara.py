"""CAMARA sessions end to end over HTTP, on both databases: a session's traffic over Nchf is
paid by the sponsor and the line's own data is untouched; the budget is never overspent;
revoking gives the rest back; webhooks reach a real HTTP sink, once failed and retried;
another sponsor reaches nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.core import clock, ledger
from haoka.sponsors import camara_domain as cd
from haoka.sponsors import camara_webhooks, campaigns
from haoka.sponsors.camara_models import CamaraNotification, CamaraSession
from haoka.sponsors.domain import charge_for
from haoka.sponsors.models import BudgetShard, Slice
from tests.support import camara as support
from tests.support.camara import PLAN, WebhookSink, call, ids, start_body
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.sponsors import make_sponsor

pytestmark = pytest.mark.django_db
ANY_APP = 1003  # 视频: any rating group at all


@pytest.fixture(autouse=True)
def fresh_campaigns():
    sponsored.forget_cached()
    yield
    sponsored.forget_cached()


@pytest.fixture
def sink():
    server = WebhookSink().start()
    yield server
    server.stop()


@pytest.fixture
def sponsor(catalog, now):
    return make_sponsor(now=now)


@pytest.fixture
def token(sponsor, now):
    return support.sponsor_token(sponsor, now=now)


def start(client, token, campaign, line, sink, **overrides):
    response = call(client, "POST", "/sponsorship", token,
                    start_body(campaign, line.msisdn, sink.url, **overrides))  # fmt: skip
    return response


def use(client, line, now, *, used: int, rg: int = ANY_APP) -> None:
    """One Nchf session of the line asking for and using ``used`` bytes."""
    token = charging_token(now)
    created = post(client, BASE, request_body(line, seq=0, units=[data_unit(rg, request=used)],
                                              at=now), token)  # fmt: skip
    assert created.status_code == 201, created.content
    ref = created["Location"].rsplit("/", 1)[1]
    last = request_body(line, seq=1, units=[data_unit(rg, used=used)], at=now)
    assert post(client, f"{BASE}/{ref}/release", last, token).status_code == 204


def own_used(line) -> int:
    return Bucket.objects.get(line=line, label="套餐通用流量").used


def test_a_session_pays_any_traffic_of_the_line_up_to_its_volume_then_the_line_pays(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    started = start(client, token, campaign, line, sink, dataVolume=50, duration=30)
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["sponsoredDataVolume"] == 50
    assert body["endTime"] == "2026-03-01T02:30:00Z"
    bucket = Bucket.objects.get(line=line, source="SPONSOR")
    assert (bucket.amount, bucket.rating_groups) == (50 * MB, [])

    use(client, line, now, used=80 * MB)

    assert Bucket.objects.get(pk=bucket.pk).used == 50 * MB
    assert own_used(line) == 30 * MB
    held = ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}")
    assert sponsored.settle(now=now) == 1
    piece = Slice.objects.get(campaign=campaign)
    paid = charge_for(50 * MB, 500, piece.held_fen)
    assert (
        held - ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}") == -paid
    )
    session = CamaraSession.objects.get()
    assert (session.state, session.end_reason, session.used_bytes) == (
        "ENDED",
        "DATA_EXHAUSTED",
        50 * MB,
    )
    assert ledger.trial_balance_fen() == 0


def test_a_retransmitted_start_returns_the_same_session_and_a_second_start_conflicts(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    body = start_body(campaign, line.msisdn, sink.url)
    first = call(client, "POST", "/sponsorship", token, body, **{"x-correlator": CORRELATOR})
    again = call(client, "POST", "/sponsorship", token, body, **{"x-correlator": CORRELATOR})
    assert first.status_code == again.status_code == 201
    assert first.json()["sessionId"] == again.json()["sessionId"]
    assert again["x-correlator"] == CORRELATOR
    other = call(client, "POST", "/sponsorship", token, body)
    assert (other.status_code, other.json()["code"]) == (409, "CONFLICT")
    assert Slice.objects.count() == 1


CORRELATOR = "6f1c1a9e-4f6b-4b1e-9f3a-2d7c8e9a0b1c"


def test_revoking_ends_the_session_at_once_and_gives_back_what_it_did_not_use(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    session_id = start(client, token, campaign, line, sink, dataVolume=100).json()["sessionId"]
    use(client, line, now, used=10 * MB)
    sid, cid = ids(campaign)

    revoked = call(client, "DELETE", f"/sponsorship/{sid}/{cid}/{session_id}/revoke", token)

    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["requestResult"] == "successful_revocation"
    piece = Slice.objects.get(campaign=campaign)
    assert (piece.state, piece.used_bytes) == ("SETTLED", 10 * MB)
    shards = BudgetShard.objects.filter(campaign=campaign)
    assert sum(s.available_fen for s in shards) == campaign.budget_fen - piece.charged_fen
    status = call(client, "GET", f"/sponsorship/{sid}/{cid}/{session_id}/session-status", token)
    assert status.json() | {"startTime": "", "endTime": ""} == {
        "sponsorId": sid, "campaignId": cid, "sessionId": session_id,
        "phoneNumber": f"+86{line.msisdn}", "startTime": "", "endTime": "",
        "sessionStatus": "inactive", "endReason": "session_revoked",
        "dataVolumeConsumed": 10, "dataVolumeAvailable": 0,
    }  # fmt: skip
    use(client, line, now, used=5 * MB)  # after the revocation the line pays
    assert own_used(line) == 5 * MB


def test_the_budget_is_never_overspent_and_an_exhausted_campaign_answers_quota_exceeded(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now, budget_fen=20_00)  # 4 GB
    lines = [make_line(plan=PLAN, now=now) for _ in range(60)]
    answers = [start(client, token, campaign, line, sink, dataVolume=100) for line in lines]
    granted = [a.json()["sponsoredDataVolume"] for a in answers if a.status_code == 201]
    refused = [a.json()["code"] for a in answers if a.status_code != 201]
    pieces = Slice.objects.filter(campaign=campaign)
    assert sum(p.held_fen for p in pieces) <= campaign.budget_fen
    assert sum(granted) * MB == sum(p.bytes for p in pieces)
    assert granted.count(100) >= 32  # whole sessions first; shards' remainders in parts
    assert refused and set(refused) <= {"QUOTA_EXCEEDED"}
    assert sum(s.available_fen for s in BudgetShard.objects.filter(campaign=campaign)) >= 0


def test_the_end_webhook_reaches_the_sink_after_one_failure_with_the_same_correlator(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    body = start_body(campaign, line.msisdn, sink.url, duration=5)
    assert call(client, "POST", "/sponsorship", token, body).status_code == 201
    later = now + dt.timedelta(minutes=6)
    assert sponsored.settle(now=later) == 1  # expired: settled, the session ends
    sink.fail = [503]

    assert camara_webhooks.pump(now=later) == {
        f"session_end:{CamaraSession.objects.get().session_id}": "pending"
    }
    assert camara_webhooks.pump(now=later) == {}  # not due before its backoff
    assert list(camara_webhooks.pump(now=later + dt.timedelta(seconds=3)).values()) == ["sent"]

    first, second = sink.received
    assert first.headers["x-correlator"] == second.headers["x-correlator"]
    assert second.headers["x-callbacktoken"] == body["callbackToken"]
    support.check_schema(second.body, support.component("SponsorshipEndNotification"))
    assert second.body["reason"] == "EXPIRED"
    assert CamaraNotification.objects.get().state == "SENT"
    assert camara_webhooks.pump(now=later + dt.timedelta(hours=1)) == {}  # delivered once


def test_outside_a_sandbox_a_webhook_to_a_loopback_address_is_never_called(
    client, token, sponsor, sink, now, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = False  # as in production
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    body = start_body(campaign, line.msisdn, sink.url, duration=5)
    assert call(client, "POST", "/sponsorship", token, body).status_code == 201
    later = now + dt.timedelta(minutes=6)
    assert sponsored.settle(now=later) == 1

    assert list(camara_webhooks.pump(now=later).values()) == ["failed"]
    assert sink.received == []  # the worker never reached into the operator's network
    row = CamaraNotification.objects.get()
    assert row.state == "FAILED" and "127.0.0.1 is not a public address" in row.last_error
    assert camara_webhooks.pump(now=later + dt.timedelta(hours=1)) == {}  # not retried


def test_campaign_alerts_reach_the_sink_for_80_percent_and_expiry(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now, budget_fen=1_00)  # ≈ 204 MB
    sid, cid = ids(campaign)
    subscribed = call(client, "POST", f"/campaign/{sid}/{cid}/alert-subscription", token,
                      {"webhookUrl": sink.url, "callbackToken": "sink-secret",
                       "campaignExpiryNotification": True, "alertDataVolumeThresholds": True,
                       "dataVolumeExhausted": False})  # fmt: skip
    assert subscribed.status_code == 200, subscribed.content
    for _ in range(20):
        start(client, token, campaign, make_line(plan=PLAN, now=now), sink, dataVolume=100)
    with clock.frozen(campaign.valid_to):
        campaigns.end_expired(now=campaign.valid_to)
    camara_webhooks.pump(now=campaign.valid_to)

    kinds = sorted(r.body["eventType"] for r in sink.received)
    assert kinds == ["CAMPAIGN_EXPIRED", "DATA_VOLUME_THRESHOLD_EXCEEDED (80%)"]
    assert {r.headers["x-callbacktoken"] for r in sink.received} == {"sink-secret"}
    for received in sink.received:
        support.check_schema(received.body, support.component("CampaignNotification"))
    skipped = CamaraNotification.objects.get(body__eventType="DATA_VOLUME_EXHASTED")
    assert skipped.state == "SKIPPED"


def test_another_sponsor_reaches_neither_the_campaign_nor_its_sessions(
    client, token, sponsor, sink, now
):
    campaign = support.camara_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    session_id = start(client, token, campaign, line, sink).json()["sessionId"]
    intruder = make_sponsor(now=now)
    their_token = support.sponsor_token(intruder, now=now)
    their_id = cd.camara_sponsor_id(intruder.sponsor_id)
    _, cid = ids(campaign)

    as_them = call(client, "GET", f"/campaign/{their_id}/{cid}/campaign-status", their_token)
    assert (as_them.status_code, as_them.json()["code"]) == (404, "NOT_FOUND")
    path = f"/sponsorship/{their_id}/{cid}/{session_id}/revoke"
    assert call(client, "DELETE", path, their_token).status_code == 404
    sid, _ = ids(campaign)
    posing = call(client, "GET", f"/campaign/{sid}/{cid}/campaign-status", their_token)
    assert (posing.status_code, posing.json()["code"]) == (403, "INVALID_TOKEN_CONTEXT")
    assert CamaraSession.objects.get().state == "ACTIVE"


def test_a_number_that_is_no_active_haoka_line_is_not_applicable(client, token, sponsor, sink, now):
    campaign = support.camara_campaign(sponsor, now=now)
    for phone in ("+8613000000000", "+14155550123"):
        body = start_body(campaign, "0", sink.url, phoneNumber=phone)
        answer = call(client, "POST", "/sponsorship", token, body)
        assert (answer.status_code, answer.json()["code"]) == (422, "DEVICE_NOT_APPLICABLE")


def _queries_of_a_new_nchf_session(client, line, now, token) -> int:
    body = request_body(line, seq=0, units=[data_unit(ANY_APP, request=MB)], at=now)
    with CaptureQueriesContext(connection) as captured:
        assert post(client, BASE, body, token).status_code == 201
    return len(captured.captured_queries)


def test_a_live_camara_campaign_costs_a_line_without_a_session_no_query_and_one_with_none_more(
    client, token, sponsor, sink, now
):
    nchf = charging_token(now)
    _queries_of_a_new_nchf_session(client, make_line(plan=PLAN, now=now), now, nchf)  # warm
    plain = _queries_of_a_new_nchf_session(client, make_line(plan=PLAN, now=now), now, nchf)
    campaign = support.camara_campaign(sponsor, now=now)
    sponsored.forget_cached()
    sponsored.free_flow_campaigns(ANY_APP, now=now)  # the process's copy is fresh
    assert _queries_of_a_new_nchf_session(client, make_line(plan=PLAN, now=now), now, nchf) == plain
    sponsored_line = make_line(plan=PLAN, now=now)
    assert start(client, token, campaign, sponsored_line, sink).status_code == 201
    assert _queries_of_a_new_nchf_session(client, sponsored_line, now, nchf) == plain
    assert Bucket.objects.get(line=sponsored_line, source="SPONSOR").reserved == MB
