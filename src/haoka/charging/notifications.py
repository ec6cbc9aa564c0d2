"""CHF-initiated notifications sent (3GPP TS 32.291 ChargingNotification, POST to the
session's ``notifyUri``), as an outbox: a use case that makes quota available or ends a line's
charging writes ``ChargingNotification`` rows inside its own transaction (UNIQUE ``key``: one
notification per cause), and the worker's pump (:func:`pump`) delivers them, retrying with
backoff (``notify.backoff``) until the consumer answers 2xx, or gives up after
``notify.MAX_ATTEMPTS`` (a 4xx is the consumer's answer: given up at once, logged).

The SBI speaks HTTP/2: calls are made over h2c with prior knowledge (TS 29.500), or HTTP/1.1
with ``HAOKA_SBI_HTTP1=1`` for a consumer that only speaks that.
"""

from __future__ import annotations

import datetime as dt
import functools

import httpx
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.charging import notify
from haoka.charging.domain import SessionState
from haoka.charging.models import ChargingNotification, ChargingSession, Exchange
from haoka.charging.notify import NOTIFY_MACHINE, NotifyKind, NotifyState

log = structlog.get_logger(__name__)
TIMEOUT = httpx.Timeout(3.0, connect=1.0)


def quota_available(*, line_id: int, cause: str, now: dt.datetime) -> int:
    """Tell every open session of the line that waits for quota that it may ask again
    (REAUTHORIZATION listing its rating groups), once per ``cause`` (e.g. the credit's ledger
    key). Runs inside the caller's transaction. How many were queued."""
    sessions = _open_sessions_with_uri(line_id)
    latest = _latest_answers([s.id for s in sessions])
    queued = 0
    for session in sessions:
        groups = notify.waiting_groups(latest.get(session.id))
        if groups:
            body = notify.body(kind=NotifyKind.REAUTHORIZATION, rating_groups=groups)
            queued += _queue(session, NotifyKind.REAUTHORIZATION, f"reauth:{session.ref}:{cause}",
                             body, now=now)  # fmt: skip
    return queued


def abort(*, session_ids: list[int], now: dt.datetime) -> int:
    """Tell the consumers of these sessions to end them (ABORT_CHARGING), once per session.
    Runs inside the caller's transaction. How many were queued."""
    sessions = ChargingSession.objects.filter(pk__in=session_ids).exclude(notify_uri="")
    body = notify.body(kind=NotifyKind.ABORT_CHARGING)
    return sum(
        _queue(s, NotifyKind.ABORT_CHARGING, f"abort:{s.ref}", body, now=now)
        for s in sessions.order_by("id")
    )


def abort_line(*, line_id: int, now: dt.datetime) -> int:
    """ABORT_CHARGING to every open session of the line (it was suspended)."""
    return abort(session_ids=[s.id for s in _open_sessions_with_uri(line_id)], now=now)


def _open_sessions_with_uri(line_id: int) -> list[ChargingSession]:
    return list(
        ChargingSession.objects.filter(line_id=line_id, state=SessionState.OPEN)
        .exclude(notify_uri="")
        .order_by("id")
    )


def _latest_answers(session_ids: list[int]) -> dict[int, dict]:
    """The latest answer given to each session (its last exchange; a long session has many,
    only the last is read)."""
    latest: dict[int, dict] = {}
    for session_id in session_ids:
        last = Exchange.objects.filter(session_id=session_id).order_by("-id").first()
        if last is not None:
            latest[session_id] = last.response
    return latest


def _queue(session, kind: NotifyKind, key: str, body: dict, *, now: dt.datetime) -> int:
    try:
        with transaction.atomic():
            ChargingNotification.objects.create(
                session=session, kind=kind, key=key, uri=session.notify_uri, body=body,
                next_at=now, created_at=now,
            )  # fmt: skip
    except IntegrityError:  # this cause was notified already
        return 0
    return 1


# ---------------------------------------------------------------- delivery


def pump(*, now: dt.datetime, limit: int = 50) -> dict[str, str]:
    """Deliver the notifications that are due (the worker's pump; several workers may run
    it: rows another holds are skipped). Each is leased first (attempt counted, next attempt
    scheduled), then called outside any transaction, then recorded. Key -> outcome."""
    leased = _lease(now=now, limit=limit)
    return {n.key: _deliver(n, now=now) for n in leased}


def _lease(*, now: dt.datetime, limit: int) -> list[ChargingNotification]:
    due = ChargingNotification.objects.filter(state=NotifyState.PENDING, next_at__lte=now)
    if not due.exists():
        return []  # an idle round: one read, no transaction
    with transaction.atomic():
        rows = list(due.select_for_update(skip_locked=True).order_by("next_at", "id")[:limit])
        for row in rows:
            row.attempts += 1
            row.next_at = now + notify.backoff(attempts=row.attempts)
            ChargingNotification.objects.filter(pk=row.pk).update(
                attempts=row.attempts, next_at=row.next_at
            )
    return rows


def _deliver(row: ChargingNotification, *, now: dt.datetime) -> str:
    try:
        response = client().post(row.uri, json=row.body)
    except httpx.HTTPError as exc:
        return _failed(row, f"{type(exc).__name__}", retry=True, now=now)
    if 200 <= response.status_code < 300:
        NOTIFY_MACHINE.check(current=row.state, target=NotifyState.SENT)
        ChargingNotification.objects.filter(pk=row.pk, state=NotifyState.PENDING).update(
            state=NotifyState.SENT, sent_at=now, last_error=""
        )
        log.info("charging_notify_sent", key=row.key, kind=row.kind, attempts=row.attempts)
        return "sent"
    retry = response.status_code >= 500 or response.status_code in (408, 429)
    return _failed(row, f"HTTP {response.status_code}", retry=retry, now=now)


def _failed(row: ChargingNotification, error: str, *, retry: bool, now: dt.datetime) -> str:
    give_up = not retry or row.attempts >= notify.MAX_ATTEMPTS
    changes: dict = {"last_error": error[:200]}
    if give_up:
        NOTIFY_MACHINE.check(current=row.state, target=NotifyState.FAILED)
        changes["state"] = NotifyState.FAILED
    ChargingNotification.objects.filter(pk=row.pk, state=NotifyState.PENDING).update(**changes)
    log.warning("charging_notify_failed", key=row.key, error=error, attempts=row.attempts,
                given_up=give_up)  # fmt: skip
    return "failed" if give_up else "retry"


@functools.cache
def client() -> httpx.Client:
    """One client per process (connections kept): h2c with prior knowledge unless
    ``SBI_HTTP1``."""
    http1 = settings.SBI_HTTP1
    return httpx.Client(http1=http1, http2=not http1, timeout=TIMEOUT)
