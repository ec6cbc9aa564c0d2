"""The Nchf_ConvergedCharging v3 wire format (3GPP TS 32.291): parse a ChargingDataRequest,
write a ChargingDataResponse or ProblemDetails, with the spec's JSON field names.

Units: data is ``totalVolume`` (or, when an SMF leaves it out, ``uplinkVolume`` +
``downlinkVolume``) in bytes, voice is ``time`` (seconds), SMS is ``serviceSpecificUnits``
(messages). A ``requestedUnit`` with none of them asks for the default data quota.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import structlog

from haoka.charging import notify
from haoka.charging.domain import Unit
from haoka.core import schema_types
from haoka.core.errors import ValidationError

log = structlog.get_logger(__name__)

#: Unit field names of TS 32.291 (RequestedUnit / GrantedUnit / UsedUnitContainer).
FIELD = {Unit.BYTES: "totalVolume", Unit.SECONDS: "time", Unit.SMS: "serviceSpecificUnits"}
#: Data given per direction (an SMF may report these without ``totalVolume``).
_DIRECTIONS = ("uplinkVolume", "downlinkVolume")
DEFAULT_REQUEST = {Unit.BYTES: 10 * 1024 * 1024, Unit.SECONDS: 300, Unit.SMS: 1}
MAX_GRANT = {Unit.BYTES: 1024**3, Unit.SECONDS: 3 * 3600, Unit.SMS: 100}
THRESHOLD_FIELD = {
    Unit.BYTES: "volumeQuotaThreshold",
    Unit.SECONDS: "timeQuotaThreshold",
    Unit.SMS: "unitQuotaThreshold",
}
#: The longest a grant is valid (seconds); shorter when what pays for it ends sooner.
VALIDITY_S = 3600
#: Seconds without traffic after which the SMF reports and gives the quota back (QHT).
QUOTA_HOLDING_S = 600
MAX_UNITS = 32  # multipleUnitUsage entries per request
MAX_TRIGGERS = 64
_UINT32 = 2**32
_UINT64 = 2**64
#: Units counted per report: TS 32.291 allows Uint64, but more than 8 PiB (or 285 million
#: years) is no real usage; a larger report is capped here (and logged), so rounding it to a
#: rating step still fits a bigint.
USED_CAP = schema_types.MAX_UNITS
#: Triggers every grant arms: report at the threshold, when the quota is used up, and when
#: its validity ends (TS 32.291 6.1.6.2.2.x; the SMF installs them as URR reporting triggers).
GRANT_TRIGGERS = ("QUOTA_THRESHOLD", "QUOTA_EXHAUSTED", "VALIDITY_TIME")
#: Request triggers not re-armed: they report an end, not a condition to watch.
_NOT_REARMED = frozenset({"FINAL", "ABNORMAL_RELEASE"})
ONE_TIME_TYPES = ("IEC", "PEC")


class BadChargingRequest(ValidationError):
    """A request that does not follow TS 32.291 (ProblemDetails cause INVALID_MSG_FORMAT)."""

    code = "INVALID_MSG_FORMAT"
    status = 400
    message = "计费请求格式不正确"


class MandatoryIeMissing(BadChargingRequest):
    """A field TS 32.291 makes mandatory is absent (TS 29.500 cause MANDATORY_IE_MISSING)."""

    code = "MANDATORY_IE_MISSING"
    message = "计费请求缺少必填字段"


@dataclass(frozen=True)
class UnitUsage:
    """One multipleUnitUsage entry: the units used since the last report, and the quota
    asked for (None: no new quota wanted). ``offline``: the SMF reports this usage under
    OFFLINE_CHARGING (rated, no quota); ``upf_id``: the UPF it came from, echoed back."""

    rating_group: int
    unit: Unit
    used: int
    requested: int | None
    offline: bool = False
    upf_id: str | None = None
    #: ``pDUContainerInformation.sponsorIdentity`` (TS 32.291) of a used-unit container:
    #: haoka's ``sponsor_id``; only that sponsor's buckets pay for this usage.
    sponsor_identity: str | None = None


@dataclass(frozen=True)
class ChargingRequest:
    """A parsed ChargingDataRequest. ``subscriber`` is None when an update or release leaves
    it out; ``one_time`` is "IEC" or "PEC" for an event (``oneTimeEvent``), else None;
    ``triggers`` are the (type, category) the request armed, to re-arm in the answer;
    ``digest`` identifies its content (everything but ``retransmissionIndicator``)."""

    subscriber: str | None
    sequence: int
    retransmission: bool
    invoked_at: str
    consumer: str  # the consumer NF's nFName, else its nodeFunctionality
    units: tuple[UnitUsage, ...]
    one_time: str | None = None
    triggers: tuple[tuple[str, str], ...] = ()
    digest: str = ""
    notify_uri: str = ""  # where the CHF notifies the consumer (create only)
    consumer_function: str = ""  # nodeFunctionality: SMF, SMSF, AMF ...


def _uint(value, name: str, *, limit: int = _UINT64) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
        raise BadChargingRequest(invalidParams=[{"param": name, "reason": "非负整数"}])
    return value


def _unit_of(*parts: dict) -> Unit | None:
    for unit, field in FIELD.items():
        if any(field in p for p in parts):
            return unit
    if any(d in p for p in parts for d in _DIRECTIONS):
        return Unit.BYTES
    return None


def _amount(part: dict, unit: Unit, where: str) -> int | None:
    """The units of ``unit`` a RequestedUnit or UsedUnitContainer gives (None: not given);
    data without ``totalVolume`` is its uplink plus downlink."""
    field = FIELD[unit]
    if field in part:
        return _uint(part[field], f"{where}/{field}")
    if unit != Unit.BYTES or not any(d in part for d in _DIRECTIONS):
        return None
    return sum(_uint(part.get(d, 0), f"{where}/{d}") for d in _DIRECTIONS)


def _capped(used: int, where: str) -> int:
    if used > USED_CAP:
        log.warning("nchf_usage_capped", where=where, reported=used, counted=USED_CAP)
        return USED_CAP
    return used


def _parse_usage(raw: dict, index: int) -> UnitUsage:
    where = f"/multipleUnitUsage/{index}"
    if not isinstance(raw, dict):
        raise BadChargingRequest(invalidParams=[{"param": where, "reason": "必须是对象"}])
    if "ratingGroup" not in raw:
        raise MandatoryIeMissing(invalidParams=[{"param": f"{where}/ratingGroup"}])
    group = _uint(raw.get("ratingGroup"), f"{where}/ratingGroup", limit=_UINT32)
    requested_raw = raw.get("requestedUnit")
    containers = raw.get("usedUnitContainer") or []
    if requested_raw is not None and not isinstance(requested_raw, dict):
        raise BadChargingRequest(invalidParams=[{"param": f"{where}/requestedUnit"}])
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise BadChargingRequest(invalidParams=[{"param": f"{where}/usedUnitContainer"}])
    unit = _unit_of(requested_raw or {}, *containers) or Unit.BYTES
    used = sum(
        _amount(c, unit, f"{where}/usedUnitContainer/{i}") or 0 for i, c in enumerate(containers)
    )
    requested = None
    if requested_raw is not None:
        asked = _amount(requested_raw, unit, f"{where}/requestedUnit")
        requested = min(DEFAULT_REQUEST[unit] if asked is None else asked, MAX_GRANT[unit])
    upf = raw.get("uPFID")
    return UnitUsage(
        rating_group=group,
        unit=unit,
        used=_capped(used, where),
        requested=requested,
        offline=any(c.get("quotaManagementIndicator") == "OFFLINE_CHARGING" for c in containers),
        upf_id=upf[:64] if isinstance(upf, str) and upf else None,
        sponsor_identity=_sponsor_identity(containers),
    )


def _sponsor_identity(containers: list[dict]) -> str | None:
    """The last ``sponsorIdentity`` the containers' PDU container information carries
    (a string, at most 64 characters kept), else None."""
    found = None
    for container in containers:
        info = container.get("pDUContainerInformation")
        value = info.get("sponsorIdentity") if isinstance(info, dict) else None
        if isinstance(value, str) and value.strip():
            found = value.strip()[:64]
    return found


def _triggers(raw) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_TRIGGERS:
        raise BadChargingRequest(invalidParams=[{"param": "/triggers"}])
    out: dict[str, str] = {}
    for i, t in enumerate(raw):
        kind = t.get("triggerType") if isinstance(t, dict) else None
        if kind is not None and not isinstance(kind, str):
            raise BadChargingRequest(invalidParams=[{"param": f"/triggers/{i}/triggerType"}])
        if kind and kind not in _NOT_REARMED:
            category = t.get("triggerCategory")
            ok = category in ("IMMEDIATE_REPORT", "DEFERRED_REPORT")
            out.setdefault(kind[:60], category if ok else "IMMEDIATE_REPORT")
    return tuple(out.items())


def _subscriber(body: dict, operation: str) -> str | None:
    """Who is charged: needed to open a session; optional after it (TS 32.291 leaves it out
    of updates and releases: the session knows its line)."""
    subscriber = body.get("subscriberIdentifier")
    if subscriber is None:
        if operation == "create":
            raise MandatoryIeMissing(invalidParams=[{"param": "/subscriberIdentifier"}])
        return None
    if not isinstance(subscriber, str) or not subscriber:
        raise BadChargingRequest(invalidParams=[{"param": "/subscriberIdentifier"}])
    return subscriber[:64]


def _consumer(body: dict) -> tuple[str, str]:
    """(nFName or else nodeFunctionality, nodeFunctionality) of the consumer NF."""
    consumer = body.get("nfConsumerIdentification")
    if not isinstance(consumer, dict):
        raise MandatoryIeMissing(invalidParams=[{"param": "/nfConsumerIdentification"}])
    function = consumer.get("nodeFunctionality")
    if not isinstance(function, str) or not function:
        param = "/nfConsumerIdentification/nodeFunctionality"
        raise MandatoryIeMissing(invalidParams=[{"param": param}])
    name = consumer.get("nFName")
    return (name if isinstance(name, str) and name else function)[:64], function[:16]


def _invoked_at(body: dict) -> str:
    stamp = body.get("invocationTimeStamp")
    if stamp is None:
        raise MandatoryIeMissing(invalidParams=[{"param": "/invocationTimeStamp"}])
    if not isinstance(stamp, str) or not _is_date_time(stamp):
        raise BadChargingRequest(invalidParams=[{"param": "/invocationTimeStamp"}])
    return stamp[:40]


def _is_date_time(text: str) -> bool:
    """RFC 3339 with a zone; fractions beyond microseconds (Go's nanoseconds) are allowed."""
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}" if digits else text
    try:
        return dt.datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _one_time(body: dict) -> str | None:
    if body.get("oneTimeEvent") is not True:
        return None
    kind = body.get("oneTimeEventType", "IEC")
    if kind not in ONE_TIME_TYPES:
        raise BadChargingRequest(invalidParams=[{"param": "/oneTimeEventType"}])
    return kind


