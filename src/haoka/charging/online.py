"""Online charging sessions (Nchf_ConvergedCharging): create, update, release, and the sweep
of sessions that outlived their holding time.

Every request of a line runs under that line's charging lock (its ChargingAccount row):
reported units are settled against what was reserved (committed, the rest released), then new
quota is reserved in the engine's draw order. A request's answer is stored by (session,
sequence), so a retransmission gets the first answer and changes nothing. The statements are
in ``online_store`` (this is the platform's hottest path).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from haoka.charging import domain, linebook, nchf, settlement, tariffs
from haoka.charging import online_store as store
from haoka.charging.cycle import beijing_date
from haoka.charging.domain import SESSION_MACHINE, Draw, Rating, SessionState, Source, Unit
from haoka.core.errors import Conflict, NotFound

if TYPE_CHECKING:  # annotations only: linebook -> alerts -> topups -> tasks imports this module
    from haoka.charging.linebook import Book

#: A session nobody reports on for this long is closed and its reservations released.
HOLDING = dt.timedelta(seconds=2 * nchf.VALIDITY_S)


class SessionNotFound(NotFound):
    code = "CHARGING_DATA_REF_NOT_FOUND"  # TS 32.291: unknown ChargingDataRef
    message = "计费会话不存在或已结束"


class InvalidSequence(Conflict):
    code = "INVALID_SEQUENCE_NUMBER"
    status = 400
    message = "请求序号必须递增"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict | None
    ref: str


# ---------------------------------------------------------------- public operations


def create(*, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Open a session for the subscriber and grant what it asks. A retransmitted create
    returns the first answer. Raises UnknownSubscriber."""
    line_id = tariffs.line_id_for(subscriber=request.subscriber)
    key = nchf.create_key(token_id=token_id, request=request)
    with transaction.atomic():
        book, (found,) = linebook.open_book_with(
            line_id, since=now, also=[store.read_session_by_key(key)]
        )
        existing = store.session_from(found)
        if existing is not None:
            stored = store.stored_answer(existing.id, request.sequence)
            if stored is None:
                raise InvalidSequence(got=request.sequence)
            return Reply(stored[0], stored[1], existing.ref)
        ref = secrets.token_hex(12)
        book.writes.append(
            store.insert_session(
                ref=ref, line_id=line_id, token_id=token_id, create_key=key,
                sequence=request.sequence, notify_uri=request.notify_uri,
                expires_at=now + HOLDING, now=now,
            )
        )  # fmt: skip
        body = _exchange(book, ref, request, {}, now=now, releasing=False)
        book.writes.append(
            store.store_answer(
                ref=ref, sequence=request.sequence, operation="create", status=201,
                response=body, now=now,
            )
        )  # fmt: skip
        linebook.write(book, key=f"nchf:{ref}:{request.sequence}", now=now)
    store.remember_owner(ref, line_id=line_id, token_id=token_id)  # committed: it exists
    return Reply(201, body, ref)


