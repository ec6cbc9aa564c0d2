"""How a CAMARA sponsorship session ends: ACTIVE -> ENDED with its reason, and the
SponsorshipEndNotification owed to the sponsor's webhook queued in the same transaction
(``CamaraNotification``, key ``session_end:<session id>``: once).

A session ends when its slice is settled (its bucket used up or past its end: charging's
settling worker; revoked: at once when nothing is reserved), or when the sponsor revokes it
(the slice then settles when the line's open reservations are reported). Lock order: the
line's charging lock, the slice, the session's row."""

from __future__ import annotations

import datetime as dt
import uuid

import structlog

from haoka.sponsors import camara_domain as cd
from haoka.sponsors.camara_domain import SESSION_MACHINE, SessionState
from haoka.sponsors.camara_models import CamaraNotification, CamaraSession
from haoka.sponsors.models import Slice

log = structlog.get_logger(__name__)


def slice_settled(piece: Slice, *, hint: str | None, now: dt.datetime) -> None:
    """Record a settled slice's use on its session (if it is one's) and end the session if it
    is still ACTIVE (``hint``, else used up or expired). Runs in the settling transaction."""
    session = CamaraSession.objects.select_for_update().filter(slice_id=piece.pk).first()
    if session is None:
        return
    session.used_bytes = piece.used_bytes
    session.save(update_fields=["used_bytes"])
    if session.state == SessionState.ACTIVE:
        reason = cd.end_reason(used_bytes=piece.used_bytes, bytes_=piece.bytes, hint=hint)
        end(session, reason=reason, now=now)


def end(session: CamaraSession, *, reason: cd.EndReason, now: dt.datetime) -> None:
    """ACTIVE -> ENDED (the row locked by the caller) and the end notification queued."""
    SESSION_MACHINE.check(current=session.state, target=SessionState.ENDED)
    session.state, session.end_reason, session.ended_at = SessionState.ENDED, reason, now
    session.save(update_fields=["state", "end_reason", "ended_at"])
    campaign = session.campaign
    body = cd.end_notification(
        sponsor_id=campaign.sponsor.sponsor_id,
        campaign_id=campaign.campaign_id,
        session_id=str(session.session_id),
        reason=reason,
        at=now,
    )
    CamaraNotification.objects.get_or_create(
        key=f"session_end:{session.session_id}",
        defaults={
            "campaign": campaign,
            "url": session.webhook_url,
            "callback_token": session.callback_token,
            "correlator": uuid.uuid4(),
            "body": body,
            "next_at": now,
            "created_at": now,
        },
    )
    log.info("camara_session_ended", session_id=str(session.session_id), reason=str(reason))