def digest(body: dict, *, operation: str) -> str:
    """What identifies a request: its operation and all its content but
    ``retransmissionIndicator`` (a retransmission is the same request, flagged or not)."""
    content = {k: v for k, v in body.items() if k != "retransmissionIndicator"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{operation}|{text}".encode()).hexdigest()


def parse(body: object, *, operation: str = "create") -> ChargingRequest:
    """A ChargingDataRequest of ``operation`` (create, update, release) from its decoded JSON.
    Raises MandatoryIeMissing, BadChargingRequest."""
    if not isinstance(body, dict):
        raise BadChargingRequest("请求体必须是 JSON 对象")
    subscriber = _subscriber(body, operation)
    (consumer, function), invoked_at = _consumer(body), _invoked_at(body)
    if "invocationSequenceNumber" not in body:
        raise MandatoryIeMissing(invalidParams=[{"param": "/invocationSequenceNumber"}])
    sequence = _uint(body["invocationSequenceNumber"], "/invocationSequenceNumber", limit=_UINT32)
    usages = body.get("multipleUnitUsage") or []
    if not isinstance(usages, list) or len(usages) > MAX_UNITS:
        raise BadChargingRequest(invalidParams=[{"param": "/multipleUnitUsage"}])
    units = tuple(_parse_usage(u, i) for i, u in enumerate(usages))
    groups = [u.rating_group for u in units]
    if len(groups) != len(set(groups)):
        raise BadChargingRequest(invalidParams=[{"param": "/multipleUnitUsage", "reason": "重复"}])
    return ChargingRequest(
        subscriber=subscriber,
        sequence=sequence,
        retransmission=body.get("retransmissionIndicator") is True,
        invoked_at=invoked_at,
        consumer=consumer,
        consumer_function=function,
        units=units,
        one_time=_one_time(body),
        triggers=_triggers(body.get("triggers")),
        digest=digest(body, operation=operation),
        notify_uri=_notify_uri(body.get("notifyUri")),
    )


def _notify_uri(value: object) -> str:
    if value is None:
        return ""
    if not notify.valid_uri(value):
        raise BadChargingRequest(invalidParams=[{"param": "/notifyUri", "reason": "http(s) 地址"}])
    return value


def create_key(*, token_id: int, request: ChargingRequest) -> str:
    """What makes a create the same create when retransmitted: its caller and its content
    (two PDU sessions opened in the same second differ in their charging id)."""
    return hashlib.sha256(f"{token_id}|{request.digest}".encode()).hexdigest()


# ---------------------------------------------------------------- responses


@dataclass(frozen=True)
class FinalUnitPolicy:
    """What the network does once the final units a subscriber could pay for are used (TS 32.291
    FinalUnitIndication): REDIRECT web traffic to the top-up page; RESTRICT_ACCESS to what the
    filter rules (``IPFilterRule``, RFC 6733, e.g. ``permit out ip from any to 203.0.113.7``)
    or the filters the SMF has by name (``filterIdList``) allow, so that the top-up site (and
    DNS) stay reachable; or TERMINATE."""

    action: str = "REDIRECT"
    rules: tuple[str, ...] = ()
    filter_ids: tuple[str, ...] = ()


FINAL_UNIT_ACTIONS = ("REDIRECT", "RESTRICT_ACCESS", "TERMINATE")


def final_unit_indication(*, policy: FinalUnitPolicy, redirect: str | None, unit: Unit) -> dict:
    """The FinalUnitIndication of a rating group. Only data can be redirected or restricted,
    and only when the subscriber can top up (``redirect``); else the service terminates."""
    if redirect and unit == Unit.BYTES and policy.action == "RESTRICT_ACCESS":
        indication: dict = {"finalUnitAction": "RESTRICT_ACCESS"}
        if policy.rules:
            indication["restrictionFilterRuleList"] = list(policy.rules)
        if policy.filter_ids:
            indication["filterIdList"] = list(policy.filter_ids)
        return indication
    if redirect and unit == Unit.BYTES and policy.action == "REDIRECT":
        return {
            "finalUnitAction": "REDIRECT",
            "redirectServer": {"redirectAddressType": "URL", "redirectServerAddress": redirect},
        }
    return {"finalUnitAction": "TERMINATE"}


@dataclass(frozen=True)
class Grant:
    """Quota granted for one rating group: ``amount`` units, valid ``validity_s`` seconds
    (until what pays for it ends, at most :data:`VALIDITY_S`); ``final``: nothing more can be
    granted after it (``redirect_url``: where the subscriber can top up)."""

    amount: int
    validity_s: int = VALIDITY_S
    final: bool = False
    redirect_url: str | None = None
    policy: FinalUnitPolicy = FinalUnitPolicy()


def unit_information(
    *,
    usage: UnitUsage,
    result_code: str,
    grant: Grant | None = None,
    final: bool = False,
    triggers: tuple[tuple[str, str], ...] = (),
) -> dict:
    """One multipleUnitInformation entry: the result, and with a grant the triggers to re-arm
    (:data:`GRANT_TRIGGERS` and those of the request), its threshold, validity and holding
    time; ``final`` (or a final grant) ends the service when it is used (as the grant's policy
    says: REDIRECT to top up by default)."""
    info: dict = {"resultCode": result_code, "ratingGroup": usage.rating_group}
    if usage.upf_id:
        info["uPFID"] = usage.upf_id
    redirect, policy = None, FinalUnitPolicy()
    if grant is not None:
        info["grantedUnit"] = {FIELD[usage.unit]: grant.amount}
        info["validityTime"] = max(1, grant.validity_s)
        info["quotaHoldingTime"] = QUOTA_HOLDING_S
        armed = dict.fromkeys(GRANT_TRIGGERS, "IMMEDIATE_REPORT") | dict(triggers)
        info["triggers"] = [{"triggerType": t, "triggerCategory": c} for t, c in armed.items()]
        if grant.amount and not grant.final:
            info[THRESHOLD_FIELD[usage.unit]] = max(1, grant.amount // 5)
        final, redirect, policy = final or grant.final, grant.redirect_url, grant.policy
    if final:
        info["finalUnitIndication"] = final_unit_indication(
            policy=policy, redirect=redirect, unit=usage.unit
        )
    return info


def debited_information(*, usage: UnitUsage, amount: int) -> dict:
    """The entry of a one-time event (IEC) debited at once: what was granted, nothing to
    re-arm (no quota is held)."""
    return {
        "resultCode": "SUCCESS",
        "ratingGroup": usage.rating_group,
        "grantedUnit": {FIELD[usage.unit]: amount},
    }


def response(*, request: ChargingRequest, now: dt.datetime, units: list[dict]) -> dict:
    """A ChargingDataResponse."""
    answer = {
        "invocationTimeStamp": now.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": request.sequence,
    }
    if units:
        answer["multipleUnitInformation"] = units
    return answer


def problem(*, status: int, cause: str, title: str, detail: str = "", invalid=None) -> dict:
    """ProblemDetails (RFC 7807 as TS 29.571 uses it)."""
    body = {"type": "about:blank", "title": title, "status": status, "cause": cause}
    if detail:
        body["detail"] = detail
    if invalid:
        body["invalidParams"] = invalid
    return body