def update(*, ref: str, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Report used units and ask for more. Raises SessionNotFound, InvalidSequence."""
    return _follow_up(ref=ref, token_id=token_id, request=request, now=now, releasing=False)


def release(*, ref: str, token_id: int, request: nchf.ChargingRequest, now: dt.datetime) -> Reply:
    """Report the last used units and end the session (its reservations go back).
    Raises SessionNotFound, InvalidSequence."""
    return _follow_up(ref=ref, token_id=token_id, request=request, now=now, releasing=True)


def expire_sessions(*, now: dt.datetime, limit: int = 500) -> int:
    """Close sessions that outlived their holding time and release what they held."""
    done = 0
    for ref, line_id in store.expired_sessions(now=now, limit=limit):
        with transaction.atomic():
            book, (found,) = linebook.open_book_with(
                line_id, since=now, also=[store.read_session_and_grants(ref)]
            )
            session, held = store.session_and_grants_from(found)
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


def _load_held(book: Book, held: dict) -> None:
    """Make sure the buckets reservations hold are in the book (one may have expired since)."""
    linebook.load_held(book, {d[0] for _, _, r in held.values() for d in r["draws"] if d[0]})


def _follow_up(*, ref, token_id, request, now, releasing: bool) -> Reply:
    known = store.session_owner(ref)
    if known is None or known[1] != token_id:
        raise SessionNotFound(ref=ref[:40])
    with transaction.atomic():
        # The session and its grants as they are now that the line is ours.
        book, (found,) = linebook.open_book_with(
            known[0], since=now, also=[store.read_session_and_grants(ref)]
        )
        session, held = store.session_and_grants_from(found)
        if session is None:
            raise SessionNotFound(ref=ref[:40])
        if request.sequence <= session.last_sequence:
            stored = store.stored_answer(session.id, request.sequence)
            if stored is not None:  # a retransmission: the first answer, nothing changes
                return Reply(stored[0], stored[1] or None, session.ref)
            raise InvalidSequence(last=session.last_sequence, got=request.sequence)
        if session.state != SessionState.OPEN:
            raise SessionNotFound(ref=ref[:40], state=session.state)
        state = SessionState.RELEASED if releasing else SessionState.OPEN
        if releasing:  # an update keeps the session OPEN: not a move
            SESSION_MACHINE.check(current=session.state, target=state)
        _load_held(book, held)
        body = _exchange(book, ref, request, held, now=now, releasing=releasing)
        status = 204 if releasing else 200
        book.writes.append(
            store.touch_session(
                ref=ref, sequence=request.sequence, state=state.value,
                expires_at=now + HOLDING, now=now,
            )
        )  # fmt: skip
        book.writes.append(
            store.store_answer(
                ref=ref, sequence=request.sequence,
                operation="release" if releasing else "update", status=status,
                response={} if releasing else body, now=now,
            )
        )  # fmt: skip
        linebook.write(book, key=f"nchf:{ref}:{request.sequence}", now=now)
    return Reply(status, None if releasing else body, ref)


def _exchange(book, ref, request, held: dict, *, now, releasing: bool) -> dict:
    """Settle what was used, reserve what is asked (statements queued on ``book``, written by
    the caller's ``linebook.write``); the ChargingDataResponse."""
    tariff, _, _ = tariffs.plan_charging(plan_code=book.line.plan_code)
    infos, dropped = [], set()
    for usage in request.units:
        grant = held.pop(usage.rating_group, None)
        if grant is not None:
            dropped.add(usage.rating_group)
        _settle_usage(book, ref, request, usage, grant, tariff=tariff, now=now)
        if releasing or usage.requested is None:
            continue
        if book.line.status != "ACTIVE":
            infos.append(_denied(usage))
            continue
        infos.append(_reserve(book, ref, usage, tariff=tariff, now=now))
        dropped.discard(usage.rating_group)  # replaced by the new grant
    if releasing:
        for rating_group, (_unit, reserved_fen, rating) in held.items():
            _release(book, _load(rating), reserved_fen)
            dropped.add(rating_group)
    book.writes += store.drop_grants(ref, dropped)
    return nchf.response(request=request, now=now, units=infos)


def _denied(usage) -> dict:
    return nchf.unit_information(
        rating_group=usage.rating_group, unit=usage.unit, result_code="END_USER_SERVICE_DENIED",
        granted=None, final=True, redirect_url=None,
    )  # fmt: skip


def _rate(book: Book, usage, amount: int, *, tariff, now) -> Rating:
    rating = domain.rate(
        unit=usage.unit,
        amount=amount,
        rating_group=usage.rating_group,
        at=now,
        buckets=book.engine_buckets(usage.unit, now),
        tariff=tariff,
        wallet=book.wallet(),
    )
    return linebook.buy_daily(book, rating, now=now)


def _reserve(book: Book, ref: str, usage, *, tariff, now) -> dict:
    rating = _rate(book, usage, domain.rated_amount(unit=usage.unit, raw=usage.requested),
                   tariff=tariff, now=now)  # fmt: skip
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
    return nchf.unit_information(
        rating_group=usage.rating_group,
        unit=usage.unit,
        result_code="SUCCESS" if rating.granted else "QUOTA_LIMIT_REACHED",
        granted=rating.granted,
        final=final,
        redirect_url=_topup_url(book.line.msisdn) if final else None,
    )


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
        for d in extra.draws:
            if d.amount:
                book.move(d.bucket_id, used=d.amount)
        book.debited_fen += extra.wallet_fen
        book.carry = extra.carry
        draws += [d for d in extra.draws if d.amount]
        free, wallet_units = free + extra.zero_rated, wallet_units + extra.wallet_units
        wallet_fen, unpaid = wallet_fen + extra.wallet_fen, extra.shortfall
    if usage.used or used:
        book.usage.append((
            f"nchf:{ref}:{request.sequence}:{usage.rating_group}", book.line.line_id, "ONLINE",
            str(usage.unit), usage.rating_group, usage.used, used, sum(d.amount for d in draws),
            free, wallet_units, unpaid, wallet_fen, 0,
            json.dumps([[d.bucket_id, str(d.source), d.amount] for d in draws]),
            store.db_time(now), beijing_date(now), store.db_time(now),
        ))  # fmt: skip


def _release(book: Book, rating: Rating, reserved_fen: int) -> None:
    for d in rating.draws:
        if d.amount and d.bucket_id in book.buckets:
            book.move(d.bucket_id, reserved=-d.amount)
    book.reserved_fen -= reserved_fen


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
