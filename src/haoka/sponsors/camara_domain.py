"""Pure rules of the CAMARA Sponsored Data API (vwip): its identifiers (haoka's ``sponsor_id``
and ``campaign_id`` in the shapes the YAML requires), its errors ({status, code, message}),
the checks of its request bodies, the states of a sponsorship session and what the API
shows of them, and the notifications it sends. No DB, no clock, no I/O.

Identifiers: ``sponsorId`` is ``<sponsor_id>@<DOMAIN>`` (``SP7K2M9Q4X1B@haoka.cn``);
``campaignId`` is the campaign's ``campaign_id`` (12 ASCII characters) hex-encoded into the
last 12 bytes of a UUID, ``@<DOMAIN>`` (``00000000-4350-...@haoka.cn``): the same identifier,
reversible without a table, matching the YAML's ``UUID@domain`` pattern."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from enum import StrEnum
from urllib.parse import urlsplit

from haoka.core import states
from haoka.core.errors import IllegalTransition

DOMAIN = "haoka.cn"
API_VERSION = "1.0.0"
MB = 1 << 20
DEFAULT_VOLUME_MB = 100  # the "onboarding" defaults of a haoka CAMARA campaign
DEFAULT_DURATION_MINUTES = 60
MAX_VOLUME_MB, MAX_DURATION_MINUTES = 1000, 1440

UUID4 = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89aAbB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
SPONSOR_ID = re.compile(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$")
CAMPAIGN_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$"
)
SESSION_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
PHONE = re.compile(r"^\+[1-9][0-9]{4,14}$")


class CamaraError(Exception):
    """An answer in CAMARA's error format: ``{"status", "code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")

    def body(self) -> dict:
        return {"status": self.status, "code": self.code, "message": self.message}


def invalid(message: str) -> CamaraError:
    return CamaraError(400, "INVALID_ARGUMENT", message)


# ---------------------------------------------------------------- identifiers


def camara_sponsor_id(sponsor_id: str) -> str:
    return f"{sponsor_id}@{DOMAIN}"


def haoka_sponsor_id(camara_id: object) -> str:
    """The ``sponsor_id`` part of a CAMARA ``sponsorId``. Raises CamaraError 400."""
    if not isinstance(camara_id, str) or not SPONSOR_ID.match(camara_id):
        raise invalid("sponsorId is not a valid sponsor identifier")
    return camara_id.rsplit("@", 1)[0]


def camara_campaign_id(campaign_id: str) -> str:
    raw = campaign_id.encode("ascii").rjust(16, b"\0")
    return f"{uuid.UUID(bytes=raw)}@{DOMAIN}"


def haoka_campaign_id(camara_id: object) -> str | None:
    """The ``campaign_id`` encoded in a CAMARA ``campaignId``: None when it encodes none (an
    unknown campaign, 404). Raises CamaraError 400 when it is not a campaignId at all."""
    if not isinstance(camara_id, str) or not CAMPAIGN_ID.match(camara_id):
        raise invalid("campaignId is not a valid campaign identifier")
    raw = uuid.UUID(camara_id.rsplit("@", 1)[0]).bytes.lstrip(b"\0")
    text = raw.decode("ascii", errors="replace")
    return text if text.isascii() and text.isalnum() and 0 < len(text) <= 12 else None


def session_uuid(camara_id: object) -> uuid.UUID:
    """Raises CamaraError 400 unless a UUID."""
    if not isinstance(camara_id, str) or not SESSION_ID.match(camara_id):
        raise invalid("sessionId is not a valid session identifier")
    return uuid.UUID(camara_id)


def msisdn_of(phone: object) -> str | None:
    """The 11-digit mainland number of an E.164 ``phoneNumber`` (+86...), None for another
    country's (haoka has no such line). Raises CamaraError 400 when not E.164."""
    if not isinstance(phone, str) or not PHONE.match(phone):
        raise invalid("phoneNumber must be in E.164 format, e.g. +8613812345678")
    national = phone.removeprefix("+86")
    return national if phone.startswith("+86") and len(national) == 11 else None


def phone_of(msisdn: str) -> str:
    return f"+86{msisdn}"


def valid_correlator(value: object) -> bool:
    return isinstance(value, str) and bool(UUID4.match(value))


def valid_webhook(value: object) -> bool:
    """An absolute http(s) URL with a host, at most 500 characters."""
    if not isinstance(value, str) or not 0 < len(value) <= 500:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# ---------------------------------------------------------------- request bodies


