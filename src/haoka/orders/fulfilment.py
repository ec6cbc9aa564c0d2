"""Fulfilment use cases: payment received, hand-over to the carrier (with retries), carrier
events, activation, unwinding failed orders (number back, refund), timeouts, reconciliation.

Everything here is safe to run twice and from several workers at once: state lives in the
database, every outside call is idempotent at the other end (the order ref is the carrier's
idempotency key; refund ids are derived), and sweeps pick up whatever a killed worker left.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import structlog
from django.conf import settings
from django.db import transaction

from haoka.carriers import http as carrier_http
from haoka.carriers.adapter import (
    CarrierRefused,
    CarrierUnavailable,
    CircuitOpen,
    SubmitRequest,
    SubmitResult,
)
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.kyc import operations as kyc_operations
from haoka.kyc.queries import VerifiedIdentity
from haoka.lines import operations as line_operations
from haoka.logistics import operations as logistics_operations
from haoka.numbers import operations as number_operations
from haoka.orders import buyer_notices, domain, operations, store, tasks
from haoka.orders.domain import RefundState, State
from haoka.orders.models import Order, OrderEvent
from haoka.orders.transitions import move, note, together
from haoka.payments import operations as payment_operations
from haoka.payments import queries as payment_queries
from haoka.payments.domain import TAKEN_BACK
from haoka.payments.errors import PaymentNotFound

log = structlog.get_logger(__name__)
PURPOSE = "ORDER"
SWEEP_BATCH = 200
#: While a carrier's circuit is open, queued submissions wait this long (not counted as tries).
CIRCUIT_WAIT = dt.timedelta(seconds=5)
#: Orders one round of the submission pump leases at most, and the carrier calls it makes at
#: once (``HAOKA_SUBMIT_CALLS``; 1: one after another).
SUBMIT_BATCH = 50
SUBMIT_CALLS = settings.SUBMIT_CALLS


def _locked(ref: str) -> Order | None:
    return store.load_order(ref, lock=True)


def _wake_submissions(ref: str) -> None:
    """A paid order is due at the carrier now. The worker's pump (``pump_submissions``) polls
    for due orders; with ``SUBMIT_INLINE`` (the test suite, where tasks run in-process too)
    the submission is made as soon as the transaction commits."""
    if settings.SUBMIT_INLINE:
        transaction.on_commit(lambda: submit_to_carrier(ref=ref, now=clock.now(), first=True))


def _enqueue(task_name: str, ref: str) -> None:
    """Run a task after the current transaction commits (never for a rolled-back change)."""
    transaction.on_commit(lambda: getattr(tasks, task_name).enqueue(ref=ref))


# ------------------------------------------------------------------------------ payment


def payment_received(*, ref: str, payment_id: int, amount_fen: int, now: dt.datetime) -> None:
    """The gateway says ``payment_id`` paid for the order. SIGNED -> PAID and on to the carrier.
    Money that pays for nothing is given back: a payment for an order cancelled meanwhile (late
    notification) and a second paid attempt for an order already paid (the payer paid twice)."""
    with transaction.atomic():
        order = _locked(ref)
        if order is None:
            log.error("payment_for_unknown_order", order_ref=ref)
            return
        if order.state == State.SIGNED:
            with together(order):  # one write of the order for both steps
                move(
                    order=order,
                    to=State.PAID,
                    actor="gateway",
                    reason="支付成功",
                    now=now,
                    data={"amount_fen": amount_fen, "payment_id": payment_id},
                    payment_id=payment_id,
                )
                hand_to_carrier(order=order, actor="system", reason="已支付，提交运营商", now=now)
        elif order.state in domain.FAILED or order.payment_id not in (None, payment_id):
            why = "订单已关闭后收到付款" if order.state in domain.FAILED else "重复支付"
            note(
                order=order,
                actor="gateway",
                reason=f"{why}，安排退款",
                now=now,
                data={"payment_id": payment_id, "amount_fen": amount_fen},
            )
            _refund_due(order)


def hand_to_carrier(*, order: Order, actor: str, reason: str, now: dt.datetime) -> None:
    """PAID (or SIGNED with nothing due) -> SUBMITTED: the number is assigned to the order for
    good and the submission is due now. The carrier call itself is the worker's submission
    pump's to make (:func:`pump_submissions`)."""
    number_operations.assign_to_order(msisdn=order.msisdn, order_ref=order.ref, now=now)
    move(
        order=order,
        to=State.SUBMITTED,
        actor=actor,
        reason=reason,
        now=now,
        next_submit_at=now,
        expires_at=None,
    )
    _wake_submissions(order.ref)


