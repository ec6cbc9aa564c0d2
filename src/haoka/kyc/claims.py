"""一证五号 bookkeeping, used inside the transactions of :mod:`haoka.kyc.operations`.

Every change to the ACTIVE claims of an (ID, carrier) pair happens while that pair's
:class:`IdentityClaimCounter` row is locked (``SELECT ... FOR UPDATE``), so two concurrent
orders cannot both take the fifth slot; the counter's CHECK (active <= 5) is the last guard.
Counters are always locked in sorted order, so two transactions never wait on each other
in a cycle.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F

from haoka.core.errors import Conflict
from haoka.kyc import domain
from haoka.kyc.models import ClaimStatus, IdentityClaim, IdentityClaimCounter


class ClaimChanged(Conflict):
    code = "kyc_claim_changed"
    message = "实名信息正在被同时修改，请重试"


Pair = tuple[str, str]  # (id_hash, carrier)


def _lock(pairs: set[Pair]) -> None:
    for id_hash, carrier in sorted(pairs):
        IdentityClaimCounter.objects.get_or_create(id_hash=id_hash, carrier=carrier)
        list(
            IdentityClaimCounter.objects.select_for_update()
            .filter(id_hash=id_hash, carrier=carrier)
            .values_list("pk", flat=True)
        )


def _active(pair: Pair) -> int:
    id_hash, carrier = pair
    return IdentityClaim.objects.filter(
        id_hash=id_hash, carrier=carrier, status=ClaimStatus.ACTIVE
    ).count()


def _bump(pair: Pair, by: int) -> bool:
    """Move the pair's counter by ``by`` in the database (``active = active + by``), so its
    CHECK (0 <= active <= 5) refuses a sixth claim even if the count above it were wrong.
    False when the CHECK refused."""
    id_hash, carrier = pair
    try:
        with transaction.atomic():
            IdentityClaimCounter.objects.filter(id_hash=id_hash, carrier=carrier).update(
                active=F("active") + by
            )
    except IntegrityError:
        return False
    return True


def active_count(*, id_hash: str, carrier: str, excluding_ref: str = "") -> int:
    """ACTIVE claims of the pair, without locking (for the early check)."""
    rows = IdentityClaim.objects.filter(id_hash=id_hash, carrier=carrier, status=ClaimStatus.ACTIVE)
    if excluding_ref:
        rows = rows.exclude(order_ref=excluding_ref)
    return rows.count()


def take(*, order_ref: str, id_hash: str, carrier: str, source: str, now: dt.datetime) -> bool:
    """Make ``order_ref`` hold one of the pair's slots. True when it does (already did),
    False when the pair is full. A claim of ``order_ref`` on another pair is released.
    Raises ClaimChanged when a concurrent re-check moved the claim meanwhile."""
    pair = (id_hash, carrier)
    with transaction.atomic():
        seen = IdentityClaim.objects.filter(order_ref=order_ref).first()
        old = (seen.id_hash, seen.carrier) if seen and seen.status == ClaimStatus.ACTIVE else None
        _lock({pair} | ({old} if old else set()))
        claim = IdentityClaim.objects.select_for_update().filter(order_ref=order_ref).first()
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
            IdentityClaim.objects.create(order_ref=order_ref, **fields)
        else:
            IdentityClaim.objects.filter(pk=claim.pk).update(**fields)
    return True


def _mark_released(*, claim: IdentityClaim, reason: str, now: dt.datetime) -> None:
    IdentityClaim.objects.filter(pk=claim.pk).update(
        status=ClaimStatus.RELEASED, released_at=now, release_reason=reason[:200]
    )


def release(*, order_ref: str, reason: str, now: dt.datetime) -> bool:
    """Free the slot of ``order_ref``. True when an ACTIVE claim was released; False when
    there was none (never taken, or released before): a repeat changes nothing."""
    with transaction.atomic():
        seen = IdentityClaim.objects.filter(order_ref=order_ref).first()
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
