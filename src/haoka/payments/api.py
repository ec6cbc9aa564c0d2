"""Payments API: the gateway's notification callback and the payer's view of a payment."""

from __future__ import annotations

from ninja import Router

from haoka.accounts.auth import bearer
from haoka.core import clock, signing
from haoka.core.money import format_fen
from haoka.core.schema_types import Id
from haoka.payments import operations, queries
from haoka.payments.domain import MACHINE
from haoka.payments.errors import PaymentNotFound
from haoka.payments.schemas import OkOut, PaymentOut

router = Router(tags=["payments"])
STATUS_LABELS = dict(MACHINE.choices())


@router.post("/callbacks/payments/{gateway}", response=OkOut, auth=None)
def payment_callback(request, gateway: str):
    """Gateway notifications. No login: the ``X-Haoka-Signature`` over the raw body is the
    authentication. A replayed event answers 200 and changes nothing."""
    operations.handle_notification(
        body=request.body,
        signature=request.headers.get(signing.HEADER),
        now=clock.now(),
        gateway_name=gateway,
    )
    return {"ok": True}


@router.get("/payments/{payment_id}", response=PaymentOut, auth=bearer)
def get_payment(request, payment_id: Id):
    """One payment, for its payer only (anyone else gets 404)."""
    view = queries.payment_of_user(payment_id=payment_id, user_id=request.auth.pk)
    if view is None:
        raise PaymentNotFound(payment_id=payment_id)
    return {
        **view.__dict__,
        "amount": format_fen(view.amount_fen),
        "status_label": str(STATUS_LABELS.get(view.status, view.status)),
    }
