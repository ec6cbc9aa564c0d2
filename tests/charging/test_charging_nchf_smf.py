"""Nchf requests as real SMFs and SMSFs send them (free5gc's SMF numbers every request 0 and
reports data as uplink + downlink), through the real handler, every answer checked against
3GPP's own schema: each reported byte is charged once, a retransmission changes nothing,
statuses are the spec's, and each grant carries what the SMF needs to install it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.catalog.models import RatingGroup
from haoka.charging import tariffs
from haoka.charging.domain import BEIJING
from haoka.charging.models import Bucket, ChargingSession, UsageRecord
from haoka.core import clock, ledger
from tests.support.charging import (
    BASE,
    KB,
    MB,
    charging_token,
    left,
    make_line,
    post,
    wallet_fen,
)
from tests.support.nchf_spec import check, check_answer

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB general data
INTERNET = 100  # the catalog's general rating group
UPF = "0f3e8a8c-5d36-4f55-9f5a-1d2c3b4a5f60"
GENERAL = "套餐通用流量"


@pytest.fixture
def token(catalog, now):
    return charging_token(now)


def smf_body(line, *, at, units, seq: int = 0, **extra) -> dict:
    """A request as free5gc's SMF builds it: sequence 0, volumes per direction."""
    body = {
        "subscriberIdentifier": f"imsi-{line.imsi}",
        "nfConsumerIdentification": {"nFName": UPF, "nodeFunctionality": "SMF"},
        "invocationTimeStamp": at.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": seq,
        "multipleUnitUsage": units,
        **extra,
    }
    check(body, "ChargingDataRequest")  # what we send is what the spec allows
    return body


def used(rg: int, up: int, down: int, *, request: int | None = None, **container) -> dict:
    unit = {"ratingGroup": rg, "uPFID": UPF, "usedUnitContainer": [
        {"localSequenceNumber": 1, "uplinkVolume": up, "downlinkVolume": down, **container}
    ]}  # fmt: skip
    if request is not None:
        unit["requestedUnit"] = {"totalVolume": request}
    return unit


def asked(rg: int, amount: int) -> dict:
    return {"ratingGroup": rg, "uPFID": UPF, "requestedUnit": {"totalVolume": amount}}


def send(client, path, body, token):
    response = post(client, path, body, token)
    check_answer(response)
    return response


def _open(client, line, token, at, *, amount=4 * MB, rg=INTERNET):
    created = send(client, BASE, smf_body(line, at=at, units=[asked(rg, amount)]), token)
    assert created.status_code == 201, created.content
    return created, created["Location"].rsplit("/", 1)[1]


def test_a_free5gc_session_numbered_zero_throughout_is_charged_for_every_report(client, token, now):
    line = make_line(plan=PLAN, now=now)
    _, ref = _open(client, line, token, now)
    reports = [(100 * KB, 900 * KB), (50 * KB, 450 * KB), (10 * KB, 30 * KB)]
    for n, (up, down) in enumerate(reports[:2], start=1):
        at = now + dt.timedelta(minutes=n)
        body = smf_body(line, at=at, units=[used(INTERNET, up, down, request=4 * MB)])
        answer = send(client, f"{BASE}/{ref}/update", body, token)
        assert answer.status_code == 200, answer.content
        again = send(client, f"{BASE}/{ref}/update", body, token)  # the same request: resent
        assert (again.status_code, again.json()) == (200, answer.json())
    up, down = reports[2]
    last = smf_body(line, at=now + dt.timedelta(minutes=3), units=[used(INTERNET, up, down)])
    released = send(client, f"{BASE}/{ref}/release", last, token)
    assert released.status_code == 204 and released.content == b""
    assert send(client, f"{BASE}/{ref}/release", last, token).status_code == 204
    total = sum(up + down for up, down in reports)
    records = UsageRecord.objects.filter(line=line)
    assert sum(r.raw_amount for r in records) == total and records.count() == 3
    bucket = Bucket.objects.get(line=line, label=GENERAL)
    assert (bucket.used, bucket.reserved) == (total, 0)
    assert ChargingSession.objects.get(ref=ref).state == "RELEASED"


def test_update_answers_200_and_release_204_even_when_the_number_is_the_creates(client, token, now):
    line = make_line(plan=PLAN, now=now)
    created, ref = _open(client, line, token, now)
    flagged = smf_body(line, at=now + dt.timedelta(minutes=1), retransmissionIndicator=True,
                       units=[used(INTERNET, KB, KB, request=MB)])  # fmt: skip
    updated = send(client, f"{BASE}/{ref}/update", flagged, token)
    assert updated.status_code == 200 and updated.json() != created.json()
    assert UsageRecord.objects.get(line=line).raw_amount == 2 * KB
    again = send(client, f"{BASE}/{ref}/update", {**flagged, "invocationTimeStamp":
                 (now + dt.timedelta(minutes=2)).isoformat()}, token)  # fmt: skip
    assert (again.status_code, again.json()) == (200, updated.json())  # flagged: the stored one
    assert UsageRecord.objects.filter(line=line).count() == 1
    release = smf_body(line, at=now + dt.timedelta(minutes=3), retransmissionIndicator=True,
                       units=[])  # fmt: skip
    assert send(client, f"{BASE}/{ref}/release", release, token).status_code == 204
    assert Bucket.objects.get(line=line, label=GENERAL).reserved == 0


