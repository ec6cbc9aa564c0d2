"""Re-verifying the owner of a line (补换卡 and other sensitive self-service): does a name and
ID number match the real-name record of the order that created the line?

Only keyed hashes are compared (in constant time); clear values are never read or logged.
"""

from __future__ import annotations

import datetime as dt
import hmac

from haoka.core import pii
from haoka.kyc import domain
from haoka.kyc.domain import KycStatus
from haoka.kyc.models import KycRecord
from haoka.kyc.queries import KycNotFound, KycNotPassed

__all__ = ["KycNotFound", "KycNotPassed", "identity_matches", "is_verified"]


def _passed_hashes(order_ref: str) -> tuple[str, str]:
    row = (
        KycRecord.objects.filter(order_ref=order_ref)
        .values_list("status", "id_hash", "name_hash")
        .first()
    )
    if row is None:
        raise KycNotFound(order_ref=order_ref)
    if row[0] != KycStatus.PASSED:
        raise KycNotPassed(order_ref=order_ref, status=row[0])
    return row[1], row[2]


def identity_matches(*, order_ref: str, name: str, id_number: str, today: dt.date) -> bool:
    """Whether ``name`` and ``id_number`` are those of the order's PASSED real-name check.

    Raises InvalidIdNumber, InvalidName (malformed input: it cannot match anyone),
    KycNotFound, KycNotPassed."""
    ident = domain.parse_id_number(id_number, today=today)
    clear_name = domain.parse_name(name)
    id_hash, name_hash = _passed_hashes(order_ref)
    id_ok = hmac.compare_digest(pii.lookup_hash(ident.value, purpose="id_number"), id_hash)
    name_ok = hmac.compare_digest(pii.lookup_hash(clear_name, purpose="name"), name_hash)
    return id_ok and name_ok


def is_verified(*, order_ref: str | None) -> bool:
    """Whether the order has a PASSED real-name check (False without an order)."""
    if not order_ref:
        return False
    return KycRecord.objects.filter(order_ref=order_ref, status=KycStatus.PASSED).exists()
