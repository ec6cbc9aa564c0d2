"""Talking to the gateway and recording its answers (used by operations).

Each function makes its gateway call outside any transaction, then records the answer in a
short transaction with the payment row locked. Rows written before the call (CREATED
payment, REQUESTED refund) carry the idempotent ids, so calling again after a crash or a
GatewayUnavailable is always safe.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.db import transaction

from haoka.payments import domain, gateway, state
from haoka.payments.domain import GATEWAY_PAID, OPEN_STATES, PAID_STATES, PaymentState, RefundState
from haoka.payments.errors import PaymentAlreadyPaid, PaymentMismatch, RefundFailed
from haoka.payments.gateway import GatewayPayment, GatewayRejected
from haoka.payments.models import Payment, Refund

log = structlog.get_logger("haoka.payments")

DESCRIPTIONS = {
    domain.Purpose.ORDER: "号卡订单",
    domain.Purpose.TOPUP: "话费充值",
    domain.Purpose.SPONSOR_TOPUP: "后向流量账户充值",
}
#: 4xx answers that settle a refund as FAILED. Others (401: our own misconfiguration) leave
#: it REQUESTED, to be sent again.
DEFINITIVE_REFUND_STATUSES = frozenset({400, 404, 409, 422})


def notify_url(gateway_name: str) -> str:
    """Where the gateway posts notifications (``PUBLIC_BASE_URL`` + the callback path)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/callbacks/payments/{gateway_name}"


def create(
    *, payment_id: int, actor: str, now: dt.datetime, loaded: Payment | None = None
) -> Payment:
    """Ask the gateway for the attempt (idempotent by merchant_order_id); record its answer.
    ``loaded``: the attempt as the caller just read or wrote it (not read again).

    Raises GatewayUnavailable (the attempt stays CREATED), GatewayRejected (the attempt is
    CLOSED), PaymentMismatch."""
    payment = loaded if loaded is not None and loaded.pk == payment_id else state.load(payment_id)
    client = gateway.for_name(payment.gateway)
    try:
        answer = client.create_payment(
            merchant_order_id=payment.merchant_order_id,
            amount_fen=payment.amount_fen,
            method=payment.method,
            description=f"{DESCRIPTIONS[domain.Purpose(payment.purpose)]} {payment.reference}",
            notify_url=notify_url(payment.gateway),
            return_url=payment.return_url,
        )
    except GatewayRejected as exc:
        with transaction.atomic():
            payment = state.lock(payment_id)
            if payment.status == PaymentState.CREATED:
                state.mark_closed(
                    payment,
                    kind="create.rejected",
                    actor=actor,
                    at=now,
                    reason=f"网关拒绝创建: {exc.gateway_error}",
                    data=exc.details,
                )
        raise
    with transaction.atomic():
        payment = state.lock(payment_id)
        apply_view(payment, answer, actor=actor, now=now)
    return payment


def query(*, payment_id: int, actor: str, now: dt.datetime) -> Payment:
    """Ask the gateway about a payment it has and bring ours in line.

    Raises GatewayUnavailable, GatewayRejected, PaymentMismatch."""
    payment = state.load(payment_id)
    if payment.status == PaymentState.CREATED:
        return create(payment_id=payment_id, actor=actor, now=now)
    if payment.gateway_payment_id is None:
        return payment  # closed before the gateway ever had it: nothing to ask
    answer = gateway.for_name(payment.gateway).query_payment(payment_id=payment.gateway_payment_id)
    with transaction.atomic():
        payment = state.lock(payment_id)
        apply_view(payment, answer, actor=actor, now=now)
    return payment


