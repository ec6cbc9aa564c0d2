"""Orders listen to other domains' events: payments, carriers, real-name reviews."""

from __future__ import annotations

from haoka.carriers.signals import carrier_event
from haoka.core import clock
from haoka.kyc.signals import kyc_review_starting, kyc_reviewed
from haoka.orders import fulfilment, operations, store
from haoka.orders.models import Order
from haoka.payments.signals import payment_succeeded, refund_unsolicited


def _on_payment(sender, *, payment_id, purpose, reference, amount_fen, **kwargs) -> None:
    if purpose != "ORDER":
        return
    fulfilment.payment_received(
        ref=reference, payment_id=payment_id, amount_fen=amount_fen, now=clock.now()
    )


def _on_unsolicited_refund(
    sender, *, payment_id, purpose, reference, refund_id, amount_fen, now, **kwargs
) -> str | None:
    if purpose != "ORDER":
        return None
    return fulfilment.refund_made_at_gateway(
        ref=reference, payment_id=payment_id, refund_id=refund_id, amount_fen=amount_fen, now=now
    )


def _on_carrier_event(sender, *, carrier, event, now, **kwargs) -> None:
    fulfilment.apply_carrier_event(carrier=carrier, event=event, now=now)


def _on_kyc_review_starting(sender, *, order_ref, **kwargs) -> None:
    """Lock the order before the review locks the check and its 一证五号 counter: the
    consumer's check and cancelling lock the order first too."""
    store.lock_order_row(order_ref)


def _on_kyc_review(sender, *, order_ref, status, reason_code, now, **kwargs) -> None:
    if not Order.objects.filter(ref=order_ref, state="KYC_REVIEW").exists():
        return
    reason = "人工审核通过" if status == "PASSED" else f"人工审核未通过（{reason_code}）"
    operations.apply_kyc_result(ref=order_ref, status=status, reason=reason, actor="staff", now=now)


def connect() -> None:
    kyc_review_starting.connect(_on_kyc_review_starting, dispatch_uid="orders.kyc_review_lock")
    kyc_reviewed.connect(_on_kyc_review, dispatch_uid="orders.kyc_reviewed")
    payment_succeeded.connect(_on_payment, dispatch_uid="orders.payment_succeeded")
    refund_unsolicited.connect(_on_unsolicited_refund, dispatch_uid="orders.refund_unsolicited")
    carrier_event.connect(_on_carrier_event, dispatch_uid="orders.carrier_event")
