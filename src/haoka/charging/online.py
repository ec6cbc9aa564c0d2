"""Online charging sessions (Nchf_ConvergedCharging): create, update, release, and the sweep
of sessions that outlived their holding time.

Every request of a line runs under that line's charging lock (its ChargingAccount row):
reported units are settled against what was reserved (committed, the rest released), then new
quota is reserved in the engine's draw order. A request's answer is stored by its content
(``nchf.digest``): the same request again, or one flagged ``retransmissionIndicator`` with a
number already answered, gets the first answer and changes nothing; a reused number with new
content (some SMFs send 0 on every request) is processed. The statements are
in ``online_store`` (this is the platform's hottest path).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import transaction

from haoka.charging import domain, family_pool, linebook, nchf, settlement, sponsored, tariffs
from haoka.charging import online_store as store
from haoka.charging.cycle import beijing_date
from haoka.charging.domain import SESSION_MACHINE, Draw, Rating, SessionState, Source, Unit
from haoka.core.errors import NotFound

if TYPE_CHECKING:  # annotations only: linebook -> alerts -> topups -> tasks imports this module
    from haoka.charging.linebook import Book

log = structlog.get_logger(__name__)

#: A session nobody reports on for this long is closed and its reservations released.
HOLDING = dt.timedelta(seconds=2 * nchf.VALIDITY_S)


class SessionNotFound(NotFound):
    code = "CHARGING_DATA_REF_NOT_FOUND"  # TS 32.291: unknown ChargingDataRef
    message = "计费会话不存在或已结束"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict | None
    ref: str


# ---------------------------------------------------------------- public operations


def create(*, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Open a session for the subscriber and grant what it asks; a one-time event (IEC, PEC)
    is charged at once and leaves no session open. A retransmitted create returns the first
    answer. Raises UnknownSubscriber."""
    line_id = tariffs.line_id_for(subscriber=request.subscriber or "")
    key = nchf.create_key(token_id=token_id, request=request)
    with transaction.atomic():
        book, (found,) = linebook.open_book_with(
            line_id, since=now, also=[store.read_session_by_key(key)]
        )
        existing = store.session_from(found)
        if existing is not None:  # the same content from the same caller: a retransmission
            stored = store.stored_answer(existing.id, digest=request.digest)
            return Reply(201, stored, existing.ref)
        ref = secrets.token_hex(12)
        state = SessionState.RELEASED if request.one_time else SessionState.OPEN
        book.writes.append(
            store.insert_session(
                ref=ref, line_id=line_id, token_id=token_id, create_key=key,
                sequence=request.sequence, consumer=request.consumer,
                consumer_function=request.consumer_function, notify_uri=request.notify_uri,
                expires_at=now + HOLDING, now=now, state=state.value,
            )
        )  # fmt: skip
        body = _exchange(book, ref, request, {}, now=now, releasing=False)
        book.writes.append(
            store.store_answer(
                ref=ref, sequence=request.sequence, operation="create", digest=request.digest,
                status=201, response=body, now=now,
            )
        )  # fmt: skip
        linebook.write(book, key=_key(ref, request), now=now)
    store.remember_owner(ref, line_id=line_id, token_id=token_id)  # committed: it exists
    return Reply(201, body, ref)


