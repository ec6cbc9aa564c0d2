"""Online charging sessions (Nchf_ConvergedCharging): create, update, release, and the sweep
of sessions that outlived their holding time.

Every request of a line runs under that line's charging lock (``ledgerbook.lock``): reported
units are settled against what was reserved (committed, the rest released), then new quota is
reserved in the engine's draw order. A request's answer is stored by (session, sequence), so a
retransmission gets the first answer and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from haoka.charging import domain, ledgerbook, nchf, settlement, tariffs
from haoka.charging.domain import Draw, Rating, Source, Unit
from haoka.charging.models import ChargingSession, Exchange, Grant, RecordSource, SessionState
from haoka.core.errors import Conflict, NotFound
from haoka.lines.models import Line

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
        book = ledgerbook.lock(line_id=line_id, since=now, until=now)
        existing = ChargingSession.objects.filter(create_key=key).first()
        if existing is not None:
            return _replay(existing, request.sequence)
        session = ChargingSession.objects.create(
            ref=secrets.token_hex(12),
            line_id=line_id,
            caller_token_id=token_id,
            create_key=key,
            state=SessionState.OPEN,
            last_sequence=request.sequence,
            expires_at=now + HOLDING,
            created_at=now,
            updated_at=now,
        )
        body = _exchange(book, session, request, now=now, releasing=False)
        Exchange.objects.create(
            session=session,
            sequence=request.sequence,
            operation="create",
            status=201,
            response=body,
            created_at=now,
        )
    return Reply(201, body, session.ref)


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
    stale = ChargingSession.objects.filter(state=SessionState.OPEN, expires_at__lte=now)
    for ref, line_id in stale.order_by("expires_at", "id").values_list("ref", "line_id")[:limit]:
        with transaction.atomic():
            book = ledgerbook.lock(line_id=line_id, since=now, until=now)
            session = ChargingSession.objects.get(ref=ref)
            if session.state != SessionState.OPEN or session.expires_at > now:
                continue
            for grant in Grant.objects.filter(session=session):
                _release_grant(book, grant)
            session.state = SessionState.EXPIRED
            session.updated_at = now
            session.save(update_fields=["state", "updated_at"])
            ledgerbook.post(book, key=f"nchf-expire:{ref}", now=now)
            done += 1
    return done


# ---------------------------------------------------------------- the exchange


def _follow_up(*, ref, token_id, request, now, releasing: bool) -> Reply:
    session = ChargingSession.objects.filter(ref=ref, caller_token_id=token_id).first()
    if session is None:
        raise SessionNotFound(ref=ref[:40])
    with transaction.atomic():
        book = ledgerbook.lock(line_id=session.line_id, since=now, until=now)
        session = ChargingSession.objects.get(pk=session.pk)
        stored = Exchange.objects.filter(session=session, sequence=request.sequence).first()
        if stored is not None:
            return Reply(stored.status, stored.response or None, session.ref)
        if session.state != SessionState.OPEN:
            raise SessionNotFound(ref=ref[:40], state=session.state)
        if request.sequence <= session.last_sequence:
            raise InvalidSequence(last=session.last_sequence, got=request.sequence)
        body = _exchange(book, session, request, now=now, releasing=releasing)
        status = 204 if releasing else 200
        session.last_sequence = request.sequence
        session.updated_at = now
        session.expires_at = now + HOLDING
        if releasing:
            session.state = SessionState.RELEASED
        session.save(update_fields=["last_sequence", "updated_at", "expires_at", "state"])
        Exchange.objects.create(
            session=session,
            sequence=request.sequence,
            operation="release" if releasing else "update",
            status=status,
            response=body if not releasing else {},
            created_at=now,
        )
    return Reply(status, None if releasing else body, session.ref)


def _replay(session: ChargingSession, sequence: int) -> Reply:
    stored = Exchange.objects.filter(session=session, sequence=sequence).first()
    if stored is None:  # the same create key with another sequence number cannot happen
        raise InvalidSequence(got=sequence)
    return Reply(stored.status, stored.response, session.ref)


def _exchange(book, session, request, *, now, releasing: bool) -> dict:
    line = Line.objects.filter(pk=session.line_id).values("plan_code", "status", "msisdn")[0]
    tariff, _, _ = tariffs.plan_charging(plan_code=line["plan_code"])
    grants = {g.rating_group: g for g in Grant.objects.filter(session=session)}
    ledgerbook.ensure_buckets(book, ids=_bucket_ids(grants.values()))
    infos = []
    for usage in request.units:
        grant = grants.pop(usage.rating_group, None)
        _settle_usage(book, session, request, usage, grant, tariff=tariff, now=now)
        if releasing or usage.requested is None:
            continue
        if line["status"] != "ACTIVE":
            infos.append(_denied(usage))
            continue
        infos.append(_reserve(book, session, usage, tariff=tariff, msisdn=line["msisdn"], now=now))
    if releasing:
        for grant in grants.values():
            _release_grant(book, grant)
    book.memo = f"在线计费 {session.ref}"
    ledgerbook.post(book, key=f"nchf:{session.ref}:{request.sequence}", now=now)
    return nchf.response(request=request, now=now, units=infos)


def _bucket_ids(grants) -> set[int]:
    return {d[0] for g in grants for d in g.rating["draws"] if d[0] is not None}


def _denied(usage) -> dict:
    return nchf.unit_information(
        rating_group=usage.rating_group,
        unit=usage.unit,
        result_code="END_USER_SERVICE_DENIED",
        granted=None,
        final=True,
        redirect_url=None,
    )


def _reserve(book, session, usage, *, tariff, msisdn: str, now) -> dict:
    wanted = domain.rated_amount(unit=usage.unit, raw=usage.requested)
    rating = domain.rate(
        unit=usage.unit,
        amount=wanted,
        rating_group=usage.rating_group,
        at=now,
        buckets=book.engine_buckets(unit=usage.unit, at=now),
        tariff=tariff,
        wallet=book.wallet(),
    )
    rating = ledgerbook.buy_daily(book, rating, now=now)
    ledgerbook.draw(book, rating.draws, field_name="reserved")
    book.account.reserved_fen += rating.wallet_fen
    Grant.objects.create(
        session=session,
        rating_group=usage.rating_group,
        unit=usage.unit,
        granted=rating.granted,
        reserved_fen=rating.wallet_fen,
        rating=_dump(rating),
        created_at=now,
    )
    final = rating.shortfall > 0
    return nchf.unit_information(
        rating_group=usage.rating_group,
        unit=usage.unit,
        result_code="SUCCESS" if rating.granted else "QUOTA_LIMIT_REACHED",
        granted=rating.granted,
        final=final,
        redirect_url=_topup_url(msisdn) if final else None,
    )


def _settle_usage(book, session, request, usage, grant, *, tariff, now) -> None:
    """Commit the units reported for one rating group (against its grant, if any)."""
    used = domain.rated_amount(unit=usage.unit, raw=usage.used)
    overage = used
    if grant is not None:
        settled = settlement.settle(
            reserved=_load(grant.rating),
            used=used,
            unit=Unit(grant.unit),
            tariff=tariff,
            carry_at_commit=book.carry,
        )
        ledgerbook.commit_reserved(book, settled.draws)
        book.account.reserved_fen -= grant.reserved_fen
        book.debited_fen += settled.wallet_fen
        book.carry = settled.carry
        overage = settled.overage
        committed = [Draw(d.bucket_id, d.source, d.committed) for d in settled.draws]
        paid = (committed, settled.zero_rated, settled.wallet_units, settled.wallet_fen, 0)
        grant.delete()
    else:
        paid = ([], 0, 0, 0, 0)
    if overage:
        extra = domain.rate(
            unit=usage.unit,
            amount=overage,
            rating_group=usage.rating_group,
            at=now,
            buckets=book.engine_buckets(unit=usage.unit, at=now),
            tariff=tariff,
            wallet=book.wallet(),
        )
        extra = ledgerbook.buy_daily(book, extra, now=now)
        ledgerbook.draw(book, extra.draws, field_name="used")
        book.debited_fen += extra.wallet_fen
        book.carry = extra.carry
        paid = (
            [*paid[0], *extra.draws],
            paid[1] + extra.zero_rated,
            paid[2] + extra.wallet_units,
            paid[3] + extra.wallet_fen,
            extra.shortfall,
        )
    if used or usage.used:
        draws, free, wallet_units, wallet_fen, unpaid = paid
        ledgerbook.record(
            book,
            record_id=f"nchf:{session.ref}:{request.sequence}:{usage.rating_group}",
            source=RecordSource.ONLINE,
            unit=usage.unit,
            rating_group=usage.rating_group,
            raw=usage.used,
            rated=used,
            started_at=now,
            draws=[d for d in draws if d.amount],
            free=free,
            wallet_units=wallet_units,
            wallet_fen=wallet_fen,
            unpaid=unpaid,
            daily_fee_fen=0,
            now=now,
        )


def _release_grant(book, grant: Grant) -> None:
    rating = _load(grant.rating)
    ledgerbook.draw(book, rating.draws, field_name="reserved", sign=-1)
    book.account.reserved_fen -= grant.reserved_fen
    grant.delete()


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
