"""CAMARA webhooks delivered from the outbox (``CamaraNotification``) by the worker's pump.

- Session ends are queued by ``camara_ends`` in the ending transaction.
- Campaign alerts come from the ``CampaignEvent`` outbox (80%, 100%, expiry: once per
  campaign and kind): :func:`fan_out` turns each undelivered event of a campaign with an
  alert subscription into a notification (UNIQUE ``campaign_event``), SKIPPED when the
  subscription did not ask for that kind; the event's ``delivered_at`` is set when its
  notification is.

Delivery (:func:`pump`): due rows are leased (SKIP LOCKED; attempt counted, next attempt
scheduled with ``camara_domain.backoff``) in a short transaction, POSTed outside any
(``x-callbackToken``, ``x-correlator`` = the row's correlator, the same on every attempt,
so the sponsor can drop duplicates), then recorded: 2xx SENT, 410 GONE, anything else tried
again, until ``MAX_AGE`` when it is left FAILED for staff. At least once, never lost."""

from __future__ import annotations

import datetime as dt
import functools
import socket
import uuid

import httpx
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.sponsors import camara_domain as cd
from haoka.sponsors.camara_domain import NOTIFICATION_MACHINE, NotificationState
from haoka.sponsors.camara_models import CamaraAlertSubscription, CamaraNotification
from haoka.sponsors.models import CampaignEvent

log = structlog.get_logger(__name__)
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def fan_out(*, now: dt.datetime, limit: int = 200) -> int:
    """Notifications for the campaign events not yet turned into one. How many were made."""
    events = (
        CampaignEvent.objects.filter(delivered_at__isnull=True, camara__isnull=True)
        .filter(campaign__camara_alerts__isnull=False)
        .select_related("campaign__sponsor")
        .order_by("id")[:limit]
    )
    made = 0
    for event in events:
        made += _notification_of(event, now=now)
    return made


def _notification_of(event: CampaignEvent, *, now: dt.datetime) -> int:
    campaign = event.campaign
    alerts = CamaraAlertSubscription.objects.get(campaign=campaign)
    _, flag = cd.CAMPAIGN_EVENTS[event.kind]
    wanted = bool(alerts.flags.get(flag, True))
    body = cd.campaign_notification(
        sponsor_id=campaign.sponsor.sponsor_id,
        campaign_id=campaign.campaign_id,
        kind=event.kind,
        at=event.created_at,
    )
    try:
        with transaction.atomic():
            CamaraNotification.objects.create(
                key=f"campaign_event:{event.pk}",
                campaign=campaign,
                campaign_event=event,
                url=alerts.webhook_url,
                callback_token=alerts.callback_token,
                correlator=uuid.uuid4(),
                body=body,
                next_at=now,
                created_at=now,
                state=NotificationState.PENDING if wanted else NotificationState.SKIPPED,
            )
    except IntegrityError:  # another worker made it
        return 0
    return 1


def pump(*, now: dt.datetime, limit: int = 50) -> dict[str, str]:
    """Fan out new campaign events, then deliver what is due. Key -> outcome."""
    fan_out(now=now)
    return {row.key: _deliver(row, now=now) for row in _lease(now=now, limit=limit)}


def _lease(*, now: dt.datetime, limit: int) -> list[CamaraNotification]:
    due = CamaraNotification.objects.filter(state=NotificationState.PENDING, next_at__lte=now)
    if not due.exists():
        return []
    with transaction.atomic():
        rows = list(due.select_for_update(skip_locked=True).order_by("next_at", "id")[:limit])
        for row in rows:
            row.attempts += 1
            row.next_at = now + cd.backoff(attempts=row.attempts)
            CamaraNotification.objects.filter(pk=row.pk).update(
                attempts=row.attempts, next_at=row.next_at
            )
    return rows


def refused(url: str) -> str:
    """Why ``url`` may not be called (its host resolves to an address that is not public),
    or "" (also when it does not resolve now: the delivery fails and is tried again)."""
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return ""
    try:
        parsed = httpx.URL(url)
        found = socket.getaddrinfo(parsed.host, parsed.port or 443, type=socket.SOCK_STREAM)
    except (httpx.InvalidURL, OSError, UnicodeError):
        return ""
    blocked = sorted({info[4][0] for info in found if not cd.public_address(info[4][0])})
    return f"refused: {blocked[0]} is not a public address" if blocked else ""


def _deliver(row: CamaraNotification, *, now: dt.datetime) -> str:
    headers = {"x-correlator": str(row.correlator), "x-callbackToken": row.callback_token}
    if why := refused(row.url):
        return _record(row, NotificationState.FAILED, why, now=now)
    try:
        response = client().post(row.url, json=row.body, headers=headers)
    except httpx.HTTPError as exc:
        return _record(row, NotificationState.PENDING, type(exc).__name__, now=now)
    state = cd.outcome(response.status_code)
    return _record(row, state, f"HTTP {response.status_code}", now=now)


def _record(
    row: CamaraNotification, state: NotificationState, error: str, *, now: dt.datetime
) -> str:
    if state == NotificationState.PENDING and now - row.created_at >= cd.MAX_AGE:
        state = NotificationState.FAILED
    changes: dict = {"last_error": "" if state == NotificationState.SENT else error[:200]}
    if state != NotificationState.PENDING:
        NOTIFICATION_MACHINE.check(current=row.state, target=state)
        changes["state"] = state
    if state == NotificationState.SENT:
        changes["sent_at"] = now
    with transaction.atomic():
        CamaraNotification.objects.filter(pk=row.pk, state=NotificationState.PENDING).update(
            **changes
        )
        if state == NotificationState.SENT and row.campaign_event_id:
            CampaignEvent.objects.filter(pk=row.campaign_event_id).update(delivered_at=now)
    log_event = log.info if state == NotificationState.SENT else log.warning
    log_event(
        "camara_webhook",
        key=row.key,
        outcome=str(state),
        attempts=row.attempts,
        error=changes["last_error"],
    )
    return str(state).lower()


@functools.cache
def client() -> httpx.Client:
    """One client per process (connections kept)."""
    return httpx.Client(timeout=TIMEOUT)