def test_mandatory_fields_are_enforced_and_the_subscriber_is_optional_after_the_create(
    client, token, now
):
    line = make_line(plan=PLAN, now=now)
    body = smf_body(line, at=now, units=[asked(INTERNET, MB)])
    for field in ("nfConsumerIdentification", "invocationTimeStamp"):
        missing = send(client, BASE, {k: v for k, v in body.items() if k != field}, token)
        assert missing.status_code == 400 and missing.json()["cause"] == "MANDATORY_IE_MISSING"
        assert missing.json()["invalidParams"] == [{"param": f"/{field}"}]
    _, ref = _open(client, line, token, now)
    anonymous = smf_body(line, at=now, units=[used(INTERNET, KB, 0)])
    del anonymous["subscriberIdentifier"]
    assert send(client, f"{BASE}/{ref}/update", anonymous, token).status_code == 200
    assert send(client, f"{BASE}/{ref}/release", anonymous, token).status_code == 204
    assert ChargingSession.objects.count() == 1  # the refused creates opened nothing


def test_a_grant_carries_triggers_the_upf_its_holding_time_and_a_validity(client, token, now):
    line = make_line(plan=PLAN, now=now)
    body = smf_body(line, at=now, units=[asked(INTERNET, 4 * MB)], triggers=[
        {"triggerType": "RAT_CHANGE", "triggerCategory": "IMMEDIATE_REPORT"},
        {"triggerType": "FINAL", "triggerCategory": "IMMEDIATE_REPORT"},
    ])  # fmt: skip
    info = send(client, BASE, body, token).json()["multipleUnitInformation"][0]
    assert {t["triggerType"] for t in info["triggers"]} == {
        "QUOTA_THRESHOLD", "QUOTA_EXHAUSTED", "VALIDITY_TIME", "RAT_CHANGE",
    }  # fmt: skip
    assert (info["uPFID"], info["quotaHoldingTime"], info["validityTime"]) == (UPF, 600, 3600)
    assert info["grantedUnit"] == {"totalVolume": 4 * MB}


def test_quota_from_a_night_window_is_valid_until_seven_and_a_daily_rental_until_midnight(
    client, token, now
):
    dawn = dt.datetime(2026, 5, 11, 6, 30, tzinfo=BEIJING)
    line = make_line(plan=PLAN, now=now)
    Bucket.objects.create(
        line=line, unit="BYTES", source="PACK", label="夜间流量", amount=GB_NIGHT,
        valid_from=now, valid_to=now + dt.timedelta(days=30), window_start=dt.time(23),
        window_end=dt.time(7), origin=f"test-night:{line.pk}", created_at=now,
    )  # fmt: skip
    with clock.frozen(dawn, all_threads=True):
        created, _ = _open(client, line, token, dawn, amount=MB)
    assert created.json()["multipleUnitInformation"][0]["validityTime"] == 30 * 60
    assert left(line, "夜间流量") == GB_NIGHT - MB
    late = dt.datetime(2026, 5, 10, 23, 40, tzinfo=BEIJING)
    rental = make_line(plan="CU-MAYI-RIZU", balance_fen=500, now=now, carrier="CUCC")
    with clock.frozen(late, all_threads=True):
        created, _ = _open(client, rental, token, late, amount=MB)
    info = created.json()["multipleUnitInformation"][0]
    assert info["grantedUnit"] == {"totalVolume": MB} and info["validityTime"] == 20 * 60


GB_NIGHT = 1024 * MB


def test_a_rating_group_no_tariff_knows_is_rating_failed_until_staff_list_it(client, token, now):
    line = make_line(plan=PLAN, now=now)
    created = send(client, BASE, smf_body(line, at=now, units=[asked(4242, MB)]), token)
    assert created.status_code == 201
    info = created.json()["multipleUnitInformation"][0]
    assert info == {"resultCode": "RATING_FAILED", "ratingGroup": 4242, "uPFID": UPF}
    assert Bucket.objects.get(line=line, label=GENERAL).reserved == 0
    ref = created["Location"].rsplit("/", 1)[1]
    report = smf_body(line, at=now, units=[used(4242, KB, KB)])
    send(client, f"{BASE}/{ref}/update", report, token)
    record = UsageRecord.objects.get(line=line)  # kept, unpaid, for a re-rate
    assert (record.rated_amount, record.unpaid_amount, record.wallet_fen) == (2 * KB, 2 * KB, 0)
    RatingGroup.objects.create(number=4242, code="intranet", name="内网", general=True)
    tariffs.forget_cached()
    later = smf_body(line, at=now + dt.timedelta(seconds=1), units=[asked(4242, MB)])
    info = send(client, BASE, later, token).json()["multipleUnitInformation"][0]
    assert info["resultCode"] == "SUCCESS" and info["grantedUnit"] == {"totalVolume": MB}


