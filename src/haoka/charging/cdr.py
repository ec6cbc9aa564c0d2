"""Charging data records of the CHF (3GPP TS 32.298, the CHF record ``chargingFunctionRecord``):
what one closed Nchf session used, per rating group, as the billing domain and auditors read
it. Pure: built from plain values, no database, no clock.

Records are JSON objects whose member names are the ASN.1 names of TS 32.298's ``ChargingRecord``
(``recordType``, ``recordingNetworkFunctionID``, ``listOfMultipleUnitUsage`` ...), one per
line of an hourly file (JSON Lines). JSON rather than BER: the SBI that produced the data is
JSON with the same names, a reader needs no ASN.1 compiler, and a line per record survives a
partial read; a BER encoder can be added beside it from the same dictionaries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

#: ``RecordType`` of the CHF record (TS 32.298: ``chargingFunctionRecord [200]``).
CHF_RECORD_TYPE = 200
#: ``SubscriptionIDType`` values (TS 32.298, after Diameter's Subscription-Id-Type).
END_USER_E164, END_USER_IMSI = 0, 1


class CauseForRecClosing(IntEnum):
    """TS 32.298 ``CauseForRecClosing`` values a CHF session record can close with."""

    NORMAL_RELEASE = 0  # the consumer released the session
    ABNORMAL_RELEASE = 4  # nobody reported within the quota holding time: the CHF expired it
    MANAGEMENT_INTERVENTION = 20  # the operator ended it (销户, 补换卡)


@dataclass(frozen=True)
class SessionFacts:
    """What the CHF knows of a closed session."""

    ref: str  # ChargingDataRef
    opened_at: dt.datetime
    closed_at: dt.datetime
    state: str  # RELEASED | EXPIRED
    released_by_consumer: bool  # a release request closed it
    imsi: str
    msisdn: str
    consumer: str  # the network function that opened it (its nFName, else its credential)
    consumer_function: str = ""  # its nodeFunctionality (SMF, SMSF ...), if it said


@dataclass(frozen=True)
class UsedUnits:
    """One usage report of one rating group (a rated ``UsageRecord`` of the session)."""

    rating_group: int
    unit: str  # BYTES | SECONDS | SMS
    amount: int  # as reported (raw), before rounding for rating
    reported_at: dt.datetime


def cause_for_closing(facts: SessionFacts) -> CauseForRecClosing:
    if facts.state == "EXPIRED":
        return CauseForRecClosing.ABNORMAL_RELEASE
    if facts.released_by_consumer:
        return CauseForRecClosing.NORMAL_RELEASE
    return CauseForRecClosing.MANAGEMENT_INTERVENTION


def timestamp(at: dt.datetime) -> str:
    """TS 32.298 TimeStamp as the SBI writes DateTime: UTC, second precision."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(used: UsedUnits, sequence: int) -> dict:
    container: dict = {
        "localSequenceNumber": sequence,
        "triggerTimeStamp": timestamp(used.reported_at),
    }
    if used.unit == "BYTES":
        container["dataTotalVolume"] = used.amount
    elif used.unit == "SECONDS":
        container["time"] = used.amount
    else:
        container["serviceSpecificUnits"] = used.amount
    return container


def _subscription(facts: SessionFacts) -> dict:
    """TS 32.298 ``SubscriptionID``: the IMSI (endUserIMSI) or else the number (endUserE164)."""
    if facts.imsi:
        return {"subscriptionIDType": END_USER_IMSI, "subscriptionIDData": facts.imsi}
    return {"subscriptionIDType": END_USER_E164, "subscriptionIDData": f"86{facts.msisdn}"}


def _functionality(units: list[UsedUnits]) -> str:
    """The consumer's kind when it did not say: SMS only comes from an SMSF."""
    return "SMSF" if units and all(u.unit == "SMS" for u in units) else "SMF"


def chf_record(
    *, facts: SessionFacts, units: list[UsedUnits], chf_name: str, local_sequence: int
) -> dict:
    """The CHF record of a closed session. ``local_sequence`` numbers the CHF's records
    (``localRecordSequenceNumber``); containers are numbered in report order per rating group."""
    by_group: dict[int, list[dict]] = {}
    for used in sorted(units, key=lambda u: (u.reported_at, u.rating_group)):
        containers = by_group.setdefault(used.rating_group, [])
        containers.append(_container(used, len(containers) + 1))
    record = {
        "recordType": CHF_RECORD_TYPE,
        "recordingNetworkFunctionID": chf_name,
        "subscriberIdentifier": _subscription(facts),
        "nFunctionConsumerInformation": {
            "networkFunctionality": facts.consumer_function or _functionality(units),
            "networkFunctionName": facts.consumer,
        },
        "listOfMultipleUnitUsage": [
            {"ratingGroup": group, "usedUnitContainers": containers}
            for group, containers in sorted(by_group.items())
        ],
        "recordOpeningTime": timestamp(facts.opened_at),
        "duration": max(0, int((facts.closed_at - facts.opened_at).total_seconds())),
        "causeForRecClosing": int(cause_for_closing(facts)),
        "localRecordSequenceNumber": local_sequence,
        "chargingSessionIdentifier": facts.ref,
    }
    return record


def hour_of(at: dt.datetime) -> dt.datetime:
    """The UTC hour a record belongs to (by when its session closed)."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def file_name(hour: dt.datetime) -> str:
    """``chf-cdr-YYYYMMDDHH.jsonl``: one file per UTC hour."""
    return f"chf-cdr-{hour.astimezone(dt.UTC):%Y%m%d%H}.jsonl"
