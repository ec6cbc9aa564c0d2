"""一证五号 bookkeeping, used inside the transactions of :mod:`haoka.kyc.operations`.

Every change to the ACTIVE claims of an (ID, carrier) pair happens while that pair's
:class:`IdentityClaimCounter` row is locked, and moves its count of ACTIVE claims with it, so
two concurrent orders cannot both take the fifth slot; the counter's CHECK (active <= 5) is
the last guard. A transaction that locks two counters (a re-check with another ID) locks
them in sorted order, so two transactions never wait on each other in a cycle; a first claim
locks only its own.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from haoka.core import rows
from haoka.core.errors import Conflict
from haoka.kyc import domain
from haoka.kyc.models import ClaimStatus, IdentityClaim, IdentityClaimCounter


class ClaimChanged(Conflict):
    code = "kyc_claim_changed"
    message = "实名信息正在被同时修改，请重试"


Pair = tuple[str, str]  # (id_hash, carrier)


def _lock(pairs: set[Pair]) -> None:
    for id_hash, carrier in sorted(pairs):
        rows.insert_missing(
            IdentityClaimCounter,
            {"id_hash": id_hash, "carrier": carrier, "active": 0},
            conflict=("id_hash", "carrier"),
        )
        rows.select(
            IdentityClaimCounter, "t.id_hash = %s AND t.carrier = %s", [id_hash, carrier], lock=True
        )


def _bump(pair: Pair, by: int) -> bool:
    """Move the pair's counter by ``by`` (``active = active + by``) unless that leaves
    0..5 (its CHECK is the last guard). False when the move would have left the range."""
    id_hash, carrier = pair
    return (
        rows.change(
            IdentityClaimCounter,
            "active = active + %s",
            "id_hash = %s AND carrier = %s AND active + %s BETWEEN 0 AND %s",
            [by, id_hash, carrier, by, domain.LINE_LIMIT],
        )
        == 1
    )


def active_count(*, id_hash: str, carrier: str, excluding_ref: str = "") -> int:
    """ACTIVE claims of the pair, without locking (for the early check)."""
    where = "t.id_hash = %s AND t.carrier = %s AND t.status = %s"
    params = [id_hash, carrier, ClaimStatus.ACTIVE]
    if excluding_ref:
        where += " AND t.order_ref <> %s"
        params.append(excluding_ref)
    return rows.count(IdentityClaim, where, params)


def take(*, order_ref: str, id_hash: str, carrier: str, source: str, now: dt.datetime) -> bool:
    """Make ``order_ref`` hold one of the pair's slots. True when it does (already did),
    False when the pair is full. A claim of ``order_ref`` on another pair is released.
    Raises ClaimChanged when a concurrent re-check moved the claim meanwhile."""
    pair = (id_hash, carrier)
    fields = {
        "id_hash": id_hash,
        "carrier": carrier,
        "status": ClaimStatus.ACTIVE,
        "source": source,
        "created_at": now,
        "released_at": None,
        "release_reason": "",
    }
    with transaction.atomic(savepoint=False):
        seen = _claim_of(order_ref)
        if seen is None:
            # A first claim (the common case): lock and move the pair's counter in one
            # statement, then write the claim. Only this one counter is locked, so no lock
            # order is at stake; a concurrent first claim of the same reference meets the
            # UNIQUE order_ref and is refused whole.
            if not _take_slot(pair):
                return False
            claim = IdentityClaim(order_ref=order_ref, **fields)
            if rows.insert_new(claim, conflict=("order_ref",)) is None:
                raise ClaimChanged()
            return True
        old = (seen.id_hash, seen.carrier) if seen.status == ClaimStatus.ACTIVE else None
        _lock({pair} | ({old} if old else set()))
        claim = _claim_of(order_ref, lock=True)
        if claim is not None and claim.status == ClaimStatus.ACTIVE:
            if (claim.id_hash, claim.carrier) == pair:
                return True
            if (claim.id_hash, claim.carrier) != old:
                raise ClaimChanged()
            _mark_released(claim=claim, reason="重新实名，改用新的身份信息", now=now)
            _bump(old, -1)
        if not _bump(pair, +1):
            return False
        if claim is None:
            rows.insert(IdentityClaim(order_ref=order_ref, **fields))
        else:
            for name, value in fields.items():
                setattr(claim, name, value)
            rows.update(claim, list(fields))
    return True


def _take_slot(pair: Pair) -> bool:
    """Create the pair's counter at 1, or lock it and add one unless that passes the limit
    (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: PostgreSQL locks the row even when the
    WHERE refuses, so the caller holds the pair either way). False when the pair is full."""
    id_hash, carrier = pair
    counter = rows.table(IdentityClaimCounter)
    with rows.cursor() as cur:
        cur.execute(
            f"INSERT INTO {counter} (id_hash, carrier, active) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (id_hash, carrier) DO UPDATE SET active = {counter}.active + 1 "
            f"WHERE {counter}.active + 1 <= %s RETURNING active",
            [id_hash, carrier, domain.LINE_LIMIT],
        )
        return cur.fetchone() is not None


def _claim_of(order_ref: str, *, lock: bool = False) -> IdentityClaim | None:
    return rows.get(IdentityClaim, "t.order_ref = %s", [order_ref], lock=lock)


def _mark_released(*, claim: IdentityClaim, reason: str, now: dt.datetime) -> None:
    IdentityClaim.objects.filter(pk=claim.pk).update(
        status=ClaimStatus.RELEASED, released_at=now, release_reason=reason[:200]
    )


def release(*, order_ref: str, reason: str, now: dt.datetime) -> bool:
    """Free the slot of ``order_ref``. True when an ACTIVE claim was released; False when
    there was none (never taken, or released before): a repeat changes nothing."""
    with transaction.atomic(savepoint=False):
        seen = _claim_of(order_ref)
        if seen is None or seen.status != ClaimStatus.ACTIVE:
            return False
        pair = (seen.id_hash, seen.carrier)
        _lock({pair})
        claim = IdentityClaim.objects.select_for_update().get(pk=seen.pk)
        if claim.status != ClaimStatus.ACTIVE:
            return False
        if (claim.id_hash, claim.carrier) != pair:
            raise ClaimChanged()
        _mark_released(claim=claim, reason=reason, now=now)
        _bump(pair, -1)
    return True
