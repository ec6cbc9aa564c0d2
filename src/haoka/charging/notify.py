"""CHF-initiated notifications (3GPP TS 32.291 ``ChargingNotifyRequest``), the pure part:
what a notification says, which rating groups of a session wait for quota, when to try
again. No database, no clock, no I/O (``charging.notifications`` sends them).

- REAUTHORIZATION: quota became available (a top-up, a pack, a sponsor) to a session that was
  refused some: the consumer asks again for the rating groups listed.
- ABORT_CHARGING: the line can no longer be charged (suspended, closed, its SIM replaced):
  the consumer ends the session.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.db import models

from haoka.core import states
from haoka.core.errors import IllegalTransition


class NotifyKind(models.TextChoices):
    REAUTHORIZATION = "REAUTHORIZATION", "重新授权"
    ABORT_CHARGING = "ABORT_CHARGING", "中止计费"


class NotifyState(models.TextChoices):
    PENDING = "PENDING", "待发送"
    SENT = "SENT", "已送达"
    FAILED = "FAILED", "发送失败"


class NotifyStateConflict(IllegalTransition):
    code = "charging_notify_state_conflict"
    message = "计费通知当前状态不允许此操作"


#: A notification is delivered, or given up after its last attempt; a failed attempt keeps it
#: PENDING (not a move) with a later ``next_at``.
NOTIFY_MACHINE = states.Machine(
    NotifyState,
    {NotifyState.PENDING: {NotifyState.SENT, NotifyState.FAILED}, NotifyState.SENT: set(),
     NotifyState.FAILED: set()},
    error=NotifyStateConflict,
)  # fmt: skip
NOTIFY_KIND_CHOICES = NotifyKind.choices
#: Attempts before a notification is given up (about 4 minutes of retries in all).
MAX_ATTEMPTS = 8
#: Result codes of a multipleUnitInformation that leave the rating group without quota.
NO_QUOTA = frozenset({"QUOTA_LIMIT_REACHED", "END_USER_SERVICE_DENIED", "USER_UNKNOWN"})


def body(*, kind: NotifyKind, rating_groups: list[int] = ()) -> dict:
    """The ChargingNotifyRequest."""
    request: dict = {"notificationType": str(kind)}
    if kind == NotifyKind.REAUTHORIZATION and rating_groups:
        request["reauthorizationDetails"] = [{"ratingGroup": g} for g in sorted(rating_groups)]
    return request


def waiting_groups(answer: dict | None) -> list[int]:
    """The rating groups a session's latest ChargingDataResponse left without quota (refused,
    or given its final units): what a REAUTHORIZATION lets the consumer ask for again."""
    groups = []
    for info in (answer or {}).get("multipleUnitInformation") or []:
        if not isinstance(info, dict) or not isinstance(info.get("ratingGroup"), int):
            continue
        if info.get("resultCode") in NO_QUOTA or "finalUnitIndication" in info:
            groups.append(info["ratingGroup"])
    return sorted(set(groups))


def backoff(*, attempts: int) -> dt.timedelta:
    """How long after the ``attempts``-th failed attempt the next one is made: 1 s, 2 s, 4 s
    ... capped at two minutes."""
    return dt.timedelta(seconds=min(2 ** max(attempts - 1, 0), 120))


def valid_uri(value: object) -> bool:
    """A notifyUri the CHF may call: an absolute http(s) URL with a host, at most 500 chars."""
    if not isinstance(value, str) or not 0 < len(value) <= 500:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
