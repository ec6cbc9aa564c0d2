"""The read-only phase of a check: parse the input (check 1), then run checks 2-8 in order.
Nothing here writes; the verifier (an outside call) is asked before any lock is taken."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from haoka.core import pii
from haoka.core.phone import parse_mainland_mobile
from haoka.kyc import domain, providers, store
from haoka.kyc.domain import Address, PlanTerms, Verdict
from haoka.kyc.models import BlacklistKind


@dataclass(frozen=True)
class Applicant:
    """Parsed input; the clear values stay out of repr (tracebacks, logs)."""

    ident: domain.IdNumber
    name: str
    age: int
    id_hash: str
    name_hash: str
    phone_hashes: tuple[str, str]  # applicant's phone, receiver's phone
    address_hash: str
    photos: tuple[domain.Photo, ...]

    def __repr__(self) -> str:
        return f"Applicant(id_hash={self.id_hash[:8]}…)"


def _address_hash(address: Address) -> str:
    normalized = domain.normalize_address(
        province=address.province,
        city=address.city,
        district=address.district,
        detail=address.detail,
    )
    return pii.lookup_hash(normalized, purpose="address")


def parse(
    *, name: str, id_number: str, phone: str, address: Address, photos, today: dt.date
) -> Applicant:
    """Check 1 and input shape. Raises InvalidIdNumber, InvalidName, InvalidMsisdn,
    InvalidAddress, InvalidPhoto, PhotoTooLarge."""
    ident = domain.parse_id_number(id_number, today=today)
    clear_name = domain.parse_name(name)
    domain.check_address(address)
    phones = (parse_mainland_mobile(phone), parse_mainland_mobile(address.phone))
    return Applicant(
        ident=ident,
        name=clear_name,
        age=domain.age_on(birth_date=ident.birth_date, today=today),
        id_hash=pii.lookup_hash(ident.value, purpose="id_number"),
        name_hash=pii.lookup_hash(clear_name, purpose="name"),
        phone_hashes=tuple(pii.lookup_hash(p, purpose="phone") for p in phones),
        address_hash=_address_hash(address),
        photos=tuple(domain.parse_photos(photos)),
    )


@dataclass(frozen=True)
class Facts:
    """What the database says about an applicant, read in one statement (checks 4-6)."""

    active_claims: int  # ACTIVE claims of the ID at the carrier, other orders'
    blacklisted: tuple[str, ...]  # BlacklistKind values that matched
    orders_by_id: int  # distinct other orders checked in the velocity window...
    orders_by_phone: int
    orders_by_address: int


def facts(who: Applicant, *, order_ref: str, carrier: str, now: dt.datetime) -> Facts:
    """The 一证五号 count, blacklist hits and velocity counts: every check runs on every
    request that gets this far, so they share one round trip."""
    row = store.screening_facts(
        id_hash=who.id_hash,
        phone_hashes=who.phone_hashes,
        address_hash=who.address_hash,
        order_ref=order_ref,
        carrier=carrier,
        now=now,
    )
    kinds = (BlacklistKind.ID, BlacklistKind.PHONE, BlacklistKind.ADDRESS)
    return Facts(
        active_claims=row[0],
        blacklisted=tuple(kind for kind, hit in zip(kinds, row[1:4], strict=True) if hit),
        orders_by_id=row[4],
        orders_by_phone=row[5],
        orders_by_address=row[6],
    )


def screen(
    who: Applicant,
    *,
    order_ref: str,
    carrier: str,
    address: Address,
    plan: PlanTerms,
    now: dt.datetime,
) -> Verdict:
    """Checks 2-8 in order; the first rejection decides. Reads only: the verifier (an
    outside call) is asked before any lock is taken, and only when nothing else refused."""
    verdict = domain.plan_verdict(age=who.age, plan=plan, address=address)
    if verdict:
        return verdict
    known = facts(who, order_ref=order_ref, carrier=carrier, now=now)
    verdict = domain.line_limit_verdict(active=known.active_claims, carrier=carrier)
    verdict = verdict or next((domain.BLACKLIST_VERDICTS[kind] for kind in known.blacklisted), None)
    if verdict:
        return verdict
    flag = domain.velocity_verdict(
        orders_by_id=known.orders_by_id,
        orders_by_phone=known.orders_by_phone,
        orders_by_address=known.orders_by_address,
    )
    answer = providers.verifier().verify(name=who.name, id_number=who.ident.value)
    mismatch = None if answer.match else domain.IDENTITY_MISMATCH
    return domain.decide([mismatch, domain.photos_verdict(plan=plan, photos=who.photos), flag])
