"""Reads of payments for pages and APIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from haoka.payments import store
from haoka.payments.domain import PAID_STATES, UnmatchedRefundState
from haoka.payments.models import Payment, PaymentEvent, Refund, UnmatchedRefund


@dataclass(frozen=True)
class PaymentView:
    payment_id: int
    merchant_order_id: str
    purpose: str
    reference: str
    attempt: int
    user_id: int | None
    amount_fen: int
    method: str
    status: str
    pay_url: str
    paid_at: dt.datetime | None
    refunded_fen: int
    created_at: dt.datetime


def _view(p: Payment) -> PaymentView:
    return PaymentView(
        payment_id=p.pk,
        merchant_order_id=p.merchant_order_id,
        purpose=p.purpose,
        reference=p.reference,
        attempt=p.attempt,
        user_id=p.user_id,
        amount_fen=p.amount_fen,
        method=p.method,
        status=p.status,
        pay_url=p.pay_url,
        paid_at=p.paid_at,
        refunded_fen=p.refunded_fen,
        created_at=p.created_at,
    )


def payment_for(*, purpose: str, reference: str) -> PaymentView | None:
    """The attempt that matters for ``(purpose, reference)``: the paid one if any (money
    received, maybe refunded since), else the latest attempt; None when never started."""
    attempts = store.attempts_of(purpose=purpose, reference=reference)
    chosen = next((p for p in attempts if p.status in PAID_STATES), None) or next(
        iter(attempts), None
    )
    return _view(chosen) if chosen else None


def paid_attempt_ids(*, purpose: str, reference: str) -> list[int]:
    """Every attempt for ``(purpose, reference)`` that received money, oldest first (more than
    one when the payer paid twice, e.g. a late payment of an attempt closed meanwhile)."""
    paid = Payment.objects.filter(purpose=purpose, reference=reference, status__in=PAID_STATES)
    return list(paid.order_by("paid_at", "attempt", "id").values_list("pk", flat=True))


def payment_of_user(*, payment_id: int, user_id: int) -> PaymentView | None:
    """A payment as its payer sees it; None for anyone else's (indistinguishable from none)."""
    found = Payment.objects.filter(pk=payment_id, user_id=user_id).first()
    return _view(found) if found else None


def events_of(*, payment_id: int) -> list[PaymentEvent]:
    return list(PaymentEvent.objects.filter(payment_id=payment_id).order_by("at", "id"))


def refunds_of(*, payment_id: int) -> list[Refund]:
    return list(Refund.objects.filter(payment_id=payment_id).order_by("created_at", "id"))


def open_unmatched_refunds() -> int:
    """Refunds nobody could take back, waiting for staff (未匹配退款)."""
    return UnmatchedRefund.objects.filter(state=UnmatchedRefundState.OPEN).count()