# ------------------------------------------------------------------------------ carrier


def pump_submissions(
    *,
    now: dt.datetime,
    refs: list[str] | None = None,
    first: bool = False,
    limit: int | None = None,
) -> dict[str, str]:
    """Submit the orders that are due to their carrier: what the worker's submission pump
    runs in a loop (several workers may run it at once), and what a sweep runs too. Returns
    what happened to each order it took: "acked", "retry", "rejected" or "failed" (an
    unexpected error, logged; the lease makes the order due again later).

    One transaction leases up to ``limit`` (:data:`SUBMIT_BATCH`) due orders (rows another
    worker holds are skipped, not waited for): each attempt is counted and the next one is
    scheduled (``next_submit_at`` moved to the backoff) before any call is made, so a worker
    killed mid-call leaves the order to be taken up again, and the carrier's idempotency (the
    order ref) makes the second call harmless. Then one read of the verified identities, the calls
    (up to :data:`SUBMIT_CALLS` at once), and one transaction for the acknowledgements.

    ``refs`` limits the round to these orders; ``first``: their first attempt is due at
    once, whatever ``next_submit_at`` says (the inline submission after a payment)."""
    leased = _lease(now=now, refs=refs, first=first, limit=limit or SUBMIT_BATCH)
    if not leased:
        return {}
    identities = kyc_operations.verified_identities(order_refs=[o.ref for o in leased])
    outcomes = _calls([(order, _identity(order.ref, identities)) for order in leased])
    answered = list(zip(leased, outcomes, strict=True))
    # The carrier has these: recorded first, whatever happens to the others below.
    _record_acks(
        [(o, result) for o, result in answered if isinstance(result, SubmitResult)], now=now
    )
    done: dict[str, str] = {}
    for order, outcome in answered:
        if isinstance(outcome, SubmitResult):
            done[order.ref] = "acked"
            continue
        try:
            done[order.ref] = _not_acked(order=order, exc=outcome, now=now)
        except Exception:  # its lease makes it due again; the others are still handled
            log.exception("submission_failure_not_recorded", order_ref=order.ref)
            done[order.ref] = "failed"
    return done


def submit_to_carrier(*, ref: str, now: dt.datetime, first: bool = False) -> str:
    """One submission attempt of one order if it is due (:func:`pump_submissions` for one
    ref): "acked", "retry", "rejected", "failed", or "not_due"."""
    return pump_submissions(now=now, refs=[ref], first=first).get(ref, "not_due")


def _lease(*, now: dt.datetime, refs: list[str] | None, first: bool, limit: int) -> list[Order]:
    if refs is None and not store.any_due_submission(now=now, first=first):
        return []  # an idle round: one read, no transaction (SQLite's would take its write lock)
    with transaction.atomic():
        orders = store.lock_due_submissions(now=now, refs=refs, first=first, limit=limit)
        # One UPDATE per count of attempts made so far (nearly always one: first attempts).
        by_attempts: dict[int, list[Order]] = {}
        for order in orders:
            by_attempts.setdefault(order.submit_attempts, []).append(order)
        for made, group in by_attempts.items():
            retry_at = now + domain.submit_backoff(attempts=made + 1)
            for order in group:
                order.submit_attempts, order.next_submit_at = made + 1, retry_at
            store.set_submit_attempts([o.pk for o in group], attempts=made + 1, retry_at=retry_at)
    return orders


def _identity(ref: str, found: dict[str, VerifiedIdentity]) -> VerifiedIdentity | Exception:
    """The order's verified identity, or why there is none (KycNotFound, KycNotPassed): read
    here, so that the calling threads never touch the database."""
    if ref in found:
        return found[ref]
    try:
        return kyc_operations.verified_identity(order_ref=ref)  # raises with the reason
    except (kyc_operations.KycNotFound, kyc_operations.KycNotPassed) as exc:
        return exc