def update(*, ref: str, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Report used units and ask for more (always answered 200). Raises SessionNotFound."""
    return _follow_up(ref=ref, token_id=token_id, request=request, now=now, releasing=False)


def release(*, ref: str, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Report the last used units and end the session (its reservations go back; always
    answered 204). Raises SessionNotFound."""
    return _follow_up(ref=ref, token_id=token_id, request=request, now=now, releasing=True)


def expire_sessions(*, now: dt.datetime, limit: int = 500) -> int:
    """Close sessions that outlived their holding time and release what they held."""
    done = 0
    for ref, line_id in store.expired_sessions(now=now, limit=limit):
        with transaction.atomic():
            book, (found,) = linebook.open_book_with(
                line_id, since=now, also=[store.read_session_and_grants(ref)]
            )
            session, held, _ = store.session_and_grants_from(found)
            if session.state != SessionState.OPEN:
                continue
            SESSION_MACHINE.check(current=session.state, target=SessionState.EXPIRED)
            _load_held(book, held)
            for _unit, reserved_fen, rating in held.values():
                _release(book, _load(rating), reserved_fen)
            book.writes += store.drop_grants(ref, held)
            book.writes.append(
                store.touch_session(
                    ref=ref, sequence=session.last_sequence, state=SessionState.EXPIRED.value,
                    expires_at=now, now=now,
                )
            )  # fmt: skip
            linebook.write(book, key=f"nchf-expire:{ref}", now=now)
            done += 1
    return done


# ---------------------------------------------------------------- the exchange


def _key(ref: str, request: nchf.ChargingRequest) -> str:
    """What names one request of a session (its records, its wallet debit): the sequence
    number alone does not (some SMFs send 0 on every request)."""
    return f"nchf:{ref}:{request.sequence}:{request.digest[:12]}"


def _load_held(book: Book, held: dict) -> None:
    """Make sure the buckets reservations hold are in the book (one may have expired since)."""
    linebook.load_held(book, {d[0] for _, _, r in held.values() for d in r["draws"] if d[0]})


def _follow_up(*, ref, token_id, request, now, releasing: bool) -> Reply:
    known = store.session_owner(ref)
    if known is None or known[1] != token_id:
        raise SessionNotFound(ref=ref[:40])
    status, operation = (204, "release") if releasing else (200, "update")
    with transaction.atomic():
        # The session, its grants and any answer to this very request, now the line is ours.
        book, (found,) = linebook.open_book_with(
            known[0], since=now, also=[store.read_session_and_grants(ref, digest=request.digest)]
        )
        session, held, stored = store.session_and_grants_from(found)
        if session is None:
            raise SessionNotFound(ref=ref[:40])
        if stored is None and request.retransmission:
            stored = store.answer_to_sequence(
                session.id, sequence=request.sequence, operation=operation
            )
        if stored is not None:  # a retransmission: the first answer, nothing changes
            return Reply(status, None if releasing else stored, session.ref)
        if session.state != SessionState.OPEN:
            raise SessionNotFound(ref=ref[:40], state=session.state)
        if request.sequence <= session.last_sequence:  # new content: processed, not dropped
            log.info("nchf_sequence_reused", ref=ref, sequence=request.sequence,
                     last=session.last_sequence, operation=operation)  # fmt: skip
        state = SessionState.RELEASED if releasing else SessionState.OPEN
        if releasing:  # an update keeps the session OPEN: not a move
            SESSION_MACHINE.check(current=session.state, target=state)
        _load_held(book, held)
        body = _exchange(book, ref, request, held, now=now, releasing=releasing)
        book.writes.append(
            store.touch_session(
                ref=ref, sequence=max(request.sequence, session.last_sequence),
                state=state.value, expires_at=now + HOLDING, now=now,
            )
        )  # fmt: skip
        book.writes.append(
            store.store_answer(
                ref=ref, sequence=request.sequence, operation=operation,
                digest=request.digest, status=status, response={} if releasing else body,
                now=now,
            )
        )  # fmt: skip
        linebook.write(book, key=_key(ref, request), now=now)
    return Reply(status, None if releasing else body, ref)


def _exchange(book, ref, request, held: dict, *, now, releasing: bool) -> dict:
    """Settle what was used, reserve what is asked (statements queued on ``book``, written by
    the caller's ``linebook.write``); the ChargingDataResponse. A one-time event is charged
    at once (:func:`_event`); usage reported for offline charging is rated without quota."""
    tariff, _, _ = tariffs.plan_charging(plan_code=book.line.plan_code)
    known = tariffs.known_rating_groups()
    infos, dropped = [], set()
    for usage in request.units:
        grant = held.pop(usage.rating_group, None)
        if grant is not None:
            dropped.add(usage.rating_group)
        if grant is None and usage.rating_group not in known:
            infos.append(_unrated(book, ref, request, usage, now=now))
            continue
        if request.one_time:
            infos.append(_event(book, ref, request, usage, tariff=tariff, now=now))
            continue
        _settle_usage(book, ref, request, usage, grant, tariff=tariff, now=now)
        if releasing or usage.requested is None:
            continue
        if book.line.status != "ACTIVE":
            infos.append(nchf.unit_information(usage=usage, result_code=_DENIED, final=True))
        elif usage.offline:  # rated as reported: no quota to manage
            infos.append(nchf.unit_information(usage=usage, result_code=_NO_QUOTA))
        else:
            infos.append(_reserve(book, ref, request, usage, tariff=tariff, now=now))
            dropped.discard(usage.rating_group)  # replaced by the new grant
    if releasing:
        for rating_group, (_unit, reserved_fen, rating) in held.items():
            _release(book, _load(rating), reserved_fen)
            dropped.add(rating_group)
    book.writes += store.drop_grants(ref, dropped)
    return nchf.response(request=request, now=now, units=infos)


_DENIED = "END_USER_SERVICE_DENIED"
_NO_QUOTA = "QUOTA_MANAGEMENT_NOT_APPLICABLE"


def _unrated(book: Book, ref, request, usage, *, now) -> dict:
    """A rating group no tariff knows: RATING_FAILED, no quota; units it reports are kept as
    unpaid (a re-rate charges them once staff list the group)."""
    if usage.used:
        log.warning("nchf_rating_group_unknown", ref=ref, rating_group=usage.rating_group,
                    used=usage.used)  # fmt: skip
        used = domain.rated_amount(unit=usage.unit, raw=usage.used)
        _record(book, ref, request, usage, used, [], unpaid=used, now=now)
    return nchf.unit_information(usage=usage, result_code="RATING_FAILED")


def _event(book: Book, ref, request, usage, *, tariff, now) -> dict:
    """A one-time event: IEC debits the units asked for (an SMS) at once, all or nothing;
    PEC charges the units reported, as they were used."""
    if request.one_time == "PEC" or usage.requested is None:
        _settle_usage(book, ref, request, usage, None, tariff=tariff, now=now)
        return nchf.unit_information(usage=usage, result_code="SUCCESS")
    if book.line.status != "ACTIVE":
        return nchf.unit_information(usage=usage, result_code=_DENIED, final=True)
    amount = domain.rated_amount(unit=usage.unit, raw=usage.requested)
    rating = _rate(book, usage, amount, tariff=tariff, now=now)
    if rating.shortfall:
        return nchf.unit_information(usage=usage, result_code="QUOTA_LIMIT_REACHED", final=True)
    draws = _commit(book, rating)
    _record(book, ref, request, usage, amount, draws, raw=usage.requested,
            free=rating.zero_rated, wallet_units=rating.wallet_units,
            wallet_fen=rating.wallet_fen, now=now)  # fmt: skip
    return nchf.debited_information(usage=usage, amount=usage.requested)


def _rate(book: Book, usage, amount: int, *, tariff, now) -> Rating:
    def rate() -> Rating:
        return domain.rate(
            unit=usage.unit,
            amount=amount,
            rating_group=usage.rating_group,
            at=now,
            buckets=sponsored.payable_by(
                book.engine_buckets(usage.unit, now), sponsor_id=usage.sponsor_identity
            ),
            tariff=tariff,
            wallet=book.wallet(),
        )

    rating = rate()
    # 家庭共享: a member draws the main line's pool for what its own buckets leave unpaid (a
    # line in no family: one attribute read, no query).
    if usage.unit == Unit.BYTES and family_pool.is_member(book.line):
        rating = family_pool.with_pool(book, rating, rerate=rate, now=now)
    return linebook.buy_daily(book, rating, now=now)


def _reserve(book: Book, ref: str, request, usage, *, tariff, now) -> dict:
    amount = domain.rated_amount(unit=usage.unit, raw=usage.requested)
    if usage.unit == Unit.BYTES:  # 定向免流: a slice of a campaign of the group, if any
        sponsored.take_slices(book, rating_group=usage.rating_group, want=amount, now=now,
                              sponsor_id=usage.sponsor_identity)  # fmt: skip
    rating = _rate(book, usage, amount, tariff=tariff, now=now)
    for d in rating.draws:
        if d.amount:
            book.move(d.bucket_id, reserved=d.amount)
    book.reserved_fen += rating.wallet_fen
    book.writes.append(
        store.put_grant(
            ref=ref, rating_group=usage.rating_group, unit=str(usage.unit),
            granted=rating.granted, reserved_fen=rating.wallet_fen, rating=_dump(rating),
            now=now,
        )
    )  # fmt: skip
    final = rating.shortfall > 0
    grant = nchf.Grant(
        amount=rating.granted,
        validity_s=_validity(book, rating, now=now),
        final=final,
        redirect_url=_topup_url(book.line.msisdn) if final else None,
        policy=_final_unit_policy(),
    )
    return nchf.unit_information(
        usage=usage,
        result_code="SUCCESS" if rating.granted else "QUOTA_LIMIT_REACHED",
        grant=grant,
        triggers=request.triggers,
    )


def _validity(book: Book, rating: Rating, *, now) -> int:
    """Seconds a grant is valid: until the first bucket paying for it ends (a daily rental
    at Beijing midnight, a night window at 07:00), at most ``nchf.VALIDITY_S``."""
    paying = [book.buckets[d.bucket_id].engine() for d in rating.draws if d.amount]
    end = domain.paid_until(buckets=paying, at=now)
    if end is None:
        return nchf.VALIDITY_S
    return min(nchf.VALIDITY_S, math.ceil((end - now).total_seconds()))


def _commit(book: Book, rating: Rating) -> list[Draw]:
    """Spend a rating at once: its buckets' units used, its fen debited, its carry kept."""
    for d in rating.draws:
        if d.amount:
            book.move(d.bucket_id, used=d.amount)
    book.debited_fen += rating.wallet_fen
    book.carry = rating.carry
    return [d for d in rating.draws if d.amount]


def _settle_usage(book: Book, ref, request, usage, grant, *, tariff, now) -> None:
    """Commit the units reported for one rating group (against its grant, if any)."""
    used = domain.rated_amount(unit=usage.unit, raw=usage.used)
    draws, free, wallet_units, wallet_fen, overage = [], 0, 0, 0, used
    if grant is not None:
        unit, reserved_fen, rating = grant
        settled = settlement.settle(
            reserved=_load(rating), used=used, unit=Unit(unit), tariff=tariff,
            carry_at_commit=book.carry,
        )  # fmt: skip
        for d in settled.draws:
            if d.reserved:
                book.move(d.bucket_id, used=d.committed, reserved=-d.reserved)
        book.reserved_fen -= reserved_fen
        book.debited_fen += settled.wallet_fen
        book.carry = settled.carry
        draws = [Draw(d.bucket_id, d.source, d.committed) for d in settled.draws if d.committed]
        free, wallet_units, wallet_fen = (
            settled.zero_rated,
            settled.wallet_units,
            settled.wallet_fen,
        )
        overage = settled.overage
    unpaid = 0
    if overage:
        extra = _rate(book, usage, overage, tariff=tariff, now=now)
        draws += _commit(book, extra)
        free, wallet_units = free + extra.zero_rated, wallet_units + extra.wallet_units
        wallet_fen, unpaid = wallet_fen + extra.wallet_fen, extra.shortfall
    if usage.used or used:
        _record(book, ref, request, usage, used, draws, free=free, wallet_units=wallet_units,
                unpaid=unpaid, wallet_fen=wallet_fen, now=now)  # fmt: skip


def _record(book: Book, ref, request, usage, rated: int, draws, *, now, raw: int | None = None,
            free=0, wallet_units=0, unpaid=0, wallet_fen=0) -> None:  # fmt: skip
    """The usage record of one rating group's units in this request."""
    book.usage.append((
        f"{_key(ref, request)}:{usage.rating_group}", book.line.line_id, "ONLINE",
        str(usage.unit), usage.rating_group, usage.used if raw is None else raw, rated,
        sum(d.amount for d in draws), free, wallet_units, unpaid, wallet_fen, 0,
        json.dumps([[d.bucket_id, str(d.source), d.amount] for d in draws]),
        store.db_time(now), beijing_date(now), store.db_time(now),
    ))  # fmt: skip


def _release(book: Book, rating: Rating, reserved_fen: int) -> None:
    for d in rating.draws:
        if d.amount and d.bucket_id in book.buckets:
            book.move(d.bucket_id, reserved=-d.amount)
    book.reserved_fen -= reserved_fen


def _final_unit_policy() -> nchf.FinalUnitPolicy:
    return nchf.FinalUnitPolicy(
        action=settings.CHF_FINAL_UNIT_ACTION,
        rules=settings.CHF_RESTRICTION_RULES,
        filter_ids=settings.CHF_RESTRICTION_FILTER_IDS,
    )


def _topup_url(msisdn: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/lines/{msisdn}/topup"


# ---------------------------------------------------------------- (de)serializing a reservation


def _dump(rating: Rating) -> dict:
    return {
        "amount": rating.amount,
        "draws": [[d.bucket_id, str(d.source), d.amount] for d in rating.draws],
        "zero_rated": rating.zero_rated,
        "wallet_units": rating.wallet_units,
        "wallet_fen": rating.wallet_fen,
        "carry": str(rating.carry),
        "granted": rating.granted,
        "shortfall": rating.shortfall,
    }


def _load(data: dict) -> Rating:
    return Rating(
        amount=data["amount"],
        draws=tuple(Draw(d[0], Source(d[1]), d[2]) for d in data["draws"]),
        daily_purchase=None,
        zero_rated=data["zero_rated"],
        wallet_units=data["wallet_units"],
        wallet_fen=data["wallet_fen"],
        carry=Decimal(data["carry"]),
        granted=data["granted"],
        shortfall=data["shortfall"],
    )
