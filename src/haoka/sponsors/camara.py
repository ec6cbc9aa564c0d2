"""Use cases of the CAMARA Sponsored Data API (``camara_api`` renders them): who calls (a
sponsor API token), starting a sponsorship session (a budget slice of its whole volume, made
the line's SPONSOR bucket for any traffic by charging), revoking one, reading sessions and
campaigns, subscribing to campaign alerts, pausing and resuming. Every error is a
``CamaraError`` with CAMARA's status and code.

A sponsor reaches only its own campaigns of kind CAMARA_SESSION and their sessions (another
sponsor's: 404; a ``sponsorId`` that is not the token's: 403 INVALID_TOKEN_CONTEXT). The
phone numbers it reads back are the ones it gave when it started the sessions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.accounts import operations as accounts_operations
from haoka.core import ratelimit
from haoka.core.errors import IllegalTransition, RateLimited, Unauthenticated
from haoka.lines import queries as line_queries
from haoka.lines.domain import LineState
from haoka.sponsors import camara_domain as cd
from haoka.sponsors import camara_ends, campaigns, queries, slices
from haoka.sponsors.camara_domain import CamaraError, EndReason, SessionState
from haoka.sponsors.camara_models import CamaraAlertSubscription, CamaraSession
from haoka.sponsors.domain import CampaignKind, CampaignStatus
from haoka.sponsors.models import Campaign, Sponsor
from haoka.sponsors.operations import TOKEN_SCOPE
from haoka.sponsors.signals import (
    camara_session_closing,
    camara_session_started,
    camara_usage_wanted,
)

log = structlog.get_logger(__name__)
NOT_FOUND = CamaraError(404, "NOT_FOUND", "The specified resource is not found")


def caller(*, token: str, now: dt.datetime) -> Sponsor:
    """The APPROVED sponsor whose member's ``sponsor``-scoped API token this is. Raises
    CamaraError 401 UNAUTHENTICATED, 403 PERMISSION_DENIED."""
    token = token.removeprefix("Bearer ").strip()
    if not token:
        raise CamaraError(
            401,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, or expired credentials.",
        )
    try:
        user, record = accounts_operations.authenticate_token(token=token, now=now)
    except Unauthenticated:
        raise CamaraError(
            401,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, or expired credentials.",
        ) from None
    sponsor = queries.approved_sponsor_of(user_id=user.pk)
    if TOKEN_SCOPE not in (record.scopes or []) or sponsor is None:
        raise CamaraError(
            403,
            "PERMISSION_DENIED",
            "Client does not have sufficient permissions to perform this action.",
        )
    return sponsor


def campaign_of(sponsor: Sponsor, *, sponsor_id: str, campaign_id: str | None) -> Campaign:
    """The caller's CAMARA_SESSION campaign. Raises CamaraError 403 INVALID_TOKEN_CONTEXT
    (``sponsorId`` is not the caller's), 404 NOT_FOUND (also another sponsor's campaign)."""
    if sponsor_id != sponsor.sponsor_id:
        raise CamaraError(
            403, "INVALID_TOKEN_CONTEXT", "sponsorId is not consistent with access token."
        )
    found = Campaign.objects.filter(
        sponsor=sponsor, campaign_id=campaign_id or "", kind=CampaignKind.CAMARA_SESSION
    ).first()
    if found is None:
        raise NOT_FOUND
    return found


def session_of(
    sponsor: Sponsor, *, sponsor_id: str, campaign_id: str | None, session_id: uuid.UUID
) -> CamaraSession:
    """The caller's session under that campaign. Raises CamaraError 403, 404, 422
    DEVICE_IDENTIFIERS_MISMATCH (the session is the caller's, of another campaign)."""
    campaign = campaign_of(sponsor, sponsor_id=sponsor_id, campaign_id=campaign_id)
    session = (
        CamaraSession.objects.select_related("campaign__sponsor")
        .filter(session_id=session_id, campaign__sponsor=sponsor)
        .first()
    )
    if session is None:
        raise NOT_FOUND
    if session.campaign_id != campaign.pk:
        raise CamaraError(
            422,
            "DEVICE_IDENTIFIERS_MISMATCH",
            "Provided identifiers are not consistent: the session belongs to another campaign.",
        )
    return session


# ---------------------------------------------------------------- starting and revoking


def start(*, sponsor: Sponsor, body: object, correlator: str, now: dt.datetime) -> CamaraSession:
    """Start a session (or return the one this ``correlator`` started: a retransmission).
    Raises CamaraError 400, 403, 404, 409 CONFLICT (campaign paused, ended or not started;
    the line already sponsored), 422 DEVICE_NOT_APPLICABLE (no such active haoka line, not
    eligible, opted out, at its monthly cap), 429 QUOTA_EXCEEDED (no budget left, or too
    many starts)."""
    req = cd.start_request(body)
    campaign = campaign_of(sponsor, sponsor_id=req["sponsor_id"], campaign_id=req["campaign_id"])
    again = CamaraSession.objects.filter(campaign=campaign, correlator=correlator).first()
    if again is not None:
        return again
    _count_start(sponsor, now=now)
    _startable(campaign, now=now)
    line_id = _line_id(req["msisdn"])
    ends_at = min(now + dt.timedelta(minutes=req["minutes"]), campaign.valid_to)
    try:
        with transaction.atomic():
            session = _open(
                campaign, line_id=line_id, req=req, ends_at=ends_at, correlator=correlator, now=now
            )
    except IntegrityError:  # the same correlator at once, or the line already sponsored
        again = CamaraSession.objects.filter(campaign=campaign, correlator=correlator).first()
        if again is not None:
            return again
        raise CamaraError(
            409, "CONFLICT", "The phone number already has an active sponsorship in this campaign."
        ) from None
    log.info(
        "camara_session_started",
        session_id=str(session.session_id),
        campaign_id=campaign.campaign_id,
        bytes=session.volume_bytes,
    )
    return session


def _open(campaign: Campaign, *, line_id: int, req: dict, ends_at, correlator: str, now):
    volume = req["volume_mb"] * cd.MB
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id,
        line_id=line_id,
        want_bytes=volume,
        now=now,
        largest=volume,
        until=ends_at,
        granule=cd.MB,
    )
    if grant is None:
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True)[0]
        if status == CampaignStatus.EXHAUSTED:
            raise CamaraError(429, "QUOTA_EXCEEDED", "The campaign's data volume is exhausted.")
        raise CamaraError(
            422, "DEVICE_NOT_APPLICABLE", "The service is not available for the provided device."
        )
    session = CamaraSession.objects.create(
        session_id=uuid.uuid4(),
        campaign=campaign,
        slice_id=grant.slice_id,
        line_id=line_id,
        volume_bytes=grant.bytes,
        started_at=now,
        ends_at=grant.valid_to,
        webhook_url=req["webhook_url"],
        callback_token=req["callback_token"],
        correlator=correlator,
    )
    camara_session_started.send(sender=CamaraSession, grant=grant, line_id=line_id, now=now)
    return session


