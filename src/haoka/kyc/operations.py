"""Use cases of the real-name check: check an order's identity, staff review, release and
import 一证五号 claims. (Blacklist management is in :mod:`haoka.kyc.blacklists`.)

Bad input (a malformed ID number, name, phone, address or photo) raises a named
ValidationError and changes nothing, so the consumer can correct a typo. A business refusal
(age, region, line limit, blacklist, verification mismatch, missing photos) is a REJECTED
:class:`KycResult`, stored so staff see why. Clear names and ID numbers are never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import transaction

from haoka.core import audit, clock, pii
from haoka.core.errors import Conflict, ValidationError
from haoka.kyc import claims, domain, providers, screening, signals, store
from haoka.kyc.domain import Address, KycStatus, PlanTerms, Verdict
from haoka.kyc.models import (
    ClaimSource,
    KycAttempt,
    KycDocument,
    KycEvent,
    KycRecord,
)
from haoka.kyc.queries import (  # noqa: F401  (reads the order flow calls through here)
    KycNotFound,
    KycNotPassed,
    record_for,
    signer,
    verified_identities,
    verified_identity,
    verified_name,
)

log = structlog.get_logger(__name__)


class InvalidKycRequest(ValidationError):
    code = "invalid_kyc_request"
    message = "实名请求缺少订单号或运营商"


class ReviewNoteRequired(ValidationError):
    code = "review_note_required"
    message = "请填写审核意见"


class IdLineLimitReached(Conflict):
    code = "id_line_limit"
    message = "该身份证在此运营商名下已有 5 个号码，按一证五号规定不能再登记"


@dataclass(frozen=True)
class KycResult:
    status: KycStatus
    reason_code: str
    message: str
    name_masked: str
    id_masked: str
    birth_date: dt.date
    age: int
    id_hash: str


def id_hash(*, id_number: str) -> str:
    """The keyed hash other domains may store beside an ID number (purpose "id_number")."""
    return pii.lookup_hash(domain.normalize_id_number(id_number), purpose="id_number")


@dataclass(frozen=True)
class Screened:
    """An identity checked but not yet recorded: what :func:`screen_identity` found, for
    :func:`record_identity`. The clear values stay out of repr."""

    who: screening.Applicant
    verdict: Verdict
    order_ref: str
    user_id: int
    carrier: str
    plan: PlanTerms

    def __repr__(self) -> str:
        return f"Screened({self.order_ref}, {self.verdict.status})"


def check_identity(*, now: dt.datetime, **applicant: Any) -> KycResult:
    """Run the real-name checks of one order and store the outcome (a re-check of the same
    order replaces it): :func:`screen_identity` (``applicant`` are its arguments), then
    :func:`record_identity` in a transaction of its own. PASSED takes one of the ID's five
    slots at ``carrier``; FLAGGED takes one too and waits for :func:`review`; REJECTED says why in
    ``reason_code`` / ``message``. Raises what those two raise."""
    screened = screen_identity(now=now, **applicant)
    with transaction.atomic():
        return record_identity(screened, now=now)


def screen_identity(
    *,
    order_ref: str,
    user_id: int,
    carrier: str,
    name: str,
    id_number: str,
    phone: str,
    address: Address,
    plan: PlanTerms,
    photos: list[bytes] | None,
    now: dt.datetime,
) -> Screened:
    """The checks that only read (and the verifier, an outside call): run them before the
    caller opens its transaction. ``photos`` are, in order, the ID front, back and a selfie
    holding the ID. Raises InvalidKycRequest, InvalidIdNumber, InvalidName, InvalidMsisdn,
    InvalidAddress, InvalidPhoto, PhotoTooLarge, VerifierUnavailable (nothing is stored)."""
    if not order_ref or len(order_ref) > 40 or not carrier or len(carrier) > 16:
        raise InvalidKycRequest()
    who = screening.parse(
        name=name,
        id_number=id_number,
        phone=phone,
        address=address,
        photos=photos,
        today=clock.beijing_date(now),
    )
    verdict = screening.screen(
        who, order_ref=order_ref, carrier=carrier, address=address, plan=plan, now=now
    )
    return Screened(
        who=who, verdict=verdict, order_ref=order_ref, user_id=user_id, carrier=carrier, plan=plan
    )


def record_identity(screened: Screened, *, now: dt.datetime) -> KycResult:
    """Store a screened check, inside the caller's transaction: a PASSED or FLAGGED verdict
    takes its slot under 一证五号 (an order in review is in flight; a full ID turns it into
    REJECTED ``id_line_limit``); a rejection gives back a slot the order held. Raises
    ClaimChanged (a concurrent re-check)."""
    who, verdict, order_ref = screened.who, screened.verdict, screened.order_ref
    with transaction.atomic(savepoint=False):
        if domain.holds_slot(verdict.status):
            taken = claims.take(
                order_ref=order_ref,
                id_hash=who.id_hash,
                carrier=screened.carrier,
                source=ClaimSource.ORDER,
                now=now,
            )
            if not taken:
                verdict = domain.line_limit_verdict(
                    active=domain.LINE_LIMIT, carrier=screened.carrier
                )
        if not domain.holds_slot(verdict.status):
            claims.release(order_ref=order_ref, reason="重新实名未通过", now=now)
        _store(
            who,
            order_ref=order_ref,
            user_id=screened.user_id,
            carrier=screened.carrier,
            plan=screened.plan,
            now=now,
            verdict=verdict,
        )
    log.info(
        "kyc_checked",
        order_ref=order_ref,
        status=str(verdict.status),
        reason=verdict.reason_code,
    )
    return _result(verdict, name=who.name, id_number=who.ident.value, today=clock.beijing_date(now))


def _result(verdict: Verdict, *, name: str, id_number: str, today: dt.date) -> KycResult:
    ident = domain.parse_id_number(id_number, today=today)
    return KycResult(
        status=verdict.status,
        reason_code=verdict.reason_code,
        message=verdict.message,
        name_masked=pii.mask_name(name),
        id_masked=pii.mask_id_number(ident.value),
        birth_date=ident.birth_date,
        age=domain.age_on(birth_date=ident.birth_date, today=today),
        id_hash=pii.lookup_hash(ident.value, purpose="id_number"),
    )


def _store(who: screening.Applicant, *, order_ref, user_id, carrier, plan, verdict, now) -> None:
    previous = store.record_status(order_ref)
    from_status = previous or ""
    values = {
        "user_id": user_id,
        "carrier": carrier,
        "plan_code": plan.code,
        "name": who.name,
        "id_number": who.ident.value,
        "id_hash": who.id_hash,
        "name_hash": who.name_hash,
        "status": verdict.status,
        "reason_code": verdict.reason_code,
        "message": verdict.message,
        "reviewed_by": None,
        "reviewed_at": None,
        "review_note": "",
        "updated_at": now,
    }
    # One statement whether the order is checked for the first time or again (a re-check
    # replaces the record; its created_at stays), with the record's event on PostgreSQL.
    store.save_record_with_event(
        KycRecord(order_ref=order_ref, created_at=now, **values),
        KycEvent(
            from_status=from_status,
            to_status=verdict.status,
            reason_code=verdict.reason_code,
            actor=f"user:{user_id}",
            at=now,
        ),
        fields=list(values),
    )
    store.insert_attempt(
        KycAttempt(
            order_ref=order_ref,
            user_id=user_id,
            id_hash=who.id_hash,
            phone_hash=who.phone_hashes[0],
            address_hash=who.address_hash,
            status=verdict.status,
            reason_code=verdict.reason_code,
            created_at=now,
        )
    )
    # Photos are kept only while a decision needs them (passed, or waiting for review). They
    # are stored with a record only: a first check has none to remove.
    if previous is not None:
        store.delete_documents(order_ref)
    if verdict.status != KycStatus.REJECTED:
        _store_photos(order_ref=order_ref, photos=who.photos, now=now)


def _store_photos(*, order_ref: str, photos: Sequence[domain.Photo], now: dt.datetime) -> None:
    KycDocument.objects.bulk_create(
        KycDocument(
            order_ref=order_ref,
            kind=photo.kind,
            content=pii.encrypt(base64.b64encode(photo.content).decode("ascii")),
            sha256=photo.sha256,
            size=photo.size,
            content_type=photo.content_type,
            created_at=now,
        )
        for photo in photos
    )


# --- staff review ------------------------------------------------------------------------


def review(
    *, order_ref: str, approve: bool, staff_id: int, note: str, now: dt.datetime
) -> KycResult:
    """Decide a FLAGGED check. The check has held its 一证五号 slot since it was flagged:
    approving keeps it (a check flagged before slots were taken in review takes it now; a
    full ID turns that approval into REJECTED ``id_line_limit``); rejecting gives
    ``review_rejected`` and frees the slot. Sends :data:`signals.kyc_review_starting` first and
    :data:`signals.kyc_reviewed` last, inside the transaction.

    Raises ReviewNoteRequired, KycNotFound, KycNotUnderReview.
    """
    note = (note or "").strip()
    if not note:
        raise ReviewNoteRequired()
    with transaction.atomic():
        signals.kyc_review_starting.send(sender=KycRecord, order_ref=order_ref)
        record = KycRecord.objects.select_for_update().filter(order_ref=order_ref).first()
        if record is None:
            raise KycNotFound(order_ref=order_ref)
        target = KycStatus.PASSED if approve else KycStatus.REJECTED
        domain.REVIEW_MACHINE.check(current=record.status, target=target)
        verdict = _review_verdict(record=record, approve=approve, now=now)
        from_status = record.status
        KycRecord.objects.filter(pk=record.pk).update(
            status=verdict.status,
            reason_code=verdict.reason_code,
            message=verdict.message,
            reviewed_by_id=staff_id,
            reviewed_at=now,
            review_note=note[:300],
            updated_at=now,
        )
        KycEvent.objects.create(
            record=record,
            from_status=from_status,
            to_status=verdict.status,
            reason_code=verdict.reason_code,
            actor=f"staff:{staff_id}",
            note=note[:300],
            at=now,
        )
        audit.record(
            actor=f"staff:{staff_id}",
            action="kyc.reviewed",
            object_type="kyc_record",
            object_id=order_ref,
            data={"approve": approve, "status": verdict.status, "reason": verdict.reason_code},
        )
        signals.kyc_reviewed.send(
            sender=KycRecord,
            order_ref=order_ref,
            status=str(verdict.status),
            reason_code=verdict.reason_code,
            now=now,
        )
    return _result(
        verdict, name=record.name, id_number=record.id_number, today=clock.beijing_date(now)
    )


def _review_verdict(*, record: KycRecord, approve: bool, now: dt.datetime) -> Verdict:
    if not approve:
        claims.release(order_ref=record.order_ref, reason="人工审核未通过", now=now)
        return Verdict(KycStatus.REJECTED, domain.REVIEW_REJECTED_CODE, "人工审核未通过")
    # The claim taken when the check was flagged is kept (take() of a held pair changes
    # nothing), so an approval never counts the order twice.
    taken = claims.take(
        order_ref=record.order_ref,
        id_hash=record.id_hash,
        carrier=record.carrier,
        source=ClaimSource.ORDER,
        now=now,
    )
    if not taken:
        return domain.line_limit_verdict(active=domain.LINE_LIMIT, carrier=record.carrier)
    return Verdict(KycStatus.PASSED, "", "人工审核通过")


# --- 一证五号 claims ------------------------------------------------------------------------


def release_claim(*, order_ref: str, reason: str, now: dt.datetime, actor: str = "system") -> bool:
    """Free the line slot held by ``order_ref`` (order cancelled or rejected, line closed or
    ported out). True when a slot was freed; False when none was held (a repeat is harmless).
    A release by a person (``actor`` other than "system") is audited.
    """
    with transaction.atomic():
        released = claims.release(order_ref=order_ref, reason=reason or "释放", now=now)
        if released and actor != "system":
            audit.record(
                actor=actor,
                action="kyc.claim_released",
                object_type="identity_claim",
                object_id=order_ref,
                data={"reason": reason[:100]},
            )
    if released:
        log.info("kyc_claim_released", order_ref=order_ref)
    return released


def import_active_claim(
    *, id_number: str, carrier: str, reference: str, staff_id: int, now: dt.datetime
) -> bool:
    """Register a line that exists outside haoka's orders (migration, a carrier shop), so it
    counts toward the ID's five. ``reference`` is unique among claims (e.g. "LINE-<id>").
    True when registered, False when this reference already holds it.

    Raises InvalidIdNumber, InvalidKycRequest, IdLineLimitReached.
    """
    if not reference or len(reference) > 40 or not carrier or len(carrier) > 16:
        raise InvalidKycRequest("请填写运营商和登记编号")
    ident = domain.parse_id_number(id_number, today=clock.beijing_date(now))
    hashed = pii.lookup_hash(ident.value, purpose="id_number")
    with transaction.atomic():
        before = claims.active_count(id_hash=hashed, carrier=carrier)
        if not claims.take(
            order_ref=reference,
            id_hash=hashed,
            carrier=carrier,
            source=ClaimSource.IMPORT,
            now=now,
        ):
            raise IdLineLimitReached(carrier=carrier)
        created = claims.active_count(id_hash=hashed, carrier=carrier) > before
        if created:
            audit.record(
                actor=f"staff:{staff_id}",
                action="kyc.claim_imported",
                object_type="identity_claim",
                object_id=reference,
                data={"carrier": carrier, "id_hash": hashed[:16]},
            )
    return created


class IdentityMismatch(ValidationError):
    code = "kyc_identity_mismatch"
    message = "姓名与身份证号不一致"


class TooYoung(ValidationError):
    code = "kyc_too_young"
    message = "须年满 18 周岁"


@dataclass(frozen=True)
class Person:
    """A verified person (clear values: keep them encrypted, never log them)."""

    name: str
    id_number: str
    age: int

    def __repr__(self) -> str:
        return f"Person({pii.mask_name(self.name)}, {pii.mask_id_number(self.id_number)})"


def verify_person(*, name: str, id_number: str, today: dt.date, min_age: int = 18) -> Person:
    """Real-name verification of someone who is not buying a line (an agent applying): GB
    11643 check digit, birth date and area code, age, and the identity provider.
    Raises InvalidIdNumber, InvalidName, TooYoung, IdentityMismatch, VerifierUnavailable."""
    ident = domain.parse_id_number(id_number, today=today)
    clear_name = domain.parse_name(name)
    age = domain.age_on(birth_date=ident.birth_date, today=today)
    if age < min_age:
        raise TooYoung(f"须年满 {min_age} 周岁", min_age=min_age)
    answer = providers.verifier().verify(name=clear_name, id_number=ident.value)
    if not answer.match:
        raise IdentityMismatch()
    return Person(name=clear_name, id_number=ident.value, age=age)
