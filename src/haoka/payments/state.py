"""State changes shared by the use cases, always inside the caller's transaction with the
payment row locked: every change checked against the transition table, recorded as a
PaymentEvent, and money posted to the ledger under a key that makes it post once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from django.db import transaction

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.payments import domain, signals, store
from haoka.payments.domain import PaymentState, RefundState
from haoka.payments.models import Payment, PaymentEvent, Refund

log = structlog.get_logger("haoka.payments")


def gateway_account(gateway: str) -> str:
    """Money held for haoka at a gateway, not yet settled to the bank."""
    return chart.gateway_funds(gateway=gateway)


def payment_key(payment: Payment) -> str:
    return f"payment:{payment.pk}"


def refund_key(refund: Refund) -> str:
    return f"refund:{refund.refund_id}"


def load(payment_id: int, *, lock: bool = False) -> Payment:
    """The payment (locked with ``lock``), written out. Raises Payment.DoesNotExist."""
    payment = store.load_payment(payment_id, lock=lock)
    if payment is None:
        raise Payment.DoesNotExist(f"payment {payment_id}")
    return payment


def lock(payment_id: int) -> Payment:
    return load(payment_id, lock=True)


def event(payment: Payment, **details: Any) -> PaymentEvent:
    """Record an event of the payment (``details``: those of :func:`event_row`)."""
    return store.insert_event(event_row(payment, **details))


def event_row(
    payment: Payment,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
    event_id: str | None = None,
    refund: Refund | None = None,
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    """The event's row, not saved yet: who, when and why (``kind``, ``actor``, ``at``,
    ``reason``), the status it moved from and to, the gateway's ``event_id`` (unique: a
    notification is applied once), the refund it concerns and any ``data``."""
    return PaymentEvent(
        payment=payment,
        refund=refund,
        event_id=event_id,
        kind=kind[:40],
        from_status=from_status,
        to_status=to_status,
        actor=actor[:60],
        reason=reason[:300],
        data=data or {},
        at=at,
    )


def move(
    payment: Payment,
    *,
    to: str,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str,
    event_id: str | None = None,
    refund: Refund | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> PaymentEvent:
    """Change the payment's status (checked) and other fields; record who, when and why.

    Raises IllegalTransition."""
    domain.check_transition(current=payment.status, target=to)
    before = payment.status
    payment.status = to
    payment.updated_at = at
    for name, value in fields.items():
        setattr(payment, name, value)
    recorded = event_row(
        payment,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason,
        from_status=before,
        to_status=to,
        event_id=event_id,
        refund=refund,
        data=data,
    )
    # the change and its event in one round trip on PostgreSQL
    store.update_payment_with_event(payment, ["status", "updated_at", *fields], recorded)
    return recorded


def mark_paid(
    payment: Payment,
    *,
    paid_at: dt.datetime,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str,
    event_id: str | None = None,
    data: dict[str, Any] | None = None,
    gateway_payment_id: str | None = None,
) -> None:
    """Money arrived: PAID, Dr gateway asset / Cr customer prepayments (once per payment),
    then ``payment_succeeded`` after commit. Raises IllegalTransition."""
    extra = {}
    if gateway_payment_id and not payment.gateway_payment_id:
        extra["gateway_payment_id"] = gateway_payment_id
    move(
        payment,
        to=PaymentState.PAID,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason,
        event_id=event_id,
        data=data,
        paid_at=paid_at,
        **extra,
    )
    _post(
        payment.gateway,
        legs=[
            ledger.Leg(gateway_account(payment.gateway), payment.amount_fen),
            ledger.Leg(chart.CUSTOMER_PREPAYMENTS, -payment.amount_fen),
        ],
        kind="payment.received",
        memo=f"收款 {payment.merchant_order_id}",
        key=payment_key(payment),
    )
    kwargs = {
        "payment_id": payment.pk,
        "purpose": payment.purpose,
        "reference": payment.reference,
        "amount_fen": payment.amount_fen,
    }
    transaction.on_commit(lambda: _send(signals.payment_succeeded, kwargs))


def mark_closed(
    payment: Payment,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str,
    event_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Never paid and now closed. Raises IllegalTransition."""
    move(
        payment,
        to=PaymentState.CLOSED,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason,
        event_id=event_id,
        data=data,
        closed_at=at,
    )


