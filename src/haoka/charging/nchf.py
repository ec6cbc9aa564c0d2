"""The Nchf_ConvergedCharging v3 wire format (3GPP TS 32.291): parse a ChargingDataRequest,
write a ChargingDataResponse or ProblemDetails, with the spec's JSON field names.

Units: ``totalVolume`` is data (bytes), ``time`` is voice (seconds), ``serviceSpecificUnits``
is SMS (messages). A ``requestedUnit`` with none of them asks for the default data quota.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from haoka.charging import notify
from haoka.charging.domain import Unit
from haoka.core import schema_types
from haoka.core.errors import ValidationError

#: Unit field names of TS 32.291 (RequestedUnit / GrantedUnit / UsedUnitContainer).
FIELD = {Unit.BYTES: "totalVolume", Unit.SECONDS: "time", Unit.SMS: "serviceSpecificUnits"}
DEFAULT_REQUEST = {Unit.BYTES: 10 * 1024 * 1024, Unit.SECONDS: 300, Unit.SMS: 1}
MAX_GRANT = {Unit.BYTES: 1024**3, Unit.SECONDS: 3 * 3600, Unit.SMS: 100}
THRESHOLD_FIELD = {
    Unit.BYTES: "volumeQuotaThreshold",
    Unit.SECONDS: "timeQuotaThreshold",
    Unit.SMS: "unitQuotaThreshold",
}
VALIDITY_S = 3600
MAX_UNITS = 32  # multipleUnitUsage entries per request
_UINT32 = 2**32
#: Units one request may report or ask for (TS 32.291 allows Uint64; more than 8 PiB or
#: 285 million years is no real usage, and rounding it to a rating step must fit a bigint).
_UNITS_LIMIT = schema_types.MAX_UNITS + 1


class BadChargingRequest(ValidationError):
    """A request that does not follow TS 32.291 (ProblemDetails cause INVALID_MSG_FORMAT)."""

    code = "INVALID_MSG_FORMAT"
    status = 400
    message = "计费请求格式不正确"


@dataclass(frozen=True)
class UnitUsage:
    """One multipleUnitUsage entry: the units used since the last report, and the quota
    asked for (None: no new quota wanted)."""

    rating_group: int
    unit: Unit
    used: int
    requested: int | None


@dataclass(frozen=True)
class ChargingRequest:
    subscriber: str
    sequence: int
    retransmission: bool
    invoked_at: str
    consumer: str
    units: tuple[UnitUsage, ...]
    notify_uri: str = ""  # where the CHF notifies the consumer (create only)


def _uint(value, name: str, *, limit: int = _UNITS_LIMIT) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
        raise BadChargingRequest(invalidParams=[{"param": name, "reason": "非负整数"}])
    return value


def _unit_of(*parts: dict) -> Unit | None:
    for unit, field in FIELD.items():
        if any(field in p for p in parts):
            return unit
    return None


def _parse_usage(raw: dict, index: int) -> UnitUsage:
    where = f"/multipleUnitUsage/{index}"
    if not isinstance(raw, dict):
        raise BadChargingRequest(invalidParams=[{"param": where, "reason": "必须是对象"}])
    group = _uint(raw.get("ratingGroup"), f"{where}/ratingGroup", limit=_UINT32)
    requested_raw = raw.get("requestedUnit")
    containers = raw.get("usedUnitContainer") or []
    if requested_raw is not None and not isinstance(requested_raw, dict):
        raise BadChargingRequest(invalidParams=[{"param": f"{where}/requestedUnit"}])
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise BadChargingRequest(invalidParams=[{"param": f"{where}/usedUnitContainer"}])
    unit = _unit_of(requested_raw or {}, *containers) or Unit.BYTES
    field = FIELD[unit]
    used = sum(
        _uint(c.get(field, 0), f"{where}/usedUnitContainer/{i}/{field}")
        for i, c in enumerate(containers)
    )
    used = _uint(used, f"{where}/usedUnitContainer")  # the sum too
    requested = None
    if requested_raw is not None:
        asked = requested_raw.get(field)
        asked = DEFAULT_REQUEST[unit] if asked is None else _uint(asked, f"{where}/{field}")
        requested = min(asked, MAX_GRANT[unit])
    return UnitUsage(rating_group=group, unit=unit, used=used, requested=requested)


def parse(body: object) -> ChargingRequest:
    """A ChargingDataRequest from its decoded JSON. Raises BadChargingRequest."""
    if not isinstance(body, dict):
        raise BadChargingRequest("请求体必须是 JSON 对象")
    subscriber = body.get("subscriberIdentifier")
    if not isinstance(subscriber, str) or not subscriber:
        raise BadChargingRequest(invalidParams=[{"param": "/subscriberIdentifier"}])
    sequence = _uint(
        body.get("invocationSequenceNumber"), "/invocationSequenceNumber", limit=_UINT32
    )
    usages = body.get("multipleUnitUsage") or []
    if not isinstance(usages, list) or len(usages) > MAX_UNITS:
        raise BadChargingRequest(invalidParams=[{"param": "/multipleUnitUsage"}])
    units = tuple(_parse_usage(u, i) for i, u in enumerate(usages))
    groups = [u.rating_group for u in units]
    if len(groups) != len(set(groups)):
        raise BadChargingRequest(invalidParams=[{"param": "/multipleUnitUsage", "reason": "重复"}])
    consumer = body.get("nfConsumerIdentification") or {}
    return ChargingRequest(
        subscriber=subscriber[:64],
        sequence=sequence,
        retransmission=body.get("retransmissionIndicator") is True,
        invoked_at=str(body.get("invocationTimeStamp") or "")[:40],
        consumer=str(consumer.get("nFName") or consumer.get("nodeFunctionality") or "")[:64]
        if isinstance(consumer, dict)
        else "",
        units=units,
        notify_uri=_notify_uri(body.get("notifyUri")),
    )


def _notify_uri(value: object) -> str:
    if value is None:
        return ""
    if not notify.valid_uri(value):
        raise BadChargingRequest(invalidParams=[{"param": "/notifyUri", "reason": "http(s) 地址"}])
    return value


def create_key(*, token_id: int, request: ChargingRequest) -> str:
    """What makes a create the same create when retransmitted."""
    text = "|".join(
        [
            str(token_id),
            request.subscriber,
            request.consumer,
            request.invoked_at,
            str(request.sequence),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- responses


def unit_information(
    *,
    rating_group: int,
    unit: Unit,
    result_code: str,
    granted: int | None,
    final: bool,
    redirect_url: str | None,
) -> dict:
    """One multipleUnitInformation entry."""
    info: dict = {"resultCode": result_code, "ratingGroup": rating_group}
    if granted is not None:
        info["grantedUnit"] = {FIELD[unit]: granted}
        info["validityTime"] = VALIDITY_S
        if granted and not final:
            info[THRESHOLD_FIELD[unit]] = max(1, granted // 5)
    if final:
        if redirect_url and unit == Unit.BYTES:
            info["finalUnitIndication"] = {
                "finalUnitAction": "REDIRECT",
                "redirectServer": {
                    "redirectAddressType": "URL",
                    "redirectServerAddress": redirect_url,
                },
            }
        else:
            info["finalUnitIndication"] = {"finalUnitAction": "TERMINATE"}
    return info


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
