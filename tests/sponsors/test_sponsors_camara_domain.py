"""The pure rules of the CAMARA API, without a database: identifiers, request checks, what a
session and a campaign show, the notifications and the retry rule."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.sponsors import camara_domain as cd
from haoka.sponsors.camara_domain import CamaraError, EndReason
from haoka.sponsors.domain import new_public_id

T = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
UUID4 = "6f1c1a9e-4f6b-4b1e-9f3a-2d7c8e9a0b1c"
MB = cd.MB


@given(st.sampled_from(["SP", "CP"]).map(new_public_id))
def test_a_campaign_id_survives_the_round_trip_through_the_camara_shape(campaign_id):
    camara_id = cd.camara_campaign_id(campaign_id)
    assert cd.CAMPAIGN_ID.match(camara_id)
    assert cd.haoka_campaign_id(camara_id) == campaign_id


def test_a_well_formed_campaign_id_that_encodes_no_haoka_id_is_unknown_not_invalid():
    assert cd.haoka_campaign_id("3fa85f64-5717-4562-b3fc-2c963f663faf@company.com") is None
    with pytest.raises(CamaraError) as caught:
        cd.haoka_campaign_id("CP123")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_ARGUMENT")


def test_the_sponsor_id_is_the_haoka_id_at_the_domain():
    assert cd.camara_sponsor_id("SP7K2M9Q4X1B") == "SP7K2M9Q4X1B@haoka.cn"
    assert cd.haoka_sponsor_id("SP7K2M9Q4X1B@haoka.cn") == "SP7K2M9Q4X1B"
    assert re.match(cd.SPONSOR_ID, cd.camara_sponsor_id("SP7K2M9Q4X1B"))


def test_only_mainland_numbers_map_to_a_line_and_anything_else_e164_is_foreign():
    assert cd.msisdn_of("+8613812345678") == "13812345678"
    assert cd.msisdn_of("+14155550123") is None
    with pytest.raises(CamaraError):
        cd.msisdn_of("13812345678")


def _start(**overrides) -> dict:
    return {"sponsorId": "SP7K2M9Q4X1B@haoka.cn", "campaignId": cd.camara_campaign_id("CP1"),
            "phoneNumber": "+8613812345678", "webhookUrl": "https://s.example.com/hook",
            "callbackToken": UUID4, **overrides}  # fmt: skip


def test_a_start_takes_the_defaults_and_refuses_what_the_yaml_forbids():
    checked = cd.start_request(_start())
    assert (checked["volume_mb"], checked["minutes"], checked["campaign_id"]) == (100, 60, "CP1")
    for bad in ({"dataVolume": 0}, {"dataVolume": 1001}, {"duration": True},
                {"webhookUrl": "ftp://x"}, {"callbackToken": "not-a-uuid"}):  # fmt: skip
        with pytest.raises(CamaraError) as caught:
            cd.start_request(_start(**bad))
        assert caught.value.status == 400
    with pytest.raises(CamaraError, match="invalid URL"):
        cd.alert_request({"webhookUrl": "not a url"})


def test_a_session_used_up_or_past_its_end_shows_inactive_before_the_worker_ends_it():
    common = {"reason": "", "ends_at": T, "volume_bytes": 10 * MB}
    active = cd.status_view(state="ACTIVE", used_bytes=MB + 1, now=T - dt.timedelta(1), **common)
    assert active == {"sessionStatus": "active", "endReason": "not_available",
                      "dataVolumeConsumed": 2, "dataVolumeAvailable": 8}  # fmt: skip
    used_up = cd.status_view(state="ACTIVE", used_bytes=10 * MB, now=T - dt.timedelta(1), **common)
    assert (used_up["sessionStatus"], used_up["endReason"]) == ("inactive", "data_exhausted")
    expired = cd.status_view(state="ACTIVE", used_bytes=0, now=T, **common)
    assert (expired["endReason"], expired["dataVolumeAvailable"]) == ("validity_expired", 0)


def test_why_a_settled_session_ended():
    assert cd.end_reason(used_bytes=5, bytes_=5, hint=None) == EndReason.DATA_EXHAUSTED
    assert cd.end_reason(used_bytes=4, bytes_=5, hint=None) == EndReason.EXPIRED
    assert cd.end_reason(used_bytes=5, bytes_=5, hint="TERMINATED_BY_SPONSOR") == (
        EndReason.TERMINATED_BY_SPONSOR
    )


def test_campaign_states_in_camara_words():
    later = T + dt.timedelta(days=1)
    assert cd.campaign_view(status="ACTIVE", now=T, valid_to=later) == ("active", "not_available")
    assert cd.campaign_view(status="PAUSED", now=T, valid_to=later) == ("paused", "not_available")
    assert cd.campaign_view(status="EXHAUSTED", now=T, valid_to=later) == (
        "completed", "data_exhausted",
    )  # fmt: skip
    assert cd.campaign_view(status="ACTIVE", now=later, valid_to=later) == (
        "completed", "time_expired",
    )  # fmt: skip


def test_a_webhook_answer_is_delivered_gone_or_tried_again_with_growing_backoff():
    assert cd.outcome(204) == cd.NotificationState.SENT
    assert cd.outcome(410) == cd.NotificationState.GONE
    assert cd.outcome(503) == cd.outcome(401) == cd.NotificationState.PENDING
    waits = [cd.backoff(attempts=n).total_seconds() for n in range(1, 15)]
    assert waits[:3] == [2, 4, 8] and waits == sorted(waits) and max(waits) == 3600


def test_notifications_carry_the_yaml_spellings():
    body = cd.campaign_notification(sponsor_id="SP1", campaign_id="CP1", kind="THRESHOLD_100", at=T)
    assert body["eventType"] == "DATA_VOLUME_EXHASTED"
    assert body["datacontenttype"] == body["dataContentType"] == "application/json"
    assert body["timestamp"] == "2026-03-01T02:00:00Z"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("203.0.113.9", False),  # documentation range: reserved
        ("8.8.8.8", True),
        ("114.114.114.114", True),
        ("2400:3200::1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # a cloud's metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("not an address", False),
    ],
)
def test_a_webhook_may_only_reach_a_public_address(address, public):
    assert cd.public_address(address) is public