def _calls(batch: list[tuple[Order, VerifiedIdentity | Exception]]) -> list:
    """The carrier's answer (a SubmitResult) or the exception, for each order in turn."""
    if len(batch) == 1 or SUBMIT_CALLS <= 1:
        return [_call(order, identity) for order, identity in batch]
    return list(_call_pool().map(lambda pair: _call(*pair), batch))


def _call(order: Order, identity: VerifiedIdentity | Exception) -> SubmitResult | Exception:
    if isinstance(identity, Exception):
        return identity
    try:
        request = SubmitRequest(
            carrier=order.carrier_code,
            order_ref=order.ref,
            plan_code=order.plan_code,
            msisdn=order.msisdn,
            customer_name=identity.name,
            customer_id_number=identity.id_number,
            shipping_address=json.loads(order.shipping_address),
            callback_url=(
                f"{settings.PUBLIC_BASE_URL}/api/v1/callbacks/carriers/{order.carrier_code}"
            ),
        )
        return carrier_http.adapter().submit_order(request)
    except Exception as exc:  # each order's own outcome; one failure must not stop the batch
        return exc


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _call_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SUBMIT_CALLS, thread_name_prefix="haoka-submit")
        return _pool


def _not_acked(*, order: Order, exc: Exception, now: dt.datetime) -> str:
    attempts = order.submit_attempts
    if isinstance(exc, CircuitOpen):
        # Not an attempt: nothing was sent. Wait for the breaker's trial instead of growing
        # the backoff of every order queued behind it.
        Order.objects.filter(pk=order.pk, carrier_acked_at__isnull=True).update(
            submit_attempts=attempts - 1, next_submit_at=now + CIRCUIT_WAIT
        )
        return "retry"
    if isinstance(exc, CarrierUnavailable):
        with transaction.atomic():
            locked = _locked(order.ref)
            Order.objects.filter(pk=order.pk).update(last_error=f"{exc.code}: {exc.details}"[:300])
            note(
                order=locked,
                actor="worker",
                reason=f"提交运营商失败（第 {attempts} 次），稍后重试",
                now=now,
                data={"error": exc.code},
            )
        return "retry"
    if isinstance(exc, CarrierRefused):
        with transaction.atomic():
            locked = _locked(order.ref)
            if locked.state == State.SUBMITTED:
                move(
                    order=locked,
                    to=State.CARRIER_REJECTED,
                    actor=f"carrier:{locked.carrier_code}",
                    reason=f"运营商拒绝受理：{exc.details.get('error', '')}",
                    now=now,
                    failure_reason=str(exc.details)[:300],
                    next_submit_at=None,
                )
                unwind(order=locked, reason="运营商拒绝受理", now=now)
        return "rejected"
    log.error("submission_failed", order_ref=order.ref, exc_info=exc)
    return "failed"


def _record_acks(acked: list[tuple[Order, SubmitResult]], *, now: dt.datetime) -> None:
    """The carrier took these orders: one transaction for all of them. An order a carrier
    event (or another worker) has already marked acknowledged is left as it is."""
    if not acked:
        return
    by_id = {order.pk: (order, result) for order, result in acked}
    with transaction.atomic():
        taken = store.mark_acknowledged(
            {pk: result.carrier_order_id for pk, (_, result) in by_id.items()}, now=now
        )
        store.insert_events(
            [
                OrderEvent(
                    order_id=pk,
                    from_state=state,
                    to_state=state,
                    actor=f"carrier:{by_id[pk][0].carrier_code}",
                    reason="运营商已接收订单",
                    data={
                        "carrier_order_id": by_id[pk][1].carrier_order_id,
                        "attempts": by_id[pk][0].submit_attempts,
                    },
                    at=now,
                )
                for pk, state in taken
            ]
        )