def _count_start(sponsor: Sponsor, *, now: dt.datetime) -> None:
    limit = getattr(settings, "CAMARA_STARTS_PER_MINUTE", 600)
    try:
        ratelimit.hit(
            key=f"camara_start:{sponsor.pk}", limit=limit, window=dt.timedelta(minutes=1), now=now
        )
    except RateLimited:
        raise CamaraError(
            429, "TOO_MANY_REQUESTS", "Either out of resource quota or reaching rate limiting."
        ) from None


def _startable(campaign: Campaign, *, now: dt.datetime) -> None:
    if campaign.status == CampaignStatus.EXHAUSTED:
        raise CamaraError(429, "QUOTA_EXCEEDED", "The campaign's data volume is exhausted.")
    if (
        campaign.status != CampaignStatus.ACTIVE
        or not campaign.valid_from <= now < campaign.valid_to
    ):
        raise CamaraError(
            409, "CONFLICT", "The campaign is not active (paused, completed or not started)."
        )


def _line_id(msisdn: str | None) -> int:
    """The active haoka line of the number; unknown, foreign and inactive numbers alike
    answer DEVICE_NOT_APPLICABLE (the answer never tells whose number it is)."""
    line = line_queries.find_line(msisdn=msisdn, user_id=None) if msisdn else None
    if line is None or line.status != LineState.ACTIVE:
        raise CamaraError(
            422, "DEVICE_NOT_APPLICABLE", "The service is not available for the provided device."
        )
    return line.pk


