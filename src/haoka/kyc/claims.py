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

from haoka.core.errors import Conflict
from haoka.kyc import store
from haoka.kyc.domain import CLAIM_MACHINE, ClaimStatus
from haoka.kyc.models import IdentityClaim


class ClaimChanged(Conflict):
    code = "kyc_claim_changed"
    message = "实名信息正在被同时修改，请重试"


Pair = tuple[str, str]  # (id_hash, carrier)


def _lock(pairs: set[Pair]) -> None:
    for id_hash, carrier in sorted(pairs):
        store.lock_counter(id_hash=id_hash, carrier=carrier)


def _bump(pair: Pair, by: int) -> bool:
    """Move the pair's counter by ``by`` (``active = active + by``) unless that leaves
    0..5 (its CHECK is the last guard). False when the move would have left the range."""
    id_hash, carrier = pair
    return store.move_counter(id_hash=id_hash, carrier=carrier, by=by)


def active_count(*, id_hash: str, carrier: str, excluding_ref: str = "") -> int:
    """ACTIVE claims of the pair, without locking (for the early check)."""
    return store.count_active_claims(id_hash=id_hash, carrier=carrier, excluding_ref=excluding_ref)


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
            if not store.insert_first_claim(claim):
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
            store.insert_claim(IdentityClaim(order_ref=order_ref, **fields))
        else:
            CLAIM_MACHINE.check(current=claim.status, target=ClaimStatus.ACTIVE)
            for name, value in fields.items():
                setattr(claim, name, value)
            store.update_claim(claim, list(fields))
    return True


def _take_slot(pair: Pair) -> bool:
    """Take one of the pair's slots, creating its counter if needed; the caller holds the
    pair either way. False when the pair is full."""
    id_hash, carrier = pair
    return store.take_counter_slot(id_hash=id_hash, carrier=carrier)


def _claim_of(order_ref: str, *, lock: bool = False) -> IdentityClaim | None:
    return store.load_claim(order_ref, lock=lock)


def _mark_released(*, claim: IdentityClaim, reason: str, now: dt.datetime) -> None:
    """ACTIVE -> RELEASED on the locked claim. Raises ClaimStateConflict."""
    CLAIM_MACHINE.check(current=claim.status, target=ClaimStatus.RELEASED)
    IdentityClaim.objects.filter(pk=claim.pk).update(
        status=ClaimStatus.RELEASED, released_at=now, release_reason=reason[:200]
    )
    claim.status = ClaimStatus.RELEASED


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