def _int_in(body: dict, key: str, low: int, high: int, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(f"{key} must be an integer within [{low},{high}]")
    return value


def start_request(body: object) -> dict:
    """The checked body of startSponsorship: sponsor and campaign ids (haoka's), msisdn (None
    for a foreign number), volume in MB, duration in minutes, webhook and token. Raises
    CamaraError 400."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    for key in ("sponsorId", "campaignId", "phoneNumber", "webhookUrl", "callbackToken"):
        if key not in body:
            raise invalid(f"{key} is required")
    if not valid_webhook(body["webhookUrl"]):
        raise invalid("webhookUrl is an invalid URL")
    if not valid_correlator(body["callbackToken"]):
        raise invalid("callbackToken must be a UUID version 4")
    return {
        "sponsor_id": haoka_sponsor_id(body["sponsorId"]),
        "campaign_id": haoka_campaign_id(body["campaignId"]),
        "msisdn": msisdn_of(body["phoneNumber"]),
        "volume_mb": _int_in(body, "dataVolume", 1, MAX_VOLUME_MB, DEFAULT_VOLUME_MB),
        "minutes": _int_in(body, "duration", 1, MAX_DURATION_MINUTES, DEFAULT_DURATION_MINUTES),
        "webhook_url": body["webhookUrl"],
        "callback_token": body["callbackToken"],
    }


ALERT_FLAGS = ("alertDataVolumeThresholds", "campaignExpiryNotification", "dataVolumeExhausted")


def alert_request(body: object) -> dict:
    """The checked body of configureAlerts (flags default to true). Raises CamaraError 400."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    if not valid_webhook(body.get("webhookUrl")):
        raise invalid("webhookUrl is an invalid URL")
    token = body.get("callbackToken", "")
    if not isinstance(token, str) or len(token) > 500:
        raise invalid("callbackToken must be a string of at most 500 characters")
    flags = {}
    for key in ALERT_FLAGS:
        flags[key] = body.get(key, True)
        if not isinstance(flags[key], bool):
            raise invalid(f"{key} must be a boolean")
    return {"webhook_url": body["webhookUrl"], "callback_token": token, "flags": flags}


def manage_request(body: object) -> dict:
    """The checked body of manageCampaign. Raises CamaraError 400."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    action = body.get("action")
    if action not in ("pause", "resume"):
        raise invalid("action must be pause or resume")
    return {
        "sponsor_id": haoka_sponsor_id(body.get("sponsorId")),
        "campaign_id": haoka_campaign_id(body.get("campaignId")),
        "action": action,
    }


# ---------------------------------------------------------------- sessions


class SessionState(StrEnum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


class EndReason(StrEnum):
    """SponsorshipEndNotification's reasons; session-status shows them in its own words."""

    EXPIRED = "EXPIRED"
    TERMINATED_BY_SPONSOR = "TERMINATED_BY_SPONSOR"
    DATA_EXHAUSTED = "DATA_EXHAUSTED"
    USER_DEREGISTERED = "USER_DEREGISTERED"
    NOT_AVAILABLE = "NOT_AVAILABLE"


STATUS_REASONS = {
    EndReason.EXPIRED: "validity_expired",
    EndReason.DATA_EXHAUSTED: "data_exhausted",
    EndReason.TERMINATED_BY_SPONSOR: "session_revoked",
}


class SessionStateConflict(IllegalTransition):
    code = "camara_session_state_conflict"
    message = "赞助会话的状态不允许此操作"


SESSION_MACHINE = states.Machine(
    SessionState,
    {SessionState.ACTIVE: {SessionState.ENDED}, SessionState.ENDED: set()},
    error=SessionStateConflict,
    labels={SessionState.ACTIVE: "赞助中", SessionState.ENDED: "已结束"},
)


def end_reason(*, used_bytes: int, bytes_: int, hint: str | None) -> EndReason:
    """Why a session whose allowance was settled ended: what its closer said (revoked), else
    used up, else its time ran out."""
    if hint:
        return EndReason(hint)
    return EndReason.DATA_EXHAUSTED if used_bytes >= bytes_ else EndReason.EXPIRED


def status_view(
    *,
    state: str,
    reason: str,
    ends_at: dt.datetime,
    used_bytes: int,
    volume_bytes: int,
    now: dt.datetime,
) -> dict:
    """sessionStatus, endReason, dataVolumeConsumed, dataVolumeAvailable (MB; consumed
    rounded up). An ACTIVE session past its end or used up is shown as the worker will
    record it a moment later."""
    used = min(used_bytes, volume_bytes)
    if state == SessionState.ACTIVE and used >= volume_bytes:
        reason = EndReason.DATA_EXHAUSTED
    elif state == SessionState.ACTIVE and now >= ends_at:
        reason = EndReason.EXPIRED
    consumed = -(-used // MB)
    available = 0 if reason else max(0, volume_bytes // MB - consumed)
    return {
        "sessionStatus": "inactive" if reason else "active",
        "endReason": STATUS_REASONS.get(reason, "not_available") if reason else "not_available",
        "dataVolumeConsumed": consumed,
        "dataVolumeAvailable": available,
    }


# ---------------------------------------------------------------- campaigns


def campaign_view(*, status: str, now: dt.datetime, valid_to: dt.datetime) -> tuple[str, str]:
    """(status, completionReason) of a haoka campaign: ACTIVE -> active, PAUSED -> paused,
    EXHAUSTED -> completed/data_exhausted, past its end -> completed/time_expired, ended
    early by the sponsor -> completed/not_available."""
    if now >= valid_to:
        return "completed", "time_expired"
    if status == "EXHAUSTED":
        return "completed", "data_exhausted"
    if status == "ENDED":
        return "completed", "not_available"
    return ("paused" if status == "PAUSED" else "active"), "not_available"


def megabytes(fen: int, price_fen_per_gb: int) -> int:
    """The whole MB ``fen`` buys at the price."""
    return fen * 1024 // price_fen_per_gb if price_fen_per_gb > 0 else 0


# ---------------------------------------------------------------- notifications

#: CampaignEvent kinds -> (CampaignNotification eventType as the YAML spells it, flag).
CAMPAIGN_EVENTS = {
    "THRESHOLD_80": ("DATA_VOLUME_THRESHOLD_EXCEEDED (80%)", "alertDataVolumeThresholds"),
    "THRESHOLD_100": ("DATA_VOLUME_EXHASTED", "dataVolumeExhausted"),
    "EXPIRED": ("CAMPAIGN_EXPIRED", "campaignExpiryNotification"),
}


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_notification(
    *, sponsor_id: str, campaign_id: str, session_id: str, reason: str, at: dt.datetime
) -> dict:
    """A SponsorshipEndNotification."""
    return {
        "api_version": API_VERSION,
        "datacontenttype": "application/json",
        "sponsorId": camara_sponsor_id(sponsor_id),
        "campaignId": camara_campaign_id(campaign_id),
        "sessionId": session_id,
        "reason": reason,
        "endTimestamp": _stamp(at),
    }


def campaign_notification(*, sponsor_id: str, campaign_id: str, kind: str, at: dt.datetime) -> dict:
    """A CampaignNotification; ``dataContentType`` repeats ``datacontenttype`` as the
    CAMARA test scenarios spell it (an extra property, allowed by the schema)."""
    return {
        "api_version": API_VERSION,
        "datacontenttype": "application/json",
        "dataContentType": "application/json",
        "sponsorId": camara_sponsor_id(sponsor_id),
        "campaignId": camara_campaign_id(campaign_id),
        "eventType": CAMPAIGN_EVENTS[kind][0],
        "timestamp": _stamp(at),
    }


class NotificationState(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    GONE = "GONE"  # the consumer answered 410: its callback is no longer available
    FAILED = "FAILED"  # still undelivered after MAX_AGE: left for staff
    SKIPPED = "SKIPPED"  # a campaign event the subscription did not ask for


NOTIFICATION_MACHINE = states.Machine(
    NotificationState,
    {
        NotificationState.PENDING: {
            NotificationState.SENT,
            NotificationState.GONE,
            NotificationState.FAILED,
        },
        NotificationState.SENT: set(),
        NotificationState.GONE: set(),
        NotificationState.FAILED: set(),
        NotificationState.SKIPPED: set(),
    },
)
#: How long an undelivered notification is retried before it is left FAILED for staff.
MAX_AGE = dt.timedelta(days=3)


def backoff(*, attempts: int) -> dt.timedelta:
    """After the ``attempts``-th failed attempt: 2 s, 4 s, 8 s ... capped at an hour."""
    return dt.timedelta(seconds=min(2 ** max(attempts, 1), 3600))


def outcome(status: int) -> NotificationState:
    """What an HTTP answer of the sponsor's webhook means: 2xx delivered, 410 gone, anything
    else tried again (a 4xx may be a sink being fixed: never lost, at least once)."""
    if 200 <= status < 300:
        return NotificationState.SENT
    return NotificationState.GONE if status == 410 else NotificationState.PENDING


def public_address(address: str) -> bool:
    """Whether ``address`` (an IP address as text) is one on the public internet: never
    loopback, private, link-local, multicast, reserved or unspecified (a sponsor's webhook
    must not reach into the operator's own network)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
