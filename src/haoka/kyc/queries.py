"""Reads of the kyc domain: masked views for pages, the verified identity for the contract
and the carrier, and staff access to ID photos."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field

from haoka.core import pii
from haoka.core.errors import Conflict, NotFound
from haoka.kyc import domain as kyc_domain
from haoka.kyc import store
from haoka.kyc.models import (
    ClaimStatus,
    IdentityClaim,
    KycAttempt,
    KycDocument,
    KycRecord,
    KycStatus,
)


class KycNotFound(NotFound):
    code = "kyc_not_found"
    message = "该订单尚未实名"


class KycNotPassed(Conflict):
    code = "kyc_not_passed"
    message = "该订单的实名认证尚未通过"


class DocumentNotFound(NotFound):
    code = "kyc_document_not_found"
    message = "照片不存在"


@dataclass(frozen=True)
class KycView:
    """What a page may show of a check: masked only."""

    order_ref: str
    status: str
    reason_code: str
    message: str
    name_masked: str
    id_masked: str
    carrier: str
    plan_code: str
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    documents: tuple[str, ...]


@dataclass(frozen=True)
class VerifiedIdentity:
    """The clear identity of a PASSED check, for the carrier order. Masked in repr."""

    name: str = field(repr=False)
    id_number: str = field(repr=False)

    def __repr__(self) -> str:
        return f"VerifiedIdentity({pii.mask_name(self.name)}, {pii.mask_id_number(self.id_number)})"


def record_for(*, order_ref: str) -> KycView | None:
    """The masked check of an order, or None before any check."""
    record = _record(order_ref)
    if record is None:
        return None
    kinds = (
        KycDocument.objects.filter(order_ref=order_ref)
        .order_by("kind", "id")
        .values_list("kind", flat=True)
    )
    return KycView(
        order_ref=record.order_ref,
        status=record.status,
        reason_code=record.reason_code,
        message=record.message,
        name_masked=pii.mask_name(record.name),
        id_masked=pii.mask_id_number(record.id_number),
        carrier=record.carrier,
        plan_code=record.plan_code,
        created_at=record.created_at,
        reviewed_at=record.reviewed_at,
        documents=tuple(kinds),
    )


def _record(order_ref: str) -> KycRecord | None:
    """The order's check (one per order: a re-check replaces it), written out."""
    return store.load_record(order_ref)


def _passed(order_ref: str) -> KycRecord:
    record = _record(order_ref)
    if record is None:
        raise KycNotFound(order_ref=order_ref)
    if record.status != KycStatus.PASSED:
        raise KycNotPassed(order_ref=order_ref, status=record.status)
    return record


@dataclass(frozen=True)
class Signer:
    """Who signs an order's contract: the clear verified name (the signature must equal it)
    and the masked identity the contract shows. Masked in repr."""

    name: str = field(repr=False)
    name_masked: str
    id_masked: str


def signer(*, order_ref: str) -> Signer:
    """Raises KycNotFound, KycNotPassed."""
    record = _passed(order_ref)
    return Signer(
        name=record.name,
        name_masked=pii.mask_name(record.name),
        id_masked=pii.mask_id_number(record.id_number),
    )


def verified_name(*, order_ref: str) -> str:
    """The clear verified name (the contract's signature must equal it).
    Raises KycNotFound, KycNotPassed."""
    return _passed(order_ref).name


def verified_identity(*, order_ref: str) -> VerifiedIdentity:
    """Name and ID number of a PASSED check, for the carrier order. Never log them.
    Raises KycNotFound, KycNotPassed."""
    record = _passed(order_ref)
    return VerifiedIdentity(name=record.name, id_number=record.id_number)


def verified_identities(*, order_refs: list[str]) -> dict[str, VerifiedIdentity]:
    """:func:`verified_identity` of several orders in one read, by order ref; an order
    without a PASSED check is left out. Never log them."""
    found = store.passed_records(order_refs)
    return {r.order_ref: VerifiedIdentity(name=r.name, id_number=r.id_number) for r in found}


def active_lines(*, id_hash: str, carrier: str) -> int:
    """Slots in use (lines and in-flight orders) of an ID at a carrier."""
    return IdentityClaim.objects.filter(
        id_hash=id_hash, carrier=carrier, status=ClaimStatus.ACTIVE
    ).count()


def document_content(*, order_ref: str, kind: str) -> tuple[str, bytes]:
    """(content type, clear bytes) of one ID photo, for staff review. Raises DocumentNotFound."""
    doc = KycDocument.objects.filter(order_ref=order_ref, kind=kind).first()
    if doc is None:
        raise DocumentNotFound(order_ref=order_ref, kind=kind)
    return doc.content_type, base64.b64decode(pii.decrypt(doc.content))


@dataclass(frozen=True)
class Fingerprint:
    """Keyed hashes of who passed an order's check (for fraud matching); never clear values."""

    id_hash: str
    phone_hash: str
    address_hash: str


def fingerprints(*, order_refs: list[str]) -> dict[str, Fingerprint]:
    """The hashes of each order's last passed check, by order ref, in one query (orders
    without a passed check are left out)."""
    hashes = (
        KycAttempt.objects.filter(order_ref__in=order_refs, status=KycStatus.PASSED)
        .order_by("created_at", "id")  # the last one wins below
        .values_list("order_ref", "id_hash", "phone_hash", "address_hash")
    )
    return {ref: Fingerprint(*fingerprint) for ref, *fingerprint in hashes}


def hash_identity(*, id_number: str = "", phone: str = "", address: dict | None = None) -> dict:
    """The same keyed hashes the checks store, for another domain's own records (an agent's
    ID, phone and address, to find self-dealing). Empty inputs give empty hashes."""
    out = {"id_hash": "", "phone_hash": "", "address_hash": ""}
    if id_number:
        out["id_hash"] = pii.lookup_hash(
            kyc_domain.normalize_id_number(id_number), purpose="id_number"
        )
    if phone:
        out["phone_hash"] = pii.lookup_hash(phone, purpose="phone")
    if address:
        normalized = kyc_domain.normalize_address(
            province=address.get("province", ""),
            city=address.get("city", ""),
            district=address.get("district", ""),
            detail=address.get("detail", ""),
        )
        out["address_hash"] = pii.lookup_hash(normalized, purpose="address")
    return out


def orders_at_address(*, order_refs: list[str], address_hash: str) -> int:
    """How many of these orders passed a check with this shipping address."""
    return (
        KycAttempt.objects.filter(
            order_ref__in=order_refs, address_hash=address_hash, status=KycStatus.PASSED
        )
        .values("order_ref")
        .distinct()
        .count()
    )


def review_queue_count() -> int:
    """Checks waiting for a staff review (待人工审核)."""
    return KycRecord.objects.filter(status=kyc_domain.KycStatus.FLAGGED).count()
