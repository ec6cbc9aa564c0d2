"""一证五号 bookkeeping, used inside the transactions of :mod:`haoka.kyc.operations`.

Every change to the ACTIVE claims of an (ID, carrier) pair happens while that pair's
:class:`IdentityClaimCounter` row is locked (``SELECT ... FOR UPDATE``), so two concurrent
orders cannot both take the fifth slot; the counter's CHECK (active <= 5) is the last guard.
Counters are always locked in sorted order, so two transactions never wait on each other
in a cycle.
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


def _active(pair: Pair) -> int:
    id_hash, carrier = pair
    return rows.count(
        IdentityClaim,
        "t.id_hash = %s AND t.carrier = %s AND t.status = %s",
        [id_hash, carrier, ClaimStatus.ACTIVE],
    )


def _bump(pair: Pair, by: int) -> bool:
    """Move the pair's counter by ``by`` (``active = active + by``) unless that leaves
    0..5; the counter's CHECK (0 <= active <= 5) is the last guard even if the count above it
    were wrong. False when the move would have left the range."""
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
    with transaction.atomic(savepoint=False):
        seen = _claim_of(order_ref)
        old = (seen.id_hash, seen.carrier) if seen and seen.status == ClaimStatus.ACTIVE else None
        _lock({pair} | ({old} if old else set()))
        claim = _claim_of(order_ref, lock=True)
        if claim is not None and claim.status == ClaimStatus.ACTIVE:
            if (claim.id_hash, claim.carrier) == pair:
                return True
            if (claim.id_hash, claim.carrier) != old:
                raise ClaimChanged()
            _mark_released(claim=claim, reason="重新实名，改用新的身份信息", now=now)
            _bump(old, -1)
        if _active(pair) >= domain.LINE_LIMIT or not _bump(pair, +1):
            return False
        fields = {
            "id_hash": id_hash,
            "carrier": carrier,
            "status": ClaimStatus.ACTIVE,
            "source": source,
            "created_at": now,
            "released_at": None,
            "release_reason": "",
        }
        if claim is None:
            rows.insert(IdentityClaim(order_ref=order_ref, **fields))
        else:
            for name, value in fields.items():
                setattr(claim, name, value)
            rows.update(claim, list(fields))
    return True


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
