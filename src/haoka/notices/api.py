"""A person's messages over the API: ``/me/notifications`` (the signed-in user's only)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from haoka.accounts.auth import bearer
from haoka.core import clock
from haoka.core.schema_types import Id
from haoka.notices import operations, queries
from haoka.notices.models import Notification
from haoka.notices.templates import LABELS

router = Router(tags=["notices"], auth=bearer)
BASE = "/me/notifications"


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next: str | None
    unread: int


class ReadAllOut(Schema):
    marked: int
    unread: int


def _out(note: Notification) -> NotificationOut:
    return NotificationOut(
        id=note.pk,
        kind=note.kind,
        kind_label=LABELS.get(note.kind, note.kind),
        title=note.title,
        body=note.body,
        link=note.link,
        created_at=note.created_at,
        read_at=note.read_at,
    )


@router.get(BASE, response=NotificationPage)
def notifications(request, limit: int | None = None, after: str | None = None):
    """The caller's messages, newest first, and how many are unread."""
    user_id = request.auth.pk
    page = queries.page_of(user_id=user_id, limit=limit, after=after)
    return NotificationPage(
        items=[_out(n) for n in page.items],
        next=page.next,
        unread=queries.unread_count(user_id=user_id),
    )


@router.post(f"{BASE}/read-all", response=ReadAllOut)
def read_all(request):
    marked = operations.mark_all_read(user_id=request.auth.pk, now=clock.now())
    return ReadAllOut(marked=marked, unread=0)


@router.post(f"{BASE}/{{notification_id}}/read", response=NotificationOut)
def read(request, notification_id: Id):
    """Mark one message read. 404 ``notification_not_found`` for anyone else's."""
    note = operations.mark_read(
        user_id=request.auth.pk, notification_id=notification_id, now=clock.now()
    )
    return _out(note)
