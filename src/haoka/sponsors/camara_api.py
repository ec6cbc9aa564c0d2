"""HTTP endpoints of the CAMARA Sponsored Data API (vwip), under ``/sponsored-data/vwip/``
exactly as ``sponsored_data.yaml`` defines them:

    POST   /sponsorship                                                  startSponsorship
    GET    /sponsorship/{sponsorId}/{campaignId}/{sessionId}/session-status getSessionStatus
    DELETE /sponsorship/{sponsorId}/{campaignId}/{sessionId}/revoke      revokeSponsorship
    GET    /campaign/{sponsorId}/{campaignId}/campaign-status            getCampaignStatus
    GET    /campaign/{sponsorId}/{campaignId}/active-sponsorships        getActiveSponsorships
    POST   /campaign/{sponsorId}/{campaignId}/alert-subscription         configureAlerts
    POST   /campaign/management                                          manageCampaign

The caller sends its sponsor API token (scope ``sponsor``) in the ``accessToken`` header
(or ``Authorization: Bearer``) and an ``x-correlator`` (UUID v4), echoed on every answer.
Errors are CAMARA's ``{"status", "code", "message"}``: 400 INVALID_ARGUMENT, 401
UNAUTHENTICATED, 403 PERMISSION_DENIED / INVALID_TOKEN_CONTEXT, 404 NOT_FOUND, 405
METHOD_NOT_ALLOWED, 406 NOT_ACCEPTABLE, 409 CONFLICT, 415 UNSUPPORTED_MEDIA_TYPE, 422
DEVICE_*, 429 QUOTA_EXCEEDED / TOO_MANY_REQUESTS, 500 INTERNAL, 503 UNAVAILABLE, 504
TIMEOUT. Handlers parse, make one call into ``sponsors.camara`` and render."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import structlog
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from haoka.core import clock, jsonio
from haoka.core.errors import HaokaError
from haoka.sponsors import camara
from haoka.sponsors import camara_domain as cd
from haoka.sponsors.camara_domain import CamaraError

log = structlog.get_logger(__name__)
BASE = "sponsored-data/vwip/"
_SEG = r"([^/]{1,200})"


def _time(at) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids(campaign) -> dict:
    return {
        "sponsorId": cd.camara_sponsor_id(campaign.sponsor.sponsor_id),
        "campaignId": cd.camara_campaign_id(campaign.campaign_id),
    }


# ---------------------------------------------------------------- handlers


def start_sponsorship(request, sponsor, body, now):
    session = camara.start(sponsor=sponsor, body=body, correlator=request.correlator, now=now)
    return 201, {
        **_ids(session.campaign),
        "sessionId": str(session.session_id),
        "startTime": _time(session.started_at),
        "endTime": _time(session.ends_at),
        "sponsoredDataVolume": session.volume_bytes // cd.MB,
    }


def _session(sponsor, sid, cid, sess):
    return camara.session_of(
        sponsor,
        sponsor_id=cd.haoka_sponsor_id(sid),
        campaign_id=cd.haoka_campaign_id(cid),
        session_id=cd.session_uuid(sess),
    )


def session_status(request, sponsor, body, now, sid, cid, sess):
    session = _session(sponsor, sid, cid, sess)
    view = cd.status_view(
        state=session.state,
        reason=session.end_reason,
        ends_at=session.ends_at,
        used_bytes=camara.used_bytes(session),
        volume_bytes=session.volume_bytes,
        now=now,
    )
    phone = camara.phone_numbers([session]).get(session.line_id)
    return 200, {
        **_ids(session.campaign),
        "sessionId": str(session.session_id),
        "phoneNumber": phone,
        "startTime": _time(session.started_at),
        "endTime": _time(session.ended_at or session.ends_at),
        **view,
    }


def revoke_sponsorship(request, sponsor, body, now, sid, cid, sess):
    session = camara.revoke(session=_session(sponsor, sid, cid, sess), now=now)
    phone = camara.phone_numbers([session]).get(session.line_id)
    return 200, {
        **_ids(session.campaign),
        "sessionId": str(session.session_id),
        "phoneNumber": phone,
        "startTime": _time(session.started_at),
        "endTime": _time(session.ended_at or now),
        "requestResult": "successful_revocation",
    }


def _campaign(sponsor, sid, cid):
    return camara.campaign_of(
        sponsor, sponsor_id=cd.haoka_sponsor_id(sid), campaign_id=cd.haoka_campaign_id(cid)
    )


def campaign_status(request, sponsor, body, now, sid, cid):
    campaign = _campaign(sponsor, sid, cid)
    status, reason = cd.campaign_view(status=campaign.status, now=now, valid_to=campaign.valid_to)
    figures = camara.figures(campaign)
    return 200, {
        **_ids(campaign),
        "status": status,
        "startTime": _time(campaign.valid_from),
        "endTime": _time(campaign.valid_to),
        "campaignType": "prepaid",
        "contractedDataVolume": figures.contracted_mb,
        "usedDataVolume": figures.used_mb,
        "remainingDataVolume": figures.remaining_mb,
        "completionReason": reason,
    }


def active_sponsorships(request, sponsor, body, now, sid, cid):
    campaign = _campaign(sponsor, sid, cid)
    sessions, total = camara.active_sessions(campaign)
    phones = camara.phone_numbers(sessions)
    listed = [
        {"sessionId": str(s.session_id), "phoneNumber": phones[s.line_id]}
        for s in sessions
        if s.line_id in phones
    ]
    return 200, {**_ids(campaign), "activeSponsorships": listed, "totalCount": total}


def alert_subscription(request, sponsor, body, now, sid, cid):
    campaign = _campaign(sponsor, sid, cid)
    camara.subscribe(campaign=campaign, body=body, now=now)
    return 200, {**_ids(campaign), "requestResult": "Campaign notifications subscription - SUCCESS"}


def manage_campaign(request, sponsor, body, now):
    before = cd.manage_request(body)["action"]
    campaign = camara.manage(sponsor=sponsor, body=body, now=now)
    status, _ = cd.campaign_view(status=campaign.status, now=now, valid_to=campaign.valid_to)
    shown = {"paused": "paused", "active": "resumed"}.get(status, "completed")
    done = "CAMPAIGN PAUSED SUCCESSFULLY" if before == "pause" else "CAMPAIGN RESUMED SUCCESSFULLY"
    return 200, {"requestResult": done, **_ids(campaign), "startTime": _time(now), "status": shown}


#: (path pattern, {method: handler}); a handler of a POST gets the parsed body.
ROUTES = [
    (re.compile(r"^sponsorship$"), {"POST": start_sponsorship}),
    (re.compile(rf"^sponsorship/{_SEG}/{_SEG}/{_SEG}/session-status$"), {"GET": session_status}),
    (re.compile(rf"^sponsorship/{_SEG}/{_SEG}/{_SEG}/revoke$"), {"DELETE": revoke_sponsorship}),
    (re.compile(rf"^campaign/{_SEG}/{_SEG}/campaign-status$"), {"GET": campaign_status}),
    (re.compile(rf"^campaign/{_SEG}/{_SEG}/active-sponsorships$"), {"GET": active_sponsorships}),
    (re.compile(rf"^campaign/{_SEG}/{_SEG}/alert-subscription$"), {"POST": alert_subscription}),
    (re.compile(r"^campaign/management$"), {"POST": manage_campaign}),
]


# ---------------------------------------------------------------- the protocol


def _answer(status: int, body: dict, correlator: str, **headers: str) -> HttpResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["x-correlator"] = correlator
    for name, value in headers.items():
        response[name] = value
    return response


def _route(rest: str, method: str):
    for pattern, handlers in ROUTES:
        found = pattern.match(rest)
        if found:
            if method not in handlers:
                allowed = ", ".join(handlers)
                raise CamaraError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"The requested method is not allowed/supported on the target resource "
                    f"(allowed: {allowed}).",
                )
            return handlers[method], found.groups()
    raise camara.NOT_FOUND


def _accepts_json(accept: str) -> bool:
    media = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
    return not accept.strip() or any(
        m in ("*/*", "application/*", "application/json") for m in media
    )


def _body(request) -> object:
    if not jsonio.is_json(request.content_type):
        raise CamaraError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "The server refuses to accept the request because the payload format is in an "
            "unsupported format.",
        )
    try:
        return jsonio.loads(request.body)
    except HaokaError:
        raise cd.invalid(
            "Client specified an invalid argument, request body or query param."
        ) from None


def _handle(request, rest: str) -> tuple[int, dict]:
    handler, args = _route(rest, request.method)
    if not _accepts_json(request.headers.get("Accept", "")):
        raise CamaraError(
            406,
            "NOT_ACCEPTABLE",
            "The server cannot produce a response matching the content requested by the client "
            "through `Accept-*` headers.",
        )
    if not request.correlator_valid:
        raise cd.invalid("x-correlator header is missing or not a UUID version 4")
    now = clock.now()
    token = request.headers.get("accessToken") or request.headers.get("Authorization", "")
    sponsor = camara.caller(token=token, now=now)
    body = _body(request) if request.method == "POST" else None
    return handler(request, sponsor, body, now, *args)


def _server_error(exc: Exception) -> CamaraError:
    if isinstance(exc, OperationalError):
        if getattr(exc.__cause__, "sqlstate", None) == "57014":  # statement timeout
            return CamaraError(504, "TIMEOUT", "Request timeout exceeded.")
        return CamaraError(503, "UNAVAILABLE", "Service Unavailable.")
    return CamaraError(500, "INTERNAL", "Unknown server error. Typically a server bug.")


@csrf_exempt
def view(request, rest: str = "") -> HttpResponse:
    """Every path under ``/sponsored-data/vwip/``."""
    incoming = request.headers.get("x-correlator", "")
    request.correlator_valid = cd.valid_correlator(incoming)
    request.correlator = incoming if request.correlator_valid else str(uuid.uuid4())
    try:
        status, body = _handle(request, rest)
    except CamaraError as exc:
        return _answer(exc.status, exc.body(), request.correlator)
    except Exception as exc:  # never a bare 500: CAMARA's error body, logged
        error = _server_error(exc)
        log.exception("camara_request_failed", path=request.path, status=error.status)
        return _answer(error.status, error.body(), request.correlator)
    return _answer(status, body, request.correlator)
