"""Telling a person: a message in their 消息中心, and an SMS where the template has one.

Callers are the domains where things happen (distribution, orders, charging): they call
:func:`notify` inside the transaction of the event, so the message commits or rolls back
with it. The SMS is sent on commit (a rolled-back event texts nobody), and a provider that
fails is logged, never undoing the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import structlog
from django.db import IntegrityError, transaction

from haoka.accounts import queries as accounts_queries
from haoka.accounts import sms
from haoka.core.errors import NotFound
from haoka.notices import templates
from haoka.notices.models import Notification

log = structlog.get_logger("haoka.notices")


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "消息不存在"


def notify(
    *,
    user_id: int,
    kind: templates.Kind,
    key: str,
    values: Mapping[str, object],
    now: dt.datetime,
) -> bool:
    """Write the message of ``kind`` for ``user_id`` once per ``key`` (and send its SMS to
    the person's phone after commit). Returns False when ``key`` was told before. Raises
    templates.MissingValue (a caller's bug) before writing anything."""
    message = templates.render(kind, values)
    phone = accounts_queries.phone_of(user_id=user_id) if message.sms else ""
    try:
        with transaction.atomic():
            Notification.objects.create(
                recipient_id=user_id,
                kind=message.kind.value,
                key=key[:120],
                title=message.title[:60],
                body=message.body[:300],
                link=message.link[:200],
                sms_sent=bool(phone),
                created_at=now,
            )
    except IntegrityError:
        if Notification.objects.filter(key=key[:120]).exists():
            return False  # told before: the first message stands, no second SMS
        raise
    if phone:
        text = message.sms or ""
        transaction.on_commit(lambda: _send_sms(phone=phone, text=text, key=key))
    return True


def _send_sms(*, phone: str, text: str, key: str) -> None:
    """After commit: the event has happened whatever the SMS provider does."""
    try:
        sms.provider().send(phone=phone, text=text)
    except Exception:
        log.exception("notice_sms_failed", key=key)


def mark_read(*, user_id: int, notification_id: int, now: dt.datetime) -> Notification:
    """Mark one of the person's messages read (a read one keeps its first time). Raises
    NotificationNotFound (also for someone else's message)."""
    note = Notification.objects.filter(pk=notification_id, recipient_id=user_id).first()
    if note is None:
        raise NotificationNotFound(notification_id=notification_id)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=now)
        note.read_at = now
    return note


def mark_all_read(*, user_id: int, now: dt.datetime) -> int:
    """Mark every unread message of the person read; returns how many were."""
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).update(
        read_at=now
    )
