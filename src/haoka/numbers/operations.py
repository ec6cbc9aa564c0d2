"""Use cases of the number pool: reserve, release, expire holds, set tier prices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from haoka.accounts import queries as accounts_queries
from haoka.catalog import queries as catalog_queries
from haoka.core import audit
from haoka.core.errors import Conflict, IllegalTransition, NotFound, ValidationError
from haoka.core.phone import parse_mainland_mobile
from haoka.numbers import domain, store
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberEvent, PhoneNumber, TierCode, TierPrice
from haoka.numbers.queries import NumberNotFound

HOLD = dt.timedelta(minutes=domain.HOLD_MINUTES)


class NumberUnavailable(Conflict):
    code = "number_unavailable"
    message = "该号码已被他人选走或暂不可选"


class TooManyHolds(Conflict):
    code = "too_many_holds"
    message = f"同时最多预占 {domain.MAX_HOLDS_PER_USER} 个号码，请先释放或下单"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    message = "您没有预占这个号码"


@dataclass(frozen=True)
class Hold:
    msisdn: str
    reserved_until: dt.datetime


def _event(
    *, number_id: int, from_status: str, to_status: str, actor: str, reason: str, at: dt.datetime
):
    return NumberEvent(
        number_id=number_id,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        at=at,
    )


def reserve(*, user_id: int, msisdn: str, now: dt.datetime) -> Hold:
    """Hold a number for ``user_id`` for 15 minutes. Atomic: of any number of concurrent
    buyers exactly one wins. Re-reserving one's own hold returns it unchanged.

    Raises InvalidMsisdn, NumberNotFound, NumberUnavailable, TooManyHolds.
    """
    msisdn = parse_mainland_mobile(msisdn)
    with transaction.atomic():
        accounts_queries.lock_user(user_id=user_id)
        number = store.load_number(msisdn)
        if number is None:
            raise NumberNotFound(msisdn=msisdn)
        if (
            number.status == NumberState.RESERVED
            and number.reserved_by_id == user_id
            and number.reserved_until > now
        ):
            return Hold(msisdn=msisdn, reserved_until=number.reserved_until)
        held = store.count_live_holds(user_id=user_id, now=now)
        if held >= domain.MAX_HOLDS_PER_USER:
            raise TooManyHolds(held=held)
        if number.status == NumberState.RESERVED:  # maybe a lapsed hold: free it first
            _release_expired_one(number_id=number.pk, now=now)
        until = now + HOLD
        won = store.take_hold(number_id=number.pk, user_id=user_id, until=until, now=now)
        if not won:
            raise NumberUnavailable(msisdn=msisdn)
        store.insert_events(
            [
                _event(
                    number_id=number.pk,
                    from_status=NumberState.AVAILABLE,
                    to_status=NumberState.RESERVED,
                    actor=f"user:{user_id}",
                    reason="用户选号预占",
                    at=now,
                )
            ]
        )
    return Hold(msisdn=msisdn, reserved_until=until)


def _release_expired_one(*, number_id: int, now: dt.datetime) -> None:
    # Holds tied to an order are the order's to release (its timeout cancels it).
    released = PhoneNumber.objects.filter(
        pk=number_id, status=NumberState.RESERVED, reserved_until__lte=now, order_ref=""
    ).update(
        status=NumberState.AVAILABLE, reserved_by=None, reserved_until=None, status_changed_at=now
    )
    if released:
        NumberEvent.objects.bulk_create(
            [
                _event(
                    number_id=number_id,
                    from_status=NumberState.RESERVED,
                    to_status=NumberState.AVAILABLE,
                    actor="system",
                    reason="预占超时释放",
                    at=now,
                )
            ]
        )


def release(*, user_id: int, msisdn: str, now: dt.datetime) -> None:
    """Give back one's own hold. Raises InvalidMsisdn, HoldNotFound (also for others' holds)."""
    msisdn = parse_mainland_mobile(msisdn)
    with transaction.atomic():
        number = (
            PhoneNumber.objects.select_for_update()
            .filter(msisdn=msisdn, status=NumberState.RESERVED, reserved_by_id=user_id)
            .first()
        )
        if number is None:
            raise HoldNotFound(msisdn=msisdn)
        PhoneNumber.objects.filter(pk=number.pk).update(
            status=NumberState.AVAILABLE,
            reserved_by=None,
            reserved_until=None,
            status_changed_at=now,
        )
        NumberEvent.objects.bulk_create(
            [
                _event(
                    number_id=number.pk,
                    from_status=NumberState.RESERVED,
                    to_status=NumberState.AVAILABLE,
                    actor=f"user:{user_id}",
                    reason="用户释放",
                    at=now,
                )
            ]
        )


def release_expired_holds(*, now: dt.datetime, batch: int = 1000) -> int:
    """Return expired holds to the pool (worker task). Safe to run concurrently."""
    total = 0
    while True:
        ids = list(
            PhoneNumber.objects.filter(
                status=NumberState.RESERVED, reserved_until__lte=now, order_ref=""
            )
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        for number_id in ids:
            with transaction.atomic():
                _release_expired_one(number_id=number_id, now=now)
        total += len(ids)
        if len(ids) < batch:
            return total


def active_holds(*, user_id: int, now: dt.datetime) -> list[Hold]:
    rows = (
        PhoneNumber.objects.filter(
            reserved_by_id=user_id, status=NumberState.RESERVED, reserved_until__gt=now
        )
        .order_by("reserved_until", "id")
        .values_list("msisdn", "reserved_until")
    )
    return [Hold(msisdn=m, reserved_until=u) for m, u in rows]


def set_tier_price(
    *,
    carrier: str,
    tier: str,
    price_fen: int,
    min_monthly_fen: int,
    contract_months: int,
    actor: str,
) -> int:
    """Set a carrier's price for a tier and re-price its available numbers (not hand-priced
    ones). Returns how many numbers were re-priced. Raises UnknownCarrier, ValidationError."""
    catalog_queries.carrier_by_code(carrier)
    if tier not in TierCode.values:
        raise ValidationError("未知的靓号等级", field="tier", value=tier)
    if min(price_fen, min_monthly_fen, contract_months) < 0:
        raise ValidationError("价格、最低消费和合约期不能为负")
    with transaction.atomic():
        TierPrice.objects.update_or_create(
            carrier_id=carrier,
            tier=tier,
            defaults={
                "price_fen": price_fen,
                "min_monthly_fen": min_monthly_fen,
                "contract_months": contract_months,
            },
        )
        repriced = PhoneNumber.objects.filter(
            carrier_id=carrier, tier=tier, status=NumberState.AVAILABLE, price_locked=False
        ).update(
            price_fen=price_fen, min_monthly_fen=min_monthly_fen, contract_months=contract_months
        )
        audit.record(
            actor=actor,
            action="numbers.tier_price_set",
            object_type="tier_price",
            object_id=f"{carrier}:{tier}",
            data={
                "price_fen": price_fen,
                "min_monthly_fen": min_monthly_fen,
                "contract_months": contract_months,
                "repriced": repriced,
            },
        )
    return repriced


def ensure_default_tier_prices() -> int:
    """Create the default tier price rows for carriers that have none. Returns rows created."""
    created = 0
    for carrier in catalog_queries.carrier_codes():
        table = domain.DEFAULT_TIER_PRICES.get(carrier)
        if not table or TierPrice.objects.filter(carrier_id=carrier).exists():
            continue
        TierPrice.objects.bulk_create(
            [
                TierPrice(
                    carrier_id=carrier,
                    tier=t.value,
                    price_fen=p.price_fen,
                    min_monthly_fen=p.min_monthly_fen,
                    contract_months=p.contract_months,
                )
                for t, p in table.items()
            ]
        )
        created += len(table)
    return created


# ------------------------------------------------------------------ numbers in an order's hands


class NumberNotHeld(Conflict):
    code = "number_not_held"
    message = "请先预占该号码再下单"


def _move(
    *,
    msisdn: str,
    expect: tuple[str, ...],
    to: str,
    actor: str,
    reason: str,
    now: dt.datetime,
    locked: PhoneNumber | None = None,
    **fields,
) -> PhoneNumber:
    """Conditional status change with its event (``locked``: the number, when the caller has
    locked it already). Raises NumberNotFound, IllegalTransition."""
    number = locked or _locked(msisdn)
    if number is None:
        raise NumberNotFound(msisdn=msisdn)
    if number.status == to and all(getattr(number, k) == v for k, v in fields.items()):
        return number  # already there: a repeat is harmless
    if number.status not in expect:
        raise IllegalTransition(
            f"号码状态 {number.status} 不能变为 {to}", current=number.status, target=to
        )
    domain.check_transition(current=number.status, target=to)
    before = number.status
    number.status, number.status_changed_at = to, now
    for name, value in fields.items():
        setattr(number, name, value)
    store.update_number_with_event(  # one round trip on PostgreSQL
        number,
        ["status", "status_changed_at", *fields],
        NumberEvent(
            number_id=number.pk,
            from_status=before,
            to_status=to,
            actor=actor,
            reason=reason,
            at=now,
        ),
    )
    return number


def _locked(msisdn: str) -> PhoneNumber | None:
    """The number, locked (written out: every checkout step that touches a number asks)."""
    return store.load_number(msisdn, lock=True)


def hold_for_order(
    *, user_id: int, msisdn: str, order_ref: str, until: dt.datetime, now: dt.datetime
) -> PhoneNumber:
    """Tie the caller's live hold to an order and keep it until ``until``.
    Raises InvalidMsisdn, NumberNotFound, NumberNotHeld (not held by this user, or the hold
    expired)."""
    msisdn = parse_mainland_mobile(msisdn)
    with transaction.atomic(savepoint=False):  # part of the order's transaction
        held = _locked(msisdn)
        if held is None:
            raise NumberNotFound(msisdn=msisdn)
        if (
            held.status != NumberState.RESERVED
            or held.reserved_by_id != user_id
            or held.reserved_until is None
            or held.reserved_until <= now
            or (held.order_ref and held.order_ref != order_ref)
        ):
            raise NumberNotHeld(msisdn=msisdn)
        held.reserved_until = max(until, held.reserved_until)
        held.order_ref = order_ref
        store.update_number(held, ["reserved_until", "order_ref"])
    return held


def extend_order_hold(*, msisdn: str, order_ref: str, until: dt.datetime) -> None:
    """Keep an order's hold until ``until`` (e.g. while staff review its real-name check)."""
    store.extend_order_hold(msisdn=msisdn, order_ref=order_ref, until=until)