def _sms(line, *, at, kind: str, **unit) -> dict:
    body = {
        "subscriberIdentifier": f"msisdn-86{line.msisdn}",
        "nfConsumerIdentification": {"nodeFunctionality": "SMSF"},
        "invocationTimeStamp": at.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": 0,
        "oneTimeEvent": True,
        "oneTimeEventType": kind,
        "multipleUnitUsage": [{"ratingGroup": INTERNET, **unit}],
    }
    check(body, "ChargingDataRequest")
    return body


def test_an_sms_charged_as_an_immediate_event_is_debited_once_and_leaves_no_session(
    client, token, now
):
    line = make_line(plan=PLAN, balance_fen=25, now=now)  # no SMS allowance: ¥0.10 each
    body = _sms(line, at=now, kind="IEC", requestedUnit={"serviceSpecificUnits": 1})
    first = send(client, BASE, body, token)
    info = first.json()["multipleUnitInformation"][0]
    assert (first.status_code, info["resultCode"], info["grantedUnit"]) == (
        201, "SUCCESS", {"serviceSpecificUnits": 1},
    )  # fmt: skip
    assert send(client, BASE, body, token).json() == first.json()  # resent: charged once
    assert wallet_fen(line) == 15
    ref = first["Location"].rsplit("/", 1)[1]
    assert ChargingSession.objects.get(ref=ref).state == "RELEASED"
    follow = send(client, f"{BASE}/{ref}/update", body, token)
    assert follow.status_code == 404
    answers = [
        send(client, BASE, _sms(line, at=now + dt.timedelta(seconds=n), kind="IEC",
             requestedUnit={"serviceSpecificUnits": 1}), token).json()
        for n in (1, 2)
    ]  # fmt: skip
    info = answers[1]["multipleUnitInformation"][0]
    assert info["resultCode"] == "QUOTA_LIMIT_REACHED" and "grantedUnit" not in info
    assert info["finalUnitIndication"] == {"finalUnitAction": "TERMINATE"}
    assert wallet_fen(line) == 5  # one more sent, the third refused whole (¥0.05 left)
    assert UsageRecord.objects.filter(line=line).count() == 2
    assert ledger.trial_balance_fen() == 0


def test_an_sms_charged_after_the_event_is_charged_and_closes_its_session(client, token, now):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    container = {"localSequenceNumber": 1, "serviceSpecificUnits": 2}
    body = _sms(line, at=now, kind="PEC", usedUnitContainer=[container])
    answer = send(client, BASE, body, token)
    assert answer.json()["multipleUnitInformation"][0]["resultCode"] == "SUCCESS"
    assert wallet_fen(line) == 80
    assert not ChargingSession.objects.filter(state="OPEN").exists()
    assert UsageRecord.objects.get(line=line).unit == "SMS"


def test_usage_reported_for_offline_charging_is_rated_without_quota(client, token, now):
    line = make_line(plan=PLAN, now=now)
    _, ref = _open(client, line, token, now, amount=MB)
    offline = used(INTERNET, KB, 3 * KB, request=MB, quotaManagementIndicator="OFFLINE_CHARGING")
    body = smf_body(line, at=now + dt.timedelta(minutes=1), units=[offline])
    info = send(client, f"{BASE}/{ref}/update", body, token).json()["multipleUnitInformation"][0]
    assert info["resultCode"] == "QUOTA_MANAGEMENT_NOT_APPLICABLE" and "grantedUnit" not in info
    bucket = Bucket.objects.get(line=line, label=GENERAL)
    assert (bucket.used, bucket.reserved) == (4 * KB, 0)  # the grant settled, none held now


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    reports=st.lists(
        st.tuples(st.integers(0, 3 * MB), st.integers(0, 3 * MB), st.booleans()), max_size=4
    )
)
def test_every_reported_byte_is_charged_once_however_often_it_is_resent(
    client, token, now, reports
):
    line = make_line(plan=PLAN, balance_fen=0, now=now)
    _, ref = _open(client, line, token, now)
    for n, (up, down, resend) in enumerate(reports, start=1):
        at = now + dt.timedelta(seconds=n)
        body = smf_body(line, at=at, units=[used(INTERNET, up, down, request=4 * MB)])
        for _ in range(2 if resend else 1):
            assert send(client, f"{BASE}/{ref}/update", body, token).status_code == 200
    end = smf_body(line, at=now + dt.timedelta(minutes=1), units=[])
    assert send(client, f"{BASE}/{ref}/release", end, token).status_code == 204
    bucket = Bucket.objects.get(line=line, label=GENERAL)
    reported = sum(up + down for up, down, _ in reports)
    charged = sum(UsageRecord.objects.filter(line=line).values_list("raw_amount", flat=True))
    assert charged == reported and bucket.reserved == 0
    assert bucket.used == sum(-(-(up + down) // KB) * KB for up, down, _ in reports)
    assert ledger.trial_balance_fen() == 0