def revoke(*, session: CamaraSession, now: dt.datetime) -> CamaraSession:
    """End an ACTIVE session at once: its bucket ends now and its slice is settled (at once,
    or when the line's open reservations are reported), the rest of its budget goes back.
    Revoking a revoked session changes nothing. Raises CamaraError 409 (ended otherwise)."""
    if session.state == SessionState.ENDED:
        if session.end_reason == EndReason.TERMINATED_BY_SPONSOR:
            return session
        raise CamaraError(409, "CONFLICT", "The sponsorship session has already ended.")
    with transaction.atomic():
        camara_session_closing.send(
            sender=CamaraSession,
            slice_id=session.slice_id,
            line_id=session.line_id,
            reason=EndReason.TERMINATED_BY_SPONSOR,
            now=now,
        )
        locked = CamaraSession.objects.select_for_update().get(pk=session.pk)
        if locked.state == SessionState.ACTIVE:
            locked.campaign = session.campaign
            camara_ends.end(locked, reason=EndReason.TERMINATED_BY_SPONSOR, now=now)
    return CamaraSession.objects.select_related("campaign__sponsor").get(pk=session.pk)


def used_bytes(session: CamaraSession) -> int:
    """What the session consumed: settled, from its slice; else as charging's bucket says."""
    if session.used_bytes is not None:
        return session.used_bytes
    used: dict[int, int] = {}
    for _, answer in camara_usage_wanted.send(sender=CamaraSession, slice_ids=[session.slice_id]):
        used.update(answer or {})
    return used.get(session.slice_id, 0)


def phone_numbers(sessions: list[CamaraSession]) -> dict[int, str]:
    """The E.164 numbers of the sessions' lines, by line id."""
    found = line_queries.msisdns_of(line_ids=sorted({s.line_id for s in sessions}))
    return {line_id: cd.phone_of(msisdn) for line_id, msisdn in found.items()}


def active_sessions(campaign: Campaign, *, limit: int = 1000) -> tuple[list[CamaraSession], int]:
    """The campaign's ACTIVE sessions (at most ``limit``, oldest first) and how many."""
    live = CamaraSession.objects.filter(campaign=campaign, state=SessionState.ACTIVE)
    return list(live.order_by("id")[:limit]), live.count()


# ---------------------------------------------------------------- campaigns


@dataclass(frozen=True)
class CampaignFigures:
    contracted_mb: int
    used_mb: int
    remaining_mb: int


def figures(campaign: Campaign) -> CampaignFigures:
    """The campaign's budget in MB at its price: contracted (budget plus what went back),
    allocated to sessions (held or spent), left to allocate."""
    books = queries.books_of(campaigns=[campaign])[campaign.pk]
    price = campaign.price_fen_per_gb
    used = books.held_fen + books.spent_fen
    return CampaignFigures(
        contracted_mb=cd.megabytes(campaign.budget_fen, price),
        used_mb=cd.megabytes(used, price),
        remaining_mb=cd.megabytes(books.available_fen, price),
    )


def subscribe(*, campaign: Campaign, body: object, now: dt.datetime) -> CamaraAlertSubscription:
    """Where the campaign's alerts go (replacing any former subscription). Raises
    CamaraError 400."""
    req = cd.alert_request(body)
    row, _ = CamaraAlertSubscription.objects.update_or_create(
        campaign=campaign,
        defaults={
            "webhook_url": req["webhook_url"],
            "callback_token": req["callback_token"],
            "flags": req["flags"],
            "updated_at": now,
        },
    )
    return row


def manage(*, sponsor: Sponsor, body: object, now: dt.datetime) -> Campaign:
    """Pause or resume the campaign (pausing a paused one or resuming an active one changes
    nothing). Raises CamaraError 400 (also: the campaign is completed), 403, 404."""
    req = cd.manage_request(body)
    campaign = campaign_of(sponsor, sponsor_id=req["sponsor_id"], campaign_id=req["campaign_id"])
    status, _ = cd.campaign_view(status=campaign.status, now=now, valid_to=campaign.valid_to)
    if status == "completed" and campaign.status != CampaignStatus.EXHAUSTED:
        raise cd.invalid("The campaign is already completed and cannot be modified.")
    unchanged = {"pause": CampaignStatus.PAUSED, "resume": CampaignStatus.ACTIVE}[req["action"]]
    if campaign.status == unchanged:
        return campaign
    try:
        return campaigns.change(
            sponsor=sponsor,
            campaign_id=campaign.campaign_id,
            action=req["action"],
            budget_fen=None,
            actor=f"camara:{sponsor.sponsor_id}",
            now=now,
        )
    except IllegalTransition:
        raise cd.invalid("The campaign cannot be modified in its current state.") from None