def apply_view(payment: Payment, answer: GatewayPayment, *, actor: str, now: dt.datetime) -> None:
    """Bring a locked payment in line with the gateway's view of it. Money the gateway holds
    is recorded exactly as its notification would record it (same ledger key).

    Raises PaymentMismatch (an answer about another payment, or another amount)."""
    if (
        answer.merchant_order_id not in ("", payment.merchant_order_id)
        or answer.amount_fen != payment.amount_fen
        or payment.gateway_payment_id not in (None, answer.payment_id)
    ):
        log.error(
            "payment_gateway_answer_mismatch",
            payment_id=payment.pk,
            answer_payment_id=answer.payment_id,
            answer_merchant_order_id=answer.merchant_order_id,
            answer_amount_fen=answer.amount_fen,
        )
        raise PaymentMismatch(payment_id=payment.pk, reason="gateway_answer")
    if payment.gateway_payment_id is None or (answer.pay_url and not payment.pay_url):
        payment.gateway_payment_id = answer.payment_id
        payment.pay_url = answer.pay_url[:500]
        learned = ["gateway_payment_id", "pay_url"]
    else:
        learned = []
    data = {"gateway_status": answer.status}
    if payment.status == PaymentState.CREATED and answer.status in {"PENDING", *GATEWAY_PAID}:
        state.move(  # saves what was learned above in the same UPDATE
            payment,
            to=PaymentState.PENDING,
            kind="gateway.accepted",
            actor=actor,
            at=now,
            reason="网关已受理",
            data=data,
            **{name: getattr(payment, name) for name in learned},
        )
    elif learned:
        payment.save(update_fields=learned)
    if answer.status in GATEWAY_PAID and payment.status not in PAID_STATES:
        state.mark_paid(
            payment,
            paid_at=answer.paid_at or now,
            kind="reconciled",
            actor=actor,
            at=now,
            reason="网关显示已支付（支付通知未到或丢失）",
            data=data,
        )
    elif answer.status == "CLOSED" and payment.status in OPEN_STATES:
        state.mark_closed(
            payment, kind="reconciled", actor=actor, at=now, reason="网关显示已关闭", data=data
        )
    elif answer.status == "CLOSED" and payment.status in PAID_STATES:
        log.error("payment_paid_here_closed_there", payment_id=payment.pk)
    if answer.refunded_fen > payment.refunded_fen:
        # Refunds haoka has not recorded yet: their notifications (or re-sent requests) will
        # record them; staff see this line when neither comes.
        log.warning(
            "payment_gateway_refunds_ahead",
            payment_id=payment.pk,
            gateway_refunded_fen=answer.refunded_fen,
            refunded_fen=payment.refunded_fen,
        )


def close(*, payment_id: int, reason: str, actor: str, now: dt.datetime) -> Payment:
    """Close an unpaid attempt at the gateway, then here. A closed one is returned as is.

    When the gateway answers ``already_paid`` the payment is recorded PAID (ledger, signal)
    and PaymentAlreadyPaid is raised. Raises PaymentAlreadyPaid, GatewayUnavailable,
    GatewayRejected, PaymentMismatch."""
    payment = state.load(payment_id)
    if payment.status == PaymentState.CREATED:
        # The gateway may hold it already (a crash after its create): learn its id first.
        payment = create(payment_id=payment_id, actor=actor, now=now)
    if payment.status == PaymentState.CLOSED:
        return payment
    if payment.status in PAID_STATES:
        raise PaymentAlreadyPaid(payment_id=payment_id, status=payment.status)
    try:
        gateway.for_name(payment.gateway).close_payment(payment_id=payment.gateway_payment_id)
    except GatewayRejected as exc:
        if exc.gateway_error != "already_paid":
            raise
        payment = query(payment_id=payment_id, actor=actor, now=now)
        raise PaymentAlreadyPaid(payment_id=payment_id, status=payment.status) from exc
    with transaction.atomic():
        payment = state.lock(payment_id)
        if payment.status in OPEN_STATES:
            state.mark_closed(payment, kind="closed", actor=actor, at=now, reason=reason)
    return payment


def send_refund(*, refund_pk: int, actor: str, now: dt.datetime) -> Refund:
    """Send a REQUESTED refund (idempotent by refund_id) and record the answer.

    Raises RefundFailed (the gateway refused it for good; it is FAILED), GatewayUnavailable
    and other GatewayRejected (it stays REQUESTED), PaymentMismatch."""
    refund = Refund.objects.select_related("payment").get(pk=refund_pk)
    payment = refund.payment
    try:
        answer = gateway.for_name(payment.gateway).refund(
            refund_id=refund.refund_id,
            payment_id=payment.gateway_payment_id,
            amount_fen=refund.amount_fen,
            reason=refund.reason,
        )
    except GatewayRejected as exc:
        if exc.details.get("http_status") not in DEFINITIVE_REFUND_STATUSES:
            raise
        with transaction.atomic():
            payment = state.lock(payment.pk)
            refund = Refund.objects.select_for_update().get(pk=refund_pk)
            if refund.status == RefundState.REQUESTED:
                state.fail_refund(
                    payment, refund, failure_code=exc.gateway_error, actor=actor, at=now
                )
        log.error("payment_refund_refused", refund_id=refund.refund_id, error=exc.gateway_error)
        raise RefundFailed(refund_id=refund.refund_id, gateway_error=exc.gateway_error) from exc
    if answer.refund_id != refund.refund_id or answer.amount_fen != refund.amount_fen:
        log.error("payment_refund_answer_mismatch", refund_id=refund.refund_id)
        raise PaymentMismatch(refund_id=refund.refund_id, reason="gateway_answer")
    if answer.status != "SUCCEEDED":
        return refund  # still under way at the gateway: its notification completes it
    with transaction.atomic():
        payment = state.lock(payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund_pk)
        if refund.status == RefundState.REQUESTED:
            state.complete_refund(
                payment, refund, kind="refund.succeeded", actor=actor, at=now, reason="网关退款成功"
            )
    return refund