def apply_carrier_event(*, carrier: str, event: dict, now: dt.datetime) -> None:
    """A verified, first-seen carrier event (late, repeated or out of order is fine)."""
    ref, event_type = str(event.get("order_id", "")), str(event.get("type", ""))
    with transaction.atomic():
        order = _locked(ref)
        if order is None or order.carrier_code != carrier:
            log.warning(
                "carrier_event_for_unknown_order", carrier=carrier, event=event_type, order_ref=ref
            )
            return
        plan = domain.plan_carrier_event(current=order.state, event_type=event_type)
        actor = f"carrier:{carrier}"
        fields = _event_fields(order=order, event=event, now=now)
        if fields:
            for name, value in fields.items():
                setattr(order, name, value)
            order.save(update_fields=list(fields))
        if event_type == "order.shipped" and event.get("tracking_no"):
            logistics_operations.record_shipment(
                order_ref=order.ref,
                courier=str(event.get("courier", "")),
                tracking_no=str(event["tracking_no"]),
                now=now,
            )
        if plan.anomaly:
            note(
                order=order,
                actor=actor,
                reason=f"异常事件：{plan.anomaly}",
                now=now,
                data={"event_id": event.get("event_id"), "type": event_type},
            )
        for step in plan.steps:
            implied = step != plan.steps[-1]
            reason = f"{domain.LABELS[step]}（由后续事件推定）" if implied else _event_reason(event)
            if step == State.ACTIVATED:
                _finish_activation_locked(order=order, actor=actor, reason=reason, now=now)
                continue
            move(
                order=order,
                to=step,
                actor=actor,
                reason=reason,
                now=now,
                data={"event_id": event.get("event_id"), "type": event_type},
            )
            if step == State.CARRIER_REJECTED:
                unwind(order=order, reason=reason, now=now)
        if plan.steps and plan.steps[-1] in (State.SHIPPED, State.DELIVERED):
            # Only the step the event names: a step it implies happened long ago.
            buyer_notices.moved(order=order, now=now)
        if plan.merge_only and not plan.anomaly:
            note(
                order=order,
                actor=actor,
                reason=f"迟到的事件 {event_type}，仅补充信息",
                now=now,
                data={"event_id": event.get("event_id")},
            )


def _event_fields(*, order: Order, event: dict, now: dt.datetime) -> dict:
    fields: dict = {}
    if order.carrier_acked_at is None:
        fields["carrier_acked_at"] = now  # any event proves the carrier has the order
        fields["next_submit_at"] = None
    for key, name in (
        ("iccid", "iccid"),
        ("imsi", "imsi"),
        ("carrier_order_id", "carrier_order_id"),
        ("courier", "courier"),
        ("tracking_no", "tracking_no"),
    ):
        value = str(event.get(key) or "")
        if value and not getattr(order, name):
            fields[name] = value[: Order._meta.get_field(name).max_length]
    if event.get("type") == "order.rejected" and not order.failure_reason:
        fields["failure_reason"] = str(event.get("reason", ""))[:300]
    return fields


def _event_reason(event: dict) -> str:
    return {
        "order.accepted": "运营商已开卡",
        "order.rejected": f"运营商拒绝：{event.get('reason', '')}",
        "order.shipped": f"已发货：{event.get('courier', '')} {event.get('tracking_no', '')}",
        "order.delivered": "快递已签收",
        "order.activated": "运营商确认已激活",
    }.get(str(event.get("type")), str(event.get("type")))


def fetch_card_details(*, ref: str, now: dt.datetime) -> Order:
    """Fill in the card's ICCID and IMSI from the carrier when the callback that carried them
    was lost. Raises CarrierUnavailable, CarrierRefused."""
    order = Order.objects.get(ref=ref)
    remote = carrier_http.adapter().query_order(carrier=order.carrier_code, order_ref=ref)
    if remote is None or not remote.iccid:
        return order
    with transaction.atomic():
        order = _locked(ref)
        fields = _event_fields(
            order=order, event={"iccid": remote.iccid, "imsi": remote.imsi}, now=now
        )
        if fields:
            for name, value in fields.items():
                setattr(order, name, value)
            order.save(update_fields=list(fields))
            note(order=order, actor="system", reason="已向运营商补查卡号信息", now=now)
    return order


def carrier_activate(*, order: Order, iccid_last6: str) -> None:
    """Ask the carrier to activate (idempotent there). Raises CarrierUnavailable, CarrierRefused."""
    carrier_http.adapter().activate(
        carrier=order.carrier_code, order_ref=order.ref, iccid_last6=iccid_last6
    )


def finish_activation(*, ref: str, actor: str, now: dt.datetime) -> Order:
    with transaction.atomic():
        order = _locked(ref)
        if order.state != State.ACTIVATED:
            _finish_activation_locked(order=order, actor=actor, reason="用户激活成功", now=now)
    return order