def assign_to_order(*, msisdn: str, order_ref: str, now: dt.datetime) -> None:
    """RESERVED (by this order) -> ASSIGNED, when the order goes to the carrier.
    Raises NumberNotFound, IllegalTransition, NumberUnavailable (held for another order)."""
    with transaction.atomic(savepoint=False):  # part of the order's transaction
        number = _locked(msisdn)
        if number is not None and number.order_ref not in ("", order_ref):
            raise NumberUnavailable(msisdn=msisdn)
        _move(
            msisdn=msisdn,
            expect=(NumberState.RESERVED,),
            to=NumberState.ASSIGNED,
            actor=f"order:{order_ref}",
            reason="订单提交运营商",
            now=now,
            locked=number,
            reserved_until=None,
            order_ref=order_ref,
        )


def put_in_use(*, msisdn: str, order_ref: str, now: dt.datetime) -> None:
    """ASSIGNED -> IN_USE on activation. Raises NumberNotFound, IllegalTransition."""
    with transaction.atomic():
        _move(
            msisdn=msisdn,
            expect=(NumberState.ASSIGNED,),
            to=NumberState.IN_USE,
            actor=f"order:{order_ref}",
            reason="开卡激活",
            now=now,
            reserved_by=None,
        )


def release_from_order(*, msisdn: str, order_ref: str, reason: str, now: dt.datetime) -> bool:
    """Give an order's number back to the pool (order cancelled or rejected). Only touches the
    number if this order holds it; returns whether it did."""
    with transaction.atomic():
        number = (
            PhoneNumber.objects.select_for_update()
            .filter(
                msisdn=msisdn,
                order_ref=order_ref,
                status__in=[NumberState.RESERVED, NumberState.ASSIGNED],
            )
            .first()
        )
        if number is None:
            return False
        PhoneNumber.objects.filter(pk=number.pk).update(
            status=NumberState.AVAILABLE,
            reserved_by=None,
            reserved_until=None,
            order_ref="",
            status_changed_at=now,
        )
        NumberEvent.objects.create(
            number_id=number.pk,
            from_status=number.status,
            to_status=NumberState.AVAILABLE,
            actor=f"order:{order_ref}",
            reason=reason[:200],
            at=now,
        )
    return True


