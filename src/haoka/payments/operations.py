"""Use cases of payments: start a payment, take a gateway notification, refund, close,
reconcile.

Gateway calls happen outside database transactions (see ``sync``): state is written before
the call (CREATED payment, REQUESTED refund) and after it, so a crash in between leaves a row
that a retry or reconciliation finishes with the same idempotent id. Callers must not wrap
these functions in a transaction of their own. Money is recorded in the ledger on
``asset:gateway:<gateway>`` and ``liability:customer_prepayments``, keyed ``payment:<pk>`` and
``refund:<refund_id>`` so each posts once whichever path (notification, answer,
reconciliation) records it first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from haoka.core.errors import HaokaError
from haoka.payments import domain, gateway, notifications, state, store, sync, unmatched
from haoka.payments.domain import OPEN_STATES, PAID_STATES, PaymentState, RefundState
from haoka.payments.errors import (
    InvalidReason,
    PaymentAlreadyPaid,
    PaymentBusy,
    PaymentInProgress,
    PaymentNotFound,
    RefundFailed,
    RefundIntentMismatch,
)
from haoka.payments.models import Payment, Refund, UnmatchedRefund

log = structlog.get_logger("haoka.payments")
NOTHING_LEFT = "NOTHING_LEFT"


@dataclass(frozen=True)
class PaymentStart:
    payment_id: int
    merchant_order_id: str
    pay_url: str
    status: str
    amount_fen: int


@dataclass(frozen=True)
class RefundResult:
    payment_id: int
    refund_id: str | None  # None when nothing had been paid
    amount_fen: int  # of this refund; 0 when nothing had been paid
    #: SUCCEEDED | REQUESTED (the gateway is still working on it) | CLOSED (nothing was
    #: paid; the attempt is closed) | NOTHING_LEFT (amount None and all is refunded or under way)
    status: str
    payment_status: str


@dataclass(frozen=True)
class ReconcileResult:
    payment_id: int
    status_before: str
    status: str
    refunds_sent: int


def _actor(user_id: int | None) -> str:
    return f"user:{user_id}" if user_id is not None else "system"


# ---------------------------------------------------------------- start


def start_payment(
    *,
    purpose: str,
    reference: str,
    user_id: int | None,
    amount_fen: int,
    method: str,
    return_url: str,
    now: dt.datetime,
) -> PaymentStart:
    """Start paying for ``(purpose, reference)``; return where the payer pays.

    Idempotent: while an attempt is pending, or once one is paid, that attempt is returned
    (nothing is created); after a CLOSED attempt a new attempt with a new merchant_order_id
    is made; an attempt whose gateway call failed is resumed with its merchant_order_id.
    Raises InvalidPurpose, InvalidReference, InvalidAmount, InvalidMethod, PaymentInProgress
    (a pending attempt with another amount or method), PaymentBusy, GatewayUnavailable,
    GatewayRejected, PaymentMismatch.
    """
    purpose = domain.parse_purpose(purpose)
    reference = domain.validate_reference(reference)
    amount_fen = domain.validate_amount(amount_fen)
    method = domain.parse_method(method)
    wanted = {"amount_fen": amount_fen, "method": method, "user_id": user_id}
    payment = None
    for _ in range(3):
        try:
            payment = _current_attempt(
                purpose=purpose, reference=reference, wanted=wanted, return_url=return_url, now=now
            )
            break
        except IntegrityError:
            continue  # a concurrent start made this attempt first: read it on the next turn
    if payment is None:
        raise PaymentBusy(purpose=purpose, reference=reference)
    if payment.status == PaymentState.CREATED:
        payment = sync.create(payment_id=payment.pk, actor=_actor(user_id), now=now, loaded=payment)
    return PaymentStart(
        payment_id=payment.pk,
        merchant_order_id=payment.merchant_order_id,
        pay_url=payment.pay_url,
        status=payment.status,
        amount_fen=payment.amount_fen,
    )


def _current_attempt(*, purpose, reference, wanted: dict, return_url: str, now) -> Payment:
    with transaction.atomic():
        latest = store.lock_latest_attempt(purpose=purpose, reference=reference)
        if domain.next_step(latest.status if latest else None) != domain.NextStep.NEW_ATTEMPT:
            if latest.status in OPEN_STATES and (
                latest.amount_fen != wanted["amount_fen"] or latest.method != wanted["method"]
            ):
                raise PaymentInProgress(
                    payment_id=latest.pk, amount_fen=latest.amount_fen, method=latest.method
                )
            return latest
        attempt = latest.attempt + 1 if latest else 1
        payment = Payment(
            merchant_order_id=domain.merchant_order_id(
                purpose=purpose, reference=reference, attempt=attempt
            ),
            purpose=purpose,
            reference=reference,
            attempt=attempt,
            gateway=gateway.SANDBOX,
            return_url=return_url[:500],
            created_at=now,
            updated_at=now,
            **wanted,
        )
        created = state.event_row(
            payment,
            kind="created",
            actor=_actor(wanted["user_id"]),
            at=now,
            reason=f"发起第 {attempt} 次支付",
            to_status=PaymentState.CREATED,
        )
        # the attempt and its first event in one statement on PostgreSQL
        return store.insert_payment_with_event(payment, created)


# ---------------------------------------------------------------- notifications


def handle_notification(
    *, body: bytes, signature: str | None, now: dt.datetime, gateway_name: str = gateway.SANDBOX
) -> None:
    """Apply one signed gateway notification (raw body as received). A replayed
    ``event_id`` changes nothing; see ``payments.notifications`` for the ordering rules.

    Raises UnknownGateway, BadSignature (401), BadNotification, PaymentNotFound,
    PaymentMismatch (422; nothing changed), NotificationTooEarly (409; sent again later)."""
    notifications.handle(body=body, signature=signature, now=now, gateway_name=gateway_name)


# ---------------------------------------------------------------- close and refund


def close_payment(*, payment_id: int, reason: str, actor: str = "system", now: dt.datetime) -> str:
    """Close an unpaid attempt at the gateway and here; return its status (CLOSED).

    Closing a closed attempt is a no-op. If the gateway says it was paid after all, the
    payment is recorded PAID (ledger, signal) and PaymentAlreadyPaid raised.
    Raises PaymentNotFound, PaymentAlreadyPaid, GatewayUnavailable, GatewayRejected."""
    if not Payment.objects.filter(pk=payment_id).exists():
        raise PaymentNotFound(payment_id=payment_id)
    return sync.close(payment_id=payment_id, reason=reason, actor=actor, now=now).status


def refund(
    *,
    purpose: str,
    reference: str,
    amount_fen: int | None,
    reason: str,
    now: dt.datetime,
    actor: str = "system",
    payment_id: int | None = None,
) -> RefundResult:
    """Give back ``amount_fen`` (None: all that is left) of what was paid for
    ``(purpose, reference)``; when nothing was paid, close the pending attempt instead.
    ``payment_id`` names the paid attempt to refund when there may be several (a payer who
    paid twice); without it the latest paid attempt is refunded.

    ``reason`` is the refund's intent key (e.g. ``order_cancelled``): the same payment and
    reason always mean the same refund, with the same ``refund_id`` at the gateway, so a
    repeated call never refunds twice and returns the first result. A refund never exceeds
    what is left (paid, minus refunded, minus refunds under way).
    Raises InvalidPurpose, InvalidReference, InvalidReason, InvalidAmount, PaymentNotFound,
    RefundExceedsPayment, RefundIntentMismatch (same reason, another amount), RefundFailed
    (refused by the gateway, also on every repeat), GatewayUnavailable (the refund stays
    REQUESTED; repeat the call or let reconciliation send it), GatewayRejected.
    """
    purpose = domain.parse_purpose(purpose)
    reference = domain.validate_reference(reference)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidReason(reason=reason[:40])
    for _ in range(2):
        target = _refund_target(
            purpose=purpose,
            reference=reference,
            amount_fen=amount_fen,
            reason=reason,
            now=now,
            payment_id=payment_id,
        )
        if isinstance(target, Refund):
            return _finish_refund(target, actor=actor, now=now)
        if target.status in PAID_STATES:
            return RefundResult(target.pk, None, 0, NOTHING_LEFT, target.status)
        if target.status not in OPEN_STATES:
            return RefundResult(target.pk, None, 0, target.status, target.status)
        try:
            status = sync.close(payment_id=target.pk, reason=reason, actor=actor, now=now).status
        except PaymentAlreadyPaid:
            continue  # paid after all (now recorded): refund it on the next turn
        return RefundResult(target.pk, None, 0, status, status)
    raise PaymentBusy(purpose=purpose, reference=reference)


def _refund_target(
    *, purpose, reference, amount_fen, reason, now, payment_id=None
) -> Refund | Payment:
    """The refund row of this intent (made REQUESTED if new); or the paid payment when
    nothing is left to refund; or the attempt to close when nothing was paid."""
    with transaction.atomic():
        attempts = list(
            Payment.objects.select_for_update()
            .filter(purpose=purpose, reference=reference)
            .order_by("-attempt")
        )
        if payment_id is not None:
            attempts = [p for p in attempts if p.pk == payment_id]
        if not attempts:
            raise PaymentNotFound(purpose=purpose, reference=reference, payment_id=payment_id)
        paid = next((p for p in attempts if p.status in PAID_STATES), None)
        if paid is None:
            return next((p for p in attempts if p.status in OPEN_STATES), attempts[0])
        existing = Refund.objects.filter(payment=paid, reason=reason).first()
        if existing is not None:
            if amount_fen is not None and amount_fen != existing.amount_fen:
                raise RefundIntentMismatch(
                    refund_id=existing.refund_id, amount_fen=existing.amount_fen
                )
            return existing
        refunds = Refund.objects.filter(payment=paid)
        in_flight = refunds.filter(status=RefundState.REQUESTED).aggregate(s=Sum("amount_fen"))
        left = domain.refundable_fen(
            amount_fen=paid.amount_fen,
            refunded_fen=paid.refunded_fen,
            in_flight_fen=in_flight["s"] or 0,
        )
        if amount_fen is None and left == 0:
            return paid  # "all that is left" of nothing: there is nothing to do
        amount = domain.refund_amount(
            requested_fen=amount_fen,
            amount_fen=paid.amount_fen,
            refunded_fen=paid.refunded_fen,
            in_flight_fen=in_flight["s"] or 0,
        )
        refund = Refund.objects.create(
            refund_id=domain.refund_id(payment_pk=paid.pk, n=refunds.count() + 1),
            payment=paid,
            amount_fen=amount,
            reason=reason,
            created_at=now,
            updated_at=now,
        )
        state.event(
            paid,
            kind="refund.requested",
            actor="system",
            at=now,
            reason=reason,
            refund=refund,
            data={"amount_fen": amount},
        )
        return refund


def _finish_refund(refund: Refund, *, actor: str, now: dt.datetime) -> RefundResult:
    if refund.status == RefundState.FAILED:
        raise RefundFailed(refund_id=refund.refund_id, gateway_error=refund.failure_code)
    if refund.status == RefundState.REQUESTED:
        refund = sync.send_refund(refund_pk=refund.pk, actor=actor, now=now)
    payment = Payment.objects.get(pk=refund.payment_id)
    return RefundResult(
        payment_id=payment.pk,
        refund_id=refund.refund_id,
        amount_fen=refund.amount_fen,
        status=refund.status,
        payment_status=payment.status,
    )


# ---------------------------------------------------------------- refunds nobody asked for


def resolve_unmatched_refund(
    *, unmatched_id: int, retry: bool, actor: str, note: str = "", now: dt.datetime
) -> UnmatchedRefund:
    """Staff settle a parked refund (未匹配退款, see ``payments.unmatched``): ``retry`` asks
    the payment's owner again to take the money back (the wallet has it now), otherwise it
    is written off as a loss. Either way the suspense account is cleared once.
    Raises UnmatchedRefundNotFound, UnmatchedRefundConflict (already resolved),
    RefundStillUnmatched (nothing changed)."""
    with transaction.atomic():
        return unmatched.resolve(
            unmatched_id=unmatched_id, retry=retry, actor=actor, note=note, now=now
        )


# ---------------------------------------------------------------- reconciliation


def reconcile_payment(*, payment_id: int, now: dt.datetime) -> ReconcileResult:
    """Ask the gateway about one payment and repair what a lost notification or a crash left:
    a CREATED attempt is created again (same merchant_order_id), a payment paid at the
    gateway is recorded PAID exactly as its notification would, a closed one CLOSED, and
    REQUESTED refunds are sent again (same refund_id).
    Raises PaymentNotFound, GatewayUnavailable, GatewayRejected, PaymentMismatch, RefundFailed."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise PaymentNotFound(payment_id=payment_id)
    before = payment.status
    payment = sync.query(payment_id=payment_id, actor="reconcile", now=now)
    sent = 0
    pending = payment.refunds.filter(status=RefundState.REQUESTED).order_by("id")
    for refund_pk in pending.values_list("pk", flat=True):
        sync.send_refund(refund_pk=refund_pk, actor="reconcile", now=now)
        sent += 1
    payment.refresh_from_db()
    return ReconcileResult(payment.pk, before, payment.status, sent)


