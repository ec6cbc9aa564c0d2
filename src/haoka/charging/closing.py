"""Ending a line's charging: its open online sessions are released (what they reserved goes
back: allowances and held money) and, when the line closes, its allowances end.

Used by the line's lifecycle (销户, 补换卡). Runs inside the caller's transaction and takes
the line's charging lock (its ChargingAccount row) first, as every rating does, so no
session of the line can reserve or commit meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q

from haoka.charging import dataflow, notifications
from haoka.charging.domain import SESSION_MACHINE, SessionState
from haoka.charging.linebook import NotProvisioned
from haoka.charging.models import Bucket, ChargingAccount, ChargingSession, Grant
from haoka.core import accounts_chart as chart
from haoka.core import ledger


@dataclass(frozen=True)
class Ended:
    sessions: int  # open sessions released
    buckets: int  # allowances ended (only when closing)
    wallet_fen: int  # customer money on the line (nothing is held any more)


def release_sessions(*, line_id: int, now: dt.datetime) -> Ended:
    """Lock the line's charging and release its open sessions: each grant's reserved units
    go back to their buckets and its held money stops being held (units not reported yet are
    not charged: the card is being cut off). Sessions end RELEASED, so a later request of the
    network finds none (CHARGING_DATA_REF_NOT_FOUND). Raises NotProvisioned."""
    account = ChargingAccount.objects.select_for_update().filter(line_id=line_id).first()
    if account is None:
        raise NotProvisioned(line_id=line_id)
    sessions = ChargingSession.objects.filter(line_id=line_id, state=SessionState.OPEN)
    session_ids = list(sessions.order_by("id").values_list("id", flat=True))
    grants = list(Grant.objects.filter(session_id__in=session_ids).order_by("id"))
    back: dict[int, int] = {}
    for grant in grants:
        for bucket_id, _source, amount in grant.rating.get("draws", []):
            if bucket_id is not None and amount:
                back[bucket_id] = back.get(bucket_id, 0) + amount
    for bucket_id, amount in sorted(back.items()):
        # A bigint: a plain int is bound as int4 on PostgreSQL and a release of more than
        # 2 GB would wrap around (``dataflow.big``).
        Bucket.objects.filter(pk=bucket_id).update(reserved=F("reserved") - dataflow.big(amount))
    held_fen = sum(g.reserved_fen for g in grants)
    if held_fen:
        ChargingAccount.objects.filter(pk=line_id).update(
            reserved_fen=F("reserved_fen") - held_fen, updated_at=now
        )
    Grant.objects.filter(pk__in=[g.pk for g in grants]).delete()
    if session_ids:
        SESSION_MACHINE.check(current=SessionState.OPEN, target=SessionState.RELEASED)
        notifications.abort(session_ids=session_ids, now=now)  # their consumers end them too
        ChargingSession.objects.filter(pk__in=session_ids).update(
            state=SessionState.RELEASED, expires_at=now, updated_at=now
        )
    # A wallet's balance is cached (not a busy account): one indexed read.
    balance = ledger.balance_fen(account=chart.line_wallet(line_id=line_id))
    return Ended(sessions=len(session_ids), buckets=0, wallet_fen=-balance)


def end_line(*, line_id: int, now: dt.datetime) -> Ended:
    """Release the sessions of a line that is closing and end its allowances at ``now``
    (a bucket that had not started yet ends where it starts: it never was usable).
    Raises NotProvisioned."""
    released = release_sessions(line_id=line_id, now=now)
    live = Bucket.objects.filter(line_id=line_id).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now)
    )
    started = live.filter(valid_from__lte=now).update(valid_to=now)
    future = live.filter(valid_from__gt=now).update(valid_to=F("valid_from"))
    return Ended(released.sessions, started + future, released.wallet_fen)