def _finish_activation_locked(*, order: Order, actor: str, reason: str, now: dt.datetime) -> None:
    """DELIVERED -> ACTIVATED: the number is in use, the line is opened with the first top-up
    in its wallet, and the number's price is recognised as revenue."""
    move(order=order, to=State.ACTIVATED, actor=actor, reason=reason, now=now, activated_at=now)
    buyer_notices.moved(order=order, now=now)
    number_operations.put_in_use(msisdn=order.msisdn, order_ref=order.ref, now=now)
    line_operations.open_from_order(
        order_ref=order.ref,
        user_id=order.user_id,
        msisdn=order.msisdn,
        carrier_code=order.carrier_code,
        plan_code=order.plan_code,
        iccid=order.iccid,
        imsi=order.imsi,
        opening_balance_fen=order.first_topup_fen,
        contract_months=order.contract_months,
        now=now,
    )
    if order.number_price_fen > 0:
        ledger.post(
            legs=[
                ledger.Leg(chart.CUSTOMER_PREPAYMENTS, order.number_price_fen),
                ledger.Leg(chart.NUMBER_SALES, -order.number_price_fen),
            ],
            kind="order.number_revenue",
            memo=f"订单 {order.ref} 号码费",
            key=f"order.number_revenue:{order.ref}",
        )


# ------------------------------------------------------------------------------ unwinding


def unwind(*, order: Order, reason: str, now: dt.datetime) -> None:
    """After a failed exit (cancelled, rejected): the number goes back to the pool, the
    identity claim (一证五号) is freed, and a refund is scheduled if anything was paid."""
    number_operations.release_from_order(
        msisdn=order.msisdn, order_ref=order.ref, reason=reason, now=now
    )
    kyc_operations.release_claim(order_ref=order.ref, reason=reason[:100], now=now)
    if order.amount_due_fen > 0:
        _refund_due(order)


def _refund_due(order: Order) -> None:
    """Mark the (locked) order's refund PENDING, unless it already is, and queue it.
    Raises RefundStateConflict."""
    if order.refund_state != RefundState.PENDING:
        domain.REFUND_MACHINE.check(current=order.refund_state, target=RefundState.PENDING)
        order.refund_state = RefundState.PENDING
        Order.objects.filter(pk=order.pk).update(refund_state=RefundState.PENDING)
    _enqueue("refund_order", order.ref)


def refund_order(*, ref: str, now: dt.datetime) -> str:
    """Give back every payment that pays for nothing: all of them when the order failed, any
    paid attempt but the one that paid for it otherwise; an unpaid attempt of a failed order is
    closed at the gateway. Idempotent: the payments domain derives each refund's id from the
    payment and the reason, so a retry never pays back twice."""
    order = Order.objects.filter(ref=ref).first()
    if order is None or order.refund_state != RefundState.PENDING:
        return "nothing"
    failed = order.state in domain.FAILED
    paid = payment_queries.paid_attempt_ids(purpose=PURPOSE, reference=ref)
    keep = None if failed else (order.payment_id or (paid[0] if paid else None))
    outcomes = []
    for payment_id in [p for p in paid if p != keep]:
        why = f"订单 {ref} 未成功开卡" if failed else f"订单 {ref} 重复支付"
        result = payment_operations.refund(
            purpose=PURPOSE,
            reference=ref,
            amount_fen=None,
            reason=why,
            now=now,
            payment_id=payment_id,
        )
        outcomes.append(str(result.status))
    if failed and not paid:
        try:
            result = payment_operations.refund(
                purpose=PURPOSE, reference=ref, amount_fen=None, reason=f"订单 {ref} 未成功开卡",
                now=now,
            )  # fmt: skip
            outcomes.append(str(result.status))
        except PaymentNotFound:
            pass  # no payment was ever started: nothing to give back
    outcome = ",".join(outcomes) or "NONE"
    with transaction.atomic():
        order = _locked(ref)
        settled = RefundState.DONE if outcome != "NONE" else RefundState.NONE
        domain.REFUND_MACHINE.check(current=order.refund_state, target=settled)
        Order.objects.filter(pk=order.pk).update(refund_state=settled)
        note(
            order=order,
            actor="system",
            reason=f"退款处理完成（{outcome}）",
            now=now,
            data={"refund": outcome},
        )
    return "refunded"


