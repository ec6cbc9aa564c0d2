"""The read-only phase of a check: parse the input (check 1), then run checks 2-8 in order.
Nothing here writes; the verifier (an outside call) is asked before any lock is taken."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from haoka.core import pii, rows
from haoka.core.phone import parse_mainland_mobile
from haoka.kyc import claims, domain, providers
from haoka.kyc.domain import Address, PlanTerms, Verdict
from haoka.kyc.models import Blacklist, BlacklistKind, KycAttempt


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


def _blacklist_verdict(who: Applicant) -> Verdict | None:
    phones = list(who.phone_hashes)
    hits = set(
        rows.values(
            Blacklist,
            "kind",
            "(t.kind = %s AND t.value_hash = %s) OR (t.kind = %s AND "
            + rows.among("t.value_hash", len(phones))
            + ") OR (t.kind = %s AND t.value_hash = %s)",
            [
                BlacklistKind.ID,
                who.id_hash,
                BlacklistKind.PHONE,
                *phones,
                BlacklistKind.ADDRESS,
                who.address_hash,
            ],
        )
    )
    for kind in BlacklistKind.values:
        if kind in hits:
            return domain.BLACKLIST_VERDICTS[kind]
    return None


def _velocity_verdict(who: Applicant, *, order_ref: str, now: dt.datetime) -> Verdict | None:
    """Orders checked in the window with this ID, phone or address: one query, three counts."""
    phone = who.phone_hashes[0]
    since = rows.prep(KycAttempt, "created_at", now - domain.VELOCITY_WINDOW)
    until = rows.prep(KycAttempt, "created_at", now)
    by_id, by_phone, by_address = rows.aggregate(
        KycAttempt,
        "COUNT(DISTINCT CASE WHEN t.id_hash = %s THEN t.order_ref END), "
        "COUNT(DISTINCT CASE WHEN t.phone_hash = %s THEN t.order_ref END), "
        "COUNT(DISTINCT CASE WHEN t.address_hash = %s THEN t.order_ref END)",
        "(t.id_hash = %s OR t.phone_hash = %s OR t.address_hash = %s) "
        "AND t.created_at > %s AND t.created_at <= %s AND t.order_ref <> %s",
        [who.id_hash, phone, who.address_hash] * 2 + [since, until, order_ref],
    )
    return domain.velocity_verdict(
        orders_by_id=by_id, orders_by_phone=by_phone, orders_by_address=by_address
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
    verdict = verdict or domain.line_limit_verdict(
        active=claims.active_count(id_hash=who.id_hash, carrier=carrier, excluding_ref=order_ref),
        carrier=carrier,
    )
    verdict = verdict or _blacklist_verdict(who)
    if verdict:
        return verdict
    flag = _velocity_verdict(who, order_ref=order_ref, now=now)
    answer = providers.verifier().verify(name=who.name, id_number=who.ident.value)
    mismatch = None if answer.match else domain.IDENTITY_MISMATCH
    return domain.decide([mismatch, domain.photos_verdict(plan=plan, photos=who.photos), flag])
