"""Charging data records (TS 32.298 CHF records): what a closed session used is written once,
per rating group, to the file of the UTC hour it closed in; the file is the records' bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.test import override_settings

from haoka.charging import cdr, cdr_files, online
from haoka.charging.models import CdrFile, ChargingDataRecord, UsageRecord
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)

PLAN = "CM-MANGO-39"
VIDEO, MANGO_TV = 1003, 1011
T0 = dt.datetime(2026, 5, 10, 2, 15, tzinfo=dt.UTC)


def _facts(**changes) -> cdr.SessionFacts:
    facts = dict(
        ref="abc", opened_at=T0, closed_at=T0 + dt.timedelta(seconds=90), state="RELEASED",
        released_by_consumer=True, imsi="460001234567890", msisdn="13900000001", consumer="smf-1",
    )  # fmt: skip
    return cdr.SessionFacts(**{**facts, **changes})


def test_a_record_lists_each_rating_group_with_its_reports_in_order():
    units = [
        cdr.UsedUnits(VIDEO, "BYTES", 300, T0 + dt.timedelta(seconds=60)),
        cdr.UsedUnits(MANGO_TV, "BYTES", 70, T0 + dt.timedelta(seconds=30)),
        cdr.UsedUnits(VIDEO, "BYTES", 100, T0 + dt.timedelta(seconds=30)),
    ]
    record = cdr.chf_record(facts=_facts(), units=units, chf_name="chf-1", local_sequence=7)
    assert record["recordType"] == 200
    assert record["recordingNetworkFunctionID"] == "chf-1"
    assert record["subscriberIdentifier"] == {
        "subscriptionIDType": cdr.END_USER_IMSI, "subscriptionIDData": "460001234567890",
    }  # fmt: skip
    assert record["duration"] == 90
    assert record["recordOpeningTime"] == "2026-05-10T02:15:00Z"
    assert record["localRecordSequenceNumber"] == 7
    groups = {g["ratingGroup"]: g["usedUnitContainers"] for g in record["listOfMultipleUnitUsage"]}
    assert [c["dataTotalVolume"] for c in groups[VIDEO]] == [100, 300]
    assert [c["localSequenceNumber"] for c in groups[VIDEO]] == [1, 2]
    assert [c["dataTotalVolume"] for c in groups[MANGO_TV]] == [70]


@pytest.mark.parametrize(
    ("state", "by_consumer", "cause"),
    [
        ("RELEASED", True, cdr.CauseForRecClosing.NORMAL_RELEASE),
        ("EXPIRED", False, cdr.CauseForRecClosing.ABNORMAL_RELEASE),
        ("RELEASED", False, cdr.CauseForRecClosing.MANAGEMENT_INTERVENTION),
    ],
)
def test_the_cause_for_closing_says_who_ended_the_session(state, by_consumer, cause):
    facts = _facts(state=state, released_by_consumer=by_consumer)
    record = cdr.chf_record(facts=facts, units=[], chf_name="c", local_sequence=1)
    assert record["causeForRecClosing"] == int(cause)


def test_a_line_without_an_imsi_is_identified_by_its_e164_number():
    record = cdr.chf_record(facts=_facts(imsi=""), units=[], chf_name="c", local_sequence=1)
    assert record["subscriberIdentifier"] == {
        "subscriptionIDType": cdr.END_USER_E164, "subscriptionIDData": "8613900000001",
    }  # fmt: skip


def test_sms_and_voice_are_counted_in_their_own_units():
    units = [
        cdr.UsedUnits(2, "SMS", 1, T0), cdr.UsedUnits(3, "SECONDS", 61, T0),
    ]  # fmt: skip
    record = cdr.chf_record(facts=_facts(), units=units, chf_name="c", local_sequence=1)
    groups = {
        g["ratingGroup"]: g["usedUnitContainers"][0] for g in record["listOfMultipleUnitUsage"]
    }
    assert groups[2]["serviceSpecificUnits"] == 1
    assert groups[3]["time"] == 61


def test_files_are_named_by_the_utc_hour_the_sessions_closed_in():
    beijing = dt.timezone(dt.timedelta(hours=8))
    hour = cdr.hour_of(dt.datetime(2026, 5, 10, 10, 59, 59, tzinfo=beijing))
    assert hour == dt.datetime(2026, 5, 10, 2, tzinfo=dt.UTC)
    assert cdr.file_name(hour) == "chf-cdr-2026051002.jsonl"


# ---------------------------------------------------------------- with the database


@pytest.fixture
def cdr_dir(tmp_path):
    with override_settings(CDR_DIR=tmp_path / "cdr"):
        yield tmp_path / "cdr"


def _session(client, line, token, at, reports: list[tuple[int, int]]) -> str:
    """Open a session on VIDEO and MANGO_TV, report ``reports`` [(rg, bytes)] in one update,
    and release it; its ref."""
    body = request_body(
        line, seq=1, units=[data_unit(VIDEO, request=MB), data_unit(MANGO_TV, request=MB)], at=at
    )
    created = post(client, BASE, body, token)
    assert created.status_code == 201, created.content
    ref = created["Location"].rsplit("/", 1)[1]
    used = [data_unit(rg, used=n, request=MB) for rg, n in reports]
    assert (
        post(
            client, f"{BASE}/{ref}/update", request_body(line, seq=2, units=used, at=at), token
        ).status_code
        == 200
    )
    release = request_body(line, seq=3, units=[data_unit(VIDEO, used=1000)], at=at)
    assert post(client, f"{BASE}/{ref}/release", release, token).status_code == 204
    return ref


@pytest.mark.django_db
def test_a_released_session_is_written_once_to_its_hours_file_with_every_byte(
    client, catalog, now, cdr_dir
):
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    token = charging_token(now)
    ref = _session(client, line, token, now, [(VIDEO, 5000), (MANGO_TV, 2500)])

    later = cdr.hour_of(now) + dt.timedelta(hours=1, minutes=1)
    first = cdr_files.run(now=later)
    again = cdr_files.run(now=later + dt.timedelta(minutes=5))

    assert first["recorded"] == 1 and again == {"recorded": 0, "files": []}
    name = cdr.file_name(cdr.hour_of(now))
    assert first["files"] == [name]
    data = (cdr_dir / name).read_bytes()
    (record,) = [json.loads(line) for line in data.decode().splitlines()]
    assert record["chargingSessionIdentifier"] == ref
    assert record["causeForRecClosing"] == int(cdr.CauseForRecClosing.NORMAL_RELEASE)
    volumes = {
        g["ratingGroup"]: sum(c["dataTotalVolume"] for c in g["usedUnitContainers"])
        for g in record["listOfMultipleUnitUsage"]
    }
    charged = UsageRecord.objects.filter(record_id__startswith=f"nchf:{ref}:")
    assert volumes == {VIDEO: 6000, MANGO_TV: 2500}
    assert sum(volumes.values()) == sum(r.raw_amount for r in charged)
    listed = CdrFile.objects.get()
    assert (listed.records, listed.sha256) == (1, hashlib.sha256(data).hexdigest())


@pytest.mark.django_db
def test_an_hour_is_written_only_after_it_ended_and_an_expired_session_says_so(
    client, catalog, now, cdr_dir
):
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    token = charging_token(now)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=MB)], at=now)
    assert post(client, BASE, body, token).status_code == 201
    expiry = now + online.HOLDING + dt.timedelta(seconds=1)
    assert online.expire_sessions(now=expiry) == 1

    during = cdr_files.run(now=expiry)
    assert during == {"recorded": 1, "files": []}  # its hour has not ended yet
    assert not list(cdr_dir.glob("*.jsonl"))
    after = cdr_files.run(now=cdr.hour_of(expiry) + dt.timedelta(hours=1))
    assert after["files"] == [cdr.file_name(cdr.hour_of(expiry))]
    record = ChargingDataRecord.objects.get().record
    assert record["causeForRecClosing"] == int(cdr.CauseForRecClosing.ABNORMAL_RELEASE)


@pytest.mark.django_db
def test_a_file_lost_on_disk_is_written_again_with_the_same_bytes(client, catalog, now, cdr_dir):
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    token = charging_token(now)
    _session(client, line, token, now, [(VIDEO, 4000)])
    later = cdr.hour_of(now) + dt.timedelta(hours=2)
    (name,) = cdr_files.run(now=later)["files"]
    before = (cdr_dir / name).read_bytes()
    (cdr_dir / name).unlink()

    cdr_files.write_hour(hour=cdr.hour_of(now), now=later)

    assert (cdr_dir / name).read_bytes() == before
    assert not list(cdr_dir.glob(".cdr-*"))  # no temporary file left behind


@pytest.mark.django_db
def test_an_sms_charged_as_one_event_is_a_normally_released_record_in_messages(
    client, catalog, now, cdr_dir
):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    body = {
        "subscriberIdentifier": f"msisdn-86{line.msisdn}",
        "nfConsumerIdentification": {"nodeFunctionality": "SMSF"},
        "invocationTimeStamp": now.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": 0,
        "oneTimeEvent": True,
        "oneTimeEventType": "PEC",
        "multipleUnitUsage": [
            {"ratingGroup": 100,
             "usedUnitContainer": [{"localSequenceNumber": 1, "serviceSpecificUnits": 2}]}
        ],
    }  # fmt: skip
    assert post(client, BASE, body, charging_token(now)).status_code == 201

    cdr_files.run(now=cdr.hour_of(now) + dt.timedelta(hours=1))

    record = ChargingDataRecord.objects.get().record
    assert record["causeForRecClosing"] == int(cdr.CauseForRecClosing.NORMAL_RELEASE)
    assert record["nFunctionConsumerInformation"]["networkFunctionality"] == "SMSF"
    (usage,) = record["listOfMultipleUnitUsage"]
    assert usage["usedUnitContainers"][0]["serviceSpecificUnits"] == 2
