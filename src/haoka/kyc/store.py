"""The kyc domain's hand-written statements, on the checkout's path: the screening facts in
one round trip, the record written with its event, the 一证五号 counters and claims."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from haoka.core import rows
from haoka.kyc import domain
from haoka.kyc.domain import ClaimStatus, KycStatus
from haoka.kyc.models import (
    Blacklist,
    BlacklistKind,
    IdentityClaim,
    IdentityClaimCounter,
    KycAttempt,
    KycDocument,
    KycEvent,
    KycRecord,
)

# ------------------------------------------------------------------ records


def load_record(order_ref: str) -> KycRecord | None:
    """The order's check (one per order), or None."""
    return rows.get(KycRecord, "t.order_ref = %s", [order_ref])


def passed_records(order_refs: Sequence[str]) -> list[KycRecord]:
    """The PASSED checks of these orders, in one read."""
    return rows.select(
        KycRecord,
        f"{rows.among('t.order_ref', len(order_refs))} AND t.status = %s",
        [*order_refs, KycStatus.PASSED],
    )


def record_status(order_ref: str) -> str | None:
    """The status of the order's check, or None before any check."""
    return next(iter(rows.values(KycRecord, "status", "t.order_ref = %s", [order_ref])), None)


def save_record_with_event(record: KycRecord, event: KycEvent, *, fields: Sequence[str]) -> None:
    """Insert the order's record, or replace these fields of the existing one (its
    created_at stays), with its event: one statement on PostgreSQL."""
    rows.insert_with(record, [event], link="record", conflict=("order_ref",), update=list(fields))


def insert_attempt(attempt: KycAttempt) -> None:
    rows.insert_many([attempt])


def delete_documents(order_ref: str) -> None:
    rows.delete(KycDocument, "order_ref = %s", [order_ref])


# ------------------------------------------------------------------ screening


def screening_facts(
    *,
    id_hash: str,
    phone_hashes: Sequence[str],
    address_hash: str,
    order_ref: str,
    carrier: str,
    now: dt.datetime,
) -> tuple:
    """In one round trip: the pair's ACTIVE claims of other orders, whether the ID, one of
    the phones, the address is blacklisted, and the distinct other orders checked in the
    velocity window by ID, first phone and address."""
    phones = list(phone_hashes)
    claim, blacklist = rows.table(IdentityClaim), rows.table(Blacklist)
    # table names come from the models; every value is bound
    listed = f"EXISTS (SELECT 1 FROM {blacklist} b WHERE b.kind = %s AND "  # noqa: S608
    return rows.aggregate(
        KycAttempt,
        f"(SELECT COUNT(*) FROM {claim} c WHERE c.id_hash = %s AND c.carrier = %s "  # noqa: S608
        "AND c.status = %s AND c.order_ref <> %s), "
        f"{listed}b.value_hash = %s), "
        f"{listed}{rows.among('b.value_hash', len(phones))}), "
        f"{listed}b.value_hash = %s), "
        "COUNT(DISTINCT CASE WHEN t.id_hash = %s THEN t.order_ref END), "
        "COUNT(DISTINCT CASE WHEN t.phone_hash = %s THEN t.order_ref END), "
        "COUNT(DISTINCT CASE WHEN t.address_hash = %s THEN t.order_ref END)",
        "(t.id_hash = %s OR t.phone_hash = %s OR t.address_hash = %s) "
        "AND t.created_at > %s AND t.created_at <= %s AND t.order_ref <> %s",
        [
            id_hash,
            carrier,
            ClaimStatus.ACTIVE,
            order_ref,
            BlacklistKind.ID,
            id_hash,
            BlacklistKind.PHONE,
            *phones,
            BlacklistKind.ADDRESS,
            address_hash,
            *[id_hash, phones[0], address_hash] * 2,
            rows.prep(KycAttempt, "created_at", now - domain.VELOCITY_WINDOW),
            rows.prep(KycAttempt, "created_at", now),
            order_ref,
        ],
    )


# ------------------------------------------------------------------ 一证五号 claims


def lock_counter(*, id_hash: str, carrier: str) -> None:
    """Create the pair's counter at 0 if missing, and lock it."""
    rows.insert_missing(
        IdentityClaimCounter,
        {"id_hash": id_hash, "carrier": carrier, "active": 0},
        conflict=("id_hash", "carrier"),
    )
    rows.select(
        IdentityClaimCounter, "t.id_hash = %s AND t.carrier = %s", [id_hash, carrier], lock=True
    )


def move_counter(*, id_hash: str, carrier: str, by: int) -> bool:
    """``active = active + by`` unless that leaves 0..LINE_LIMIT; False when refused."""
    return (
        rows.change(
            IdentityClaimCounter,
            "active = active + %s",
            "id_hash = %s AND carrier = %s AND active + %s BETWEEN 0 AND %s",
            [by, id_hash, carrier, by, domain.LINE_LIMIT],
        )
        == 1
    )


def take_counter_slot(*, id_hash: str, carrier: str) -> bool:
    """Create the pair's counter at 1, or lock it and add one unless that passes the limit
    (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: PostgreSQL locks the row even when the
    WHERE refuses, so the caller holds the pair either way). False when the pair is full."""
    counter = rows.table(IdentityClaimCounter)
    with rows.cursor() as cur:
        cur.execute(
            f"INSERT INTO {counter} (id_hash, carrier, active) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (id_hash, carrier) DO UPDATE SET active = {counter}.active + 1 "
            f"WHERE {counter}.active + 1 <= %s RETURNING active",
            [id_hash, carrier, domain.LINE_LIMIT],
        )
        return cur.fetchone() is not None


def count_active_claims(*, id_hash: str, carrier: str, excluding_ref: str = "") -> int:
    where = "t.id_hash = %s AND t.carrier = %s AND t.status = %s"
    params = [id_hash, carrier, ClaimStatus.ACTIVE]
    if excluding_ref:
        where += " AND t.order_ref <> %s"
        params.append(excluding_ref)
    return rows.count(IdentityClaim, where, params)


def load_claim(order_ref: str, *, lock: bool = False) -> IdentityClaim | None:
    return rows.get(IdentityClaim, "t.order_ref = %s", [order_ref], lock=lock)


def insert_first_claim(claim: IdentityClaim) -> bool:
    """Insert the claim unless its order already has one: False then."""
    return rows.insert_new(claim, conflict=("order_ref",)) is not None


def insert_claim(claim: IdentityClaim) -> None:
    rows.insert(claim)


def update_claim(claim: IdentityClaim, fields: Sequence[str]) -> None:
    rows.update(claim, list(fields))