def complete_refund(
    payment: Payment,
    refund: Refund,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str,
    event_id: str | None = None,
    data: dict[str, Any] | None = None,
    parked: bool = False,
) -> None:
    """The gateway paid ``refund`` back: refund SUCCEEDED, payment (PARTIALLY_)REFUNDED,
    Dr customer prepayments / Cr gateway asset (once per refund), ``refund_succeeded`` after
    commit. ``parked``: a refund nobody took back (``payments.unmatched``): the debit goes to
    the suspense account ``asset:unmatched_refunds`` instead of customer prepayments.
    Raises IllegalTransition, RefundExceedsPayment."""
    domain.check_refund_transition(current=refund.status, target=RefundState.SUCCEEDED)
    total = payment.refunded_fen + refund.amount_fen
    target = domain.status_after_refund(amount_fen=payment.amount_fen, refunded_fen=total)
    refund.status = RefundState.SUCCEEDED
    refund.succeeded_at = at
    refund.updated_at = at
    refund.save(update_fields=["status", "succeeded_at", "updated_at"])
    move(
        payment,
        to=target,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason,
        event_id=event_id,
        refund=refund,
        data=data,
        refunded_fen=total,
    )
    _post(
        payment.gateway,
        legs=[
            ledger.Leg(
                chart.UNMATCHED_REFUNDS if parked else chart.CUSTOMER_PREPAYMENTS,
                refund.amount_fen,
            ),
            ledger.Leg(gateway_account(payment.gateway), -refund.amount_fen),
        ],
        kind="payment.refund_unmatched" if parked else "payment.refunded",
        memo=f"退款 {refund.refund_id} ({payment.merchant_order_id})",
        key=refund_key(refund),
    )
    kwargs = {
        "payment_id": payment.pk,
        "purpose": payment.purpose,
        "reference": payment.reference,
        "refund_id": refund.refund_id,
        "amount_fen": refund.amount_fen,
        "refunded_fen": total,
        "fully_refunded": target == PaymentState.REFUNDED,
    }
    transaction.on_commit(lambda: _send(signals.refund_succeeded, kwargs))


def fail_refund(
    payment: Payment, refund: Refund, *, failure_code: str, actor: str, at: dt.datetime
) -> None:
    """The gateway refused the refund for good. Raises IllegalTransition."""
    domain.check_refund_transition(current=refund.status, target=RefundState.FAILED)
    refund.status = RefundState.FAILED
    refund.failure_code = failure_code[:60]
    refund.updated_at = at
    refund.save(update_fields=["status", "failure_code", "updated_at"])
    event(
        payment,
        kind="refund.failed",
        actor=actor,
        at=at,
        reason=f"网关拒绝退款: {failure_code}",
        refund=refund,
    )


def _post(gateway: str, **posting: Any) -> None:
    """Post to the ledger; the gateway's accounts are opened the first time they are missing
    (they exist after a gateway's first payment, so this costs nothing on later ones)."""
    try:
        ledger.post(**posting)
    except ledger.UnknownAccount:
        _open_accounts(gateway)
        ledger.post(**posting)


def _open_accounts(gateway: str) -> None:
    ledger.open_account(
        code=gateway_account(gateway),
        name=f"支付网关待结算（{gateway}）",
        kind=chart.AccountKind.ASSET,
        busy=True,
    )


def _send(signal, kwargs: dict[str, Any]) -> None:
    """Tell other domains; a failing receiver is logged, never undoes what was recorded."""
    for receiver, result in signal.send_robust(sender=Payment, **kwargs):
        if isinstance(result, Exception):
            log.error(
                "payment_signal_receiver_failed",
                receiver=getattr(receiver, "__qualname__", repr(receiver)),
                error=repr(result),
                **kwargs,
            )