def cool_down(*, msisdn: str, now: dt.datetime, actor: str = "system") -> dt.datetime:
    """IN_USE -> COOLING when its line closes; the number rests ``COOLING_DAYS`` (90) before it
    may be sold again. Returns when the rest ends. A repeat is harmless.
    Raises NumberNotFound (not a pool number), IllegalTransition."""
    with transaction.atomic():
        number = _move(
            msisdn=msisdn,
            expect=(NumberState.IN_USE,),
            to=NumberState.COOLING,
            actor=actor,
            reason=f"线路销户，冷冻 {domain.COOLING_DAYS} 天",
            now=now,
        )
    return number.status_changed_at + dt.timedelta(days=domain.COOLING_DAYS)


def release_cooled(*, now: dt.datetime, batch: int = 500) -> int:
    """COOLING -> AVAILABLE for numbers whose 90-day rest is over (worker task): they are for
    sale again, unpriced fields as they were. Safe to run concurrently."""
    cutoff = now - dt.timedelta(days=domain.COOLING_DAYS)
    due = PhoneNumber.objects.filter(status=NumberState.COOLING, status_changed_at__lte=cutoff)
    done = 0
    for msisdn in due.order_by("status_changed_at", "id").values_list("msisdn", flat=True)[:batch]:
        try:
            with transaction.atomic():
                _move(
                    msisdn=msisdn, expect=(NumberState.COOLING,), to=NumberState.AVAILABLE,
                    actor="system", reason=f"冷冻 {domain.COOLING_DAYS} 天期满，重新上架",
                    now=now, order_ref="", reserved_by=None, reserved_until=None,
                )  # fmt: skip
        except IllegalTransition:
            continue  # moved meanwhile by another worker
        done += 1
    return done
