"""The Nchf wire format without a database: what a ChargingDataRequest as SMFs send it parses
to, what an answer entry holds (checked against 3GPP's own schema), and how long a grant's
validity lasts before what pays for it ends."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.charging import nchf
from haoka.charging.domain import BEIJING, Bucket, Source, TimeWindow, Unit, paid_until
from haoka.core import schema_types
from tests.support import nchf_spec

UPF = "0f3e8a8c-5d36-4f55-9f5a-1d2c3b4a5f60"


def _body(**extra) -> dict:
    body = {
        "subscriberIdentifier": "imsi-460001234567890",
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": UPF},
        "invocationTimeStamp": "2026-05-10T04:00:00.123456789+08:00",  # Go: nanoseconds
        "invocationSequenceNumber": 0,
    }
    return {**body, **extra}


def _usage(**fields) -> dict:
    return {"ratingGroup": 100, **fields}


def _param(error) -> str:
    return error.value.details["invalidParams"][0]["param"]


def test_data_reported_as_uplink_and_downlink_without_a_total_is_their_sum():
    used = {"localSequenceNumber": 1, "uplinkVolume": 1000, "downlinkVolume": 24000}
    parsed = nchf.parse(_body(multipleUnitUsage=[_usage(usedUnitContainer=[used, used])]))
    assert (parsed.units[0].unit, parsed.units[0].used) == (Unit.BYTES, 50_000)
    asked = nchf.parse(_body(multipleUnitUsage=[_usage(requestedUnit={"downlinkVolume": 4096})]))
    assert asked.units[0].requested == 4096
    both = {"localSequenceNumber": 1, "totalVolume": 7, "uplinkVolume": 1, "downlinkVolume": 2}
    assert (
        nchf.parse(_body(multipleUnitUsage=[_usage(usedUnitContainer=[both])])).units[0].used == 7
    )


@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)), max_size=5))
def test_every_reported_byte_counts_once_whichever_way_it_is_reported(pairs):
    split = [{"localSequenceNumber": 1, "uplinkVolume": u, "downlinkVolume": d} for u, d in pairs]
    total = [{"localSequenceNumber": 1, "totalVolume": u + d} for u, d in pairs]
    one = nchf.parse(_body(multipleUnitUsage=[_usage(usedUnitContainer=split)]))
    other = nchf.parse(_body(multipleUnitUsage=[_usage(usedUnitContainer=total)]))
    assert one.units[0].used == other.units[0].used == sum(u + d for u, d in pairs)


def test_uint64_volumes_are_accepted_and_capped_and_larger_ones_refused():
    huge = {"localSequenceNumber": 1, "totalVolume": 2**64 - 1}
    parsed = nchf.parse(_body(multipleUnitUsage=[_usage(usedUnitContainer=[huge, huge])]))
    assert parsed.units[0].used == schema_types.MAX_UNITS
    asked = nchf.parse(_body(multipleUnitUsage=[_usage(requestedUnit={"totalVolume": 2**64 - 1})]))
    assert asked.units[0].requested == nchf.MAX_GRANT[Unit.BYTES]
    with pytest.raises(nchf.BadChargingRequest) as refused:
        nchf.parse(_body(multipleUnitUsage=[_usage(requestedUnit={"uplinkVolume": 2**64})]))
    assert refused.value.code == "INVALID_MSG_FORMAT"
    assert _param(refused) == "/multipleUnitUsage/0/requestedUnit/uplinkVolume"


@pytest.mark.parametrize(
    "missing,param",
    [
        ("nfConsumerIdentification", "/nfConsumerIdentification"),
        ("invocationTimeStamp", "/invocationTimeStamp"),
        ("invocationSequenceNumber", "/invocationSequenceNumber"),
    ],
)
def test_a_mandatory_field_left_out_is_mandatory_ie_missing(missing, param):
    body = _body()
    del body[missing]
    for operation in ("create", "update", "release"):
        with pytest.raises(nchf.MandatoryIeMissing) as refused:
            nchf.parse(body, operation=operation)
        assert (refused.value.code, refused.value.status, _param(refused)) == (
            "MANDATORY_IE_MISSING", 400, param,
        )  # fmt: skip


def test_the_consumer_must_say_what_it_is_and_the_time_stamp_must_be_a_date_time():
    with pytest.raises(nchf.MandatoryIeMissing) as refused:
        nchf.parse(_body(nfConsumerIdentification={"nFName": UPF}))
    assert _param(refused) == "/nfConsumerIdentification/nodeFunctionality"
    with pytest.raises(nchf.BadChargingRequest) as refused:
        nchf.parse(_body(invocationTimeStamp="yesterday"))
    assert refused.value.code == "INVALID_MSG_FORMAT"


def test_the_subscriber_is_required_to_open_a_session_but_optional_after():
    body = _body()
    del body["subscriberIdentifier"]
    with pytest.raises(nchf.MandatoryIeMissing):
        nchf.parse(body, operation="create")
    assert nchf.parse(body, operation="update").subscriber is None
    assert nchf.parse(body, operation="release").subscriber is None


def test_a_retransmission_has_the_same_digest_flagged_or_not_and_new_content_another():
    first = nchf.parse(_body(), operation="update")
    again = nchf.parse({**_body(), "retransmissionIndicator": True}, operation="update")
    assert first.digest == again.digest and again.retransmission
    later = nchf.parse(_body(invocationTimeStamp="2026-05-10T04:05:00Z"), operation="update")
    assert later.digest != first.digest and later.sequence == first.sequence
    assert nchf.parse(_body(), operation="release").digest != first.digest


def test_one_time_events_offline_usage_triggers_and_the_upf_are_read():
    used = {"localSequenceNumber": 1, "totalVolume": 5, "quotaManagementIndicator":
            "OFFLINE_CHARGING"}  # fmt: skip
    parsed = nchf.parse(
        _body(
            oneTimeEvent=True,
            oneTimeEventType="PEC",
            triggers=[
                {"triggerType": "FINAL", "triggerCategory": "IMMEDIATE_REPORT"},
                {"triggerType": "RAT_CHANGE", "triggerCategory": "DEFERRED_REPORT"},
            ],
            multipleUnitUsage=[_usage(usedUnitContainer=[used], uPFID=UPF)],
        )
    )
    assert parsed.one_time == "PEC" and parsed.triggers == (("RAT_CHANGE", "DEFERRED_REPORT"),)
    assert parsed.units[0].offline and parsed.units[0].upf_id == UPF
    assert nchf.parse(_body(oneTimeEvent=True)).one_time == "IEC"
    assert nchf.parse(_body(oneTimeEvent=False, oneTimeEventType="IEC")).one_time is None
    with pytest.raises(nchf.BadChargingRequest):
        nchf.parse(_body(oneTimeEvent=True, oneTimeEventType="SOMETIMES"))


def _unit(**fields) -> nchf.UnitUsage:
    return nchf.UnitUsage(**{"rating_group": 100, "unit": Unit.BYTES, "used": 0,
                             "requested": 1, **fields})  # fmt: skip


def _answer(*infos: dict) -> dict:
    body = {"invocationTimeStamp": "2026-05-10T04:00:00Z", "invocationSequenceNumber": 0,
            "multipleUnitInformation": list(infos)}  # fmt: skip
    nchf_spec.check(body, "ChargingDataResponse")
    return body


def test_a_grant_arms_threshold_exhaustion_validity_and_the_requested_triggers():
    info = nchf.unit_information(
        usage=_unit(upf_id=UPF), result_code="SUCCESS",
        grant=nchf.Grant(amount=10 * 1024**2, validity_s=1800),
        triggers=(("RAT_CHANGE", "DEFERRED_REPORT"),),
    )  # fmt: skip
    _answer(info)
    kinds = {t["triggerType"]: t["triggerCategory"] for t in info["triggers"]}
    now = "IMMEDIATE_REPORT"
    assert kinds == {"QUOTA_THRESHOLD": now, "QUOTA_EXHAUSTED": now, "VALIDITY_TIME": now,
                     "RAT_CHANGE": "DEFERRED_REPORT"}  # fmt: skip
    assert (info["uPFID"], info["validityTime"], info["quotaHoldingTime"]) == (
        UPF, 1800, nchf.QUOTA_HOLDING_S,
    )  # fmt: skip
    assert info["volumeQuotaThreshold"] == 2 * 1024**2


def test_rating_failed_and_a_one_time_debit_are_answers_the_schema_allows():
    failed = nchf.unit_information(usage=_unit(rating_group=4242), result_code="RATING_FAILED")
    assert failed == {"resultCode": "RATING_FAILED", "ratingGroup": 4242}
    sms = _unit(unit=Unit.SMS)
    debited = nchf.debited_information(usage=sms, amount=1)
    assert debited["grantedUnit"] == {"serviceSpecificUnits": 1} and "triggers" not in debited
    _answer(failed, debited)


NOON = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 Beijing


def _bucket(**fields) -> Bucket:
    return Bucket(**{"id": 1, "unit": Unit.BYTES, "source": Source.PACK, "available": 1,
                     "valid_from": NOON - dt.timedelta(days=1), **fields})  # fmt: skip


def test_a_grant_is_paid_until_its_first_bucket_ends_a_night_window_at_seven():
    midnight = dt.datetime(2026, 5, 11, tzinfo=BEIJING)
    daily = _bucket(source=Source.DAILY, valid_to=midnight)
    assert paid_until(buckets=[daily, _bucket(id=2)], at=NOON) == midnight
    night = _bucket(window=TimeWindow(start=dt.time(23), end=dt.time(7)))
    late = dt.datetime(2026, 5, 10, 23, 30, tzinfo=BEIJING)
    assert paid_until(buckets=[night], at=late) == dt.datetime(2026, 5, 11, 7, tzinfo=BEIJING)
    early = dt.datetime(2026, 5, 11, 1, 0, tzinfo=BEIJING)
    assert paid_until(buckets=[night], at=early) == dt.datetime(2026, 5, 11, 7, tzinfo=BEIJING)
    assert paid_until(buckets=[_bucket()], at=NOON) is None


# ---------------------------------------------------------------- final unit action


def test_a_subscriber_out_of_money_is_redirected_to_top_up_by_default():
    indication = nchf.final_unit_indication(
        policy=nchf.FinalUnitPolicy(), redirect="https://shop.test/topup", unit=Unit.BYTES
    )
    assert indication["finalUnitAction"] == "REDIRECT"
    nchf_spec.check(indication, "FinalUnitIndication")


def test_restricted_access_keeps_open_what_the_rules_and_filters_name():
    policy = nchf.FinalUnitPolicy(
        action="RESTRICT_ACCESS",
        rules=("permit out ip from any to 203.0.113.7", "permit out 17 from any to any 53"),
        filter_ids=("topup-only",),
    )
    indication = nchf.final_unit_indication(
        policy=policy, redirect="https://shop.test/topup", unit=Unit.BYTES
    )
    assert indication == {
        "finalUnitAction": "RESTRICT_ACCESS",
        "restrictionFilterRuleList": list(policy.rules),
        "filterIdList": ["topup-only"],
    }
    nchf_spec.check(indication, "FinalUnitIndication")


def test_voice_sms_and_a_line_that_cannot_top_up_are_terminated_whatever_the_policy():
    policy = nchf.FinalUnitPolicy(action="RESTRICT_ACCESS", filter_ids=("topup-only",))
    for unit, redirect in (
        (Unit.SECONDS, "https://x"),
        (Unit.SMS, "https://x"),
        (Unit.BYTES, None),
    ):
        indication = nchf.final_unit_indication(policy=policy, redirect=redirect, unit=unit)
        assert indication == {"finalUnitAction": "TERMINATE"}