#: Why the gateway's refund of an order payment could not be matched (then parked for staff).
ORDER_UNKNOWN, ORDER_IN_PROGRESS = "order_not_found", "order_in_progress"
ORDER_FULFILLED = "order_fulfilled"


def refund_made_at_gateway(
    *, ref: str, payment_id: int, refund_id: str, amount_fen: int, now: dt.datetime
) -> str:
    """The gateway refunded ``payment_id`` of the order without haoka asking (its merchant
    console). Runs inside the payments' transaction (signal ``refund_unsolicited``), the
    payment locked. The money of a payment that pays for nothing (the order failed, or
    another attempt paid for it) is still the customer's in customer prepayments, as
    :func:`refund_order` would give it back: it is matched (``TAKEN_BACK``), and
    ``refund_order`` later finds that much less to refund. An order under way or fulfilled
    keeps what it bought (the number, the first top-up in the wallet): ORDER_IN_PROGRESS
    or ORDER_FULFILLED, parked for staff."""
    order = _locked(ref)
    if order is None:
        return ORDER_UNKNOWN
    if order.state not in domain.FAILED and order.payment_id in (None, payment_id):
        return ORDER_FULFILLED if order.state == State.ACTIVATED else ORDER_IN_PROGRESS
    note(
        order=order,
        actor="gateway",
        reason=f"支付渠道已直接退款 {refund_id}",
        now=now,
        data={"payment_id": payment_id, "refund_id": refund_id, "amount_fen": amount_fen},
    )
    return TAKEN_BACK


# ------------------------------------------------------------------------------ sweeps


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """What the worker runs every few seconds: due submissions, pending refunds, timeouts,
    stuck orders. Each piece is bounded and idempotent."""
    now = now or clock.now()
    done = {"submitted": 0, "refunded": 0, "expired": 0, "reconciled": 0}
    submitted = pump_submissions(now=now)
    done["submitted"] = sum(outcome == "acked" for outcome in submitted.values())
    refunds = Order.objects.filter(refund_state=RefundState.PENDING).order_by("id")
    for ref in refunds.values_list("ref", flat=True)[:SWEEP_BATCH]:
        try:
            done["refunded"] += refund_order(ref=ref, now=now) == "refunded"
        except Exception:  # the gateway may be down: the next sweep retries
            log.exception("refund_failed", order_ref=ref)
    done["expired"] = expire_orders(now=now)
    done["reconciled"] = reconcile_stuck(now=now)
    return done


def expire_orders(*, now: dt.datetime) -> int:
    """Cancel orders nobody paid in time (and reviews that never came)."""
    count = 0
    stale = Order.objects.filter(
        state__in=[*domain.UNPAID, State.KYC_REVIEW], expires_at__lte=now
    ).order_by("expires_at", "id")
    for ref in stale.values_list("ref", flat=True)[:SWEEP_BATCH]:
        operations.cancel(ref=ref, user_id=None, reason="超时未完成支付，订单自动取消", now=now)
        count += 1
    return count


def reconcile_stuck(*, now: dt.datetime) -> int:
    """Ask the carrier about orders that have not moved for too long (a lost callback) and
    apply what it says as if the callbacks had arrived."""
    count = 0
    for state, age in domain.STUCK_AFTER.items():
        stuck = Order.objects.filter(
            state=state, carrier_acked_at__isnull=False, state_changed_at__lte=now - age
        ).order_by("state_changed_at", "id")
        for order in stuck[:SWEEP_BATCH]:
            try:
                remote = carrier_http.adapter().query_order(
                    carrier=order.carrier_code, order_ref=order.ref
                )
            except (CarrierUnavailable, CarrierRefused):
                continue
            if remote is None:
                continue
            event_type = {
                "ACCEPTED": "order.accepted",
                "REJECTED": "order.rejected",
                "SHIPPED": "order.shipped",
                "DELIVERED": "order.delivered",
                "ACTIVATED": "order.activated",
            }.get(remote.status)
            if event_type:
                apply_carrier_event(
                    carrier=order.carrier_code,
                    now=now,
                    event={
                        "event_id": f"reconcile:{order.ref}:{remote.status}",
                        "type": event_type,
                        "order_id": order.ref,
                        "reason": remote.reason,
                        "tracking_no": remote.tracking_no,
                        "iccid": remote.iccid,
                        "imsi": remote.imsi,
                    },
                )
                count += 1
    return count