def reconcile_pending(
    *,
    now: dt.datetime,
    older_than: dt.timedelta = dt.timedelta(minutes=domain.RECONCILE_AFTER_MINUTES),
    window: dt.timedelta = dt.timedelta(days=2),
    limit: int = 500,
) -> dict[str, int]:
    """Reconcile attempts left unsettled (CREATED/PENDING) or with refunds under way for
    longer than ``older_than`` (created within ``window``, so abandoned attempts are not
    asked about forever). One failure does not stop the rest. Returns counts."""
    cutoff = now - older_than
    stale = Q(status__in=OPEN_STATES, updated_at__lte=cutoff) | Q(
        refunds__status=RefundState.REQUESTED, refunds__updated_at__lte=cutoff
    )
    ids = list(
        Payment.objects.filter(stale, created_at__gte=now - window)
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()[:limit]
    )
    counts = {"checked": 0, "changed": 0, "failed": 0}
    for payment_id in ids:
        counts["checked"] += 1
        try:
            result = reconcile_payment(payment_id=payment_id, now=now)
        except HaokaError as exc:
            counts["failed"] += 1
            log.warning("payment_reconcile_failed", payment_id=payment_id, code=exc.code)
            continue
        if result.status != result.status_before or result.refunds_sent:
            counts["changed"] += 1
    return counts
