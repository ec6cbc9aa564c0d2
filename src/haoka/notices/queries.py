"""Reads of a person's messages."""

from __future__ import annotations

from haoka.core import pagination
from haoka.notices.models import Notification


def unread_count(*, user_id: int) -> int:
    """How many of the person's messages are unread (one COUNT on a partial index)."""
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def page_of(*, user_id: int, limit: int | None, after: str | None) -> pagination.Page:
    """The person's messages, newest first. Raises InvalidCursor."""
    return pagination.paginate(
        Notification.objects.filter(recipient_id=user_id),
        order=["-created_at", "-id"],
        limit=limit,
        after=after,
    )


def of_key(*, key: str) -> Notification | None:
    return Notification.objects.filter(key=key).first()
