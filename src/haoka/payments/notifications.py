"""Gateway notifications (``POST /api/v1/callbacks/payments/{gateway}``).

Order of checks: signature (401, nothing read), shape (422), replay of a recorded
``event_id`` (200, nothing changed), the payment it names and its amount (404 / 422, nothing
changed, logged), then the event itself. Every distinct event is recorded with its
``event_id`` under a UNIQUE constraint in the same transaction as its effect, so a delivery
either changes the state and is remembered, or changes nothing and may come again.

Ordering rules (notifications arrive late, twice, or out of order):

- ``payment.succeeded`` pays a CREATED, PENDING or CLOSED attempt (money the gateway took is
  never ignored); on a paid one it is recorded and changes nothing.
- ``payment.closed`` closes an unpaid attempt; it never un-pays a paid one.
- ``refund.succeeded`` completes the REQUESTED refund it names, or records a refund made at
  the gateway without haoka (unknown ``refund_id``): its owner takes the money back (a
  top-up from the wallet) or it is parked for staff (``payments.unmatched``). When it
  arrives before the payment is recorded as paid, the gateway is asked about the payment
  (outside the transaction) and the payment recorded exactly as reconciliation would, then
  the refund; if the gateway cannot be asked, 409
  ``payment_not_yet_paid`` with nothing recorded, and the gateway sends it again. (Waiting
  for ``payment.succeeded`` instead could stall: a gateway that delivers one payment's events
  in order holds that one back until the refund notice has been accepted.)
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Sum

from haoka.core import jsonio, signing
from haoka.core.errors import HaokaError
from haoka.payments import domain, gateway, state, store, sync, unmatched
from haoka.payments.domain import OPEN_STATES, PAID_STATES, Notification, PaymentState, RefundState
from haoka.payments.errors import (
    BadSignature,
    NotificationTooEarly,
    PaymentMismatch,
    PaymentNotFound,
)
from haoka.payments.models import Payment, PaymentEvent, Refund

log = structlog.get_logger("haoka.payments")


def handle(*, body: bytes, signature: str | None, now: dt.datetime, gateway_name: str) -> None:
    """Verify, parse and apply one notification. A replayed ``event_id`` is a no-op.

    Raises UnknownGateway, BadSignature, BadNotification, PaymentNotFound, PaymentMismatch,
    NotificationTooEarly."""
    secret = gateway.secret_for(gateway_name)
    try:
        signing.verify(secret=secret, body=body, header=signature, now=now.timestamp())
    except signing.SignatureError as exc:
        log.warning("payment_notification_bad_signature", gateway=gateway_name, why=exc.reason)
        raise BadSignature(reason=exc.reason) from None
    try:
        data = jsonio.loads(body)
    except jsonio.InvalidJson:
        raise domain.BadNotification(reason="not_json") from None
    note = domain.parse_notification(data)
    try:
        try:
            _apply_atomically(note, data=data, gateway_name=gateway_name, now=now)
        except NotificationTooEarly as exc:
            _learn_payment(exc.details["payment_id"], gateway_name=gateway_name, now=now)
            _apply_atomically(note, data=data, gateway_name=gateway_name, now=now)
    except IntegrityError:
        # A concurrent delivery of the same event recorded it first.
        if not PaymentEvent.objects.filter(event_id=note.event_id).exists():
            raise
        log.info("payment_notification_replayed", event_id=note.event_id, concurrent=True)


def _apply_atomically(note, *, data, gateway_name, now) -> None:
    with transaction.atomic():
        _apply(note, data=data, gateway_name=gateway_name, now=now)


def _learn_payment(payment_id: int, *, gateway_name: str, now: dt.datetime) -> None:
    """Ask the gateway whether the payment was paid (a refund notice says it was).
    Raises NotificationTooEarly when it cannot be asked."""
    try:
        sync.query(payment_id=payment_id, actor=f"gateway:{gateway_name}", now=now)
    except HaokaError as exc:
        log.warning(
            "payment_refund_before_payment_unresolved", payment_id=payment_id, code=exc.code
        )
        raise NotificationTooEarly(payment_id=payment_id) from None


def _seen(event_id: str) -> bool:
    return store.event_seen(event_id)


def _apply(note: Notification, *, data: dict, gateway_name: str, now: dt.datetime) -> None:
    payment = store.lock_payment_by_merchant_id(
        merchant_order_id=note.merchant_order_id, gateway=gateway_name
    )
    if payment is None:
        log.warning(
            "payment_notification_unknown_payment",
            event_id=note.event_id,
            merchant_order_id=note.merchant_order_id,
        )
        raise PaymentNotFound(merchant_order_id=note.merchant_order_id)
    if _seen(note.event_id):  # a replay (or recorded while we waited for the lock)
        log.info("payment_notification_replayed", event_id=note.event_id)
        return
    if payment.gateway_payment_id not in (None, note.gateway_payment_id):
        _mismatch(note, payment, reason="gateway_payment_id")
    actor = f"gateway:{gateway_name}"
    if note.type == "refund.succeeded":
        _refund_succeeded(note, payment, data=data, actor=actor, now=now)
        return
    if note.amount_fen != payment.amount_fen:
        _mismatch(note, payment, reason="amount")
    if note.type == "payment.succeeded":
        _payment_succeeded(note, payment, data=data, actor=actor, now=now)
    else:
        _payment_closed(note, payment, data=data, actor=actor, now=now)


def _mismatch(note: Notification, payment: Payment, *, reason: str) -> None:
    log.warning(
        "payment_notification_mismatch",
        event_id=note.event_id,
        payment_id=payment.pk,
        reason=reason,
        notified_amount_fen=note.amount_fen,
        amount_fen=payment.amount_fen,
        notified_payment_id=note.gateway_payment_id,
        gateway_payment_id=payment.gateway_payment_id,
    )
    raise PaymentMismatch(payment_id=payment.pk, event_id=note.event_id, reason=reason)


def _ignored(note, payment, *, data, actor, now, reason: str, refund=None) -> None:
    """Remember an event that changes nothing, so its replays are recognised too."""
    state.event(
        payment,
        kind=note.type,
        actor=actor,
        at=now,
        reason=reason,
        event_id=note.event_id,
        refund=refund,
        data=data,
    )


def _payment_succeeded(note, payment: Payment, *, data, actor, now) -> None:
    if payment.status in PAID_STATES:
        _ignored(note, payment, data=data, actor=actor, now=now, reason="已记为支付成功，忽略")
        return
    if payment.status == PaymentState.CLOSED:
        log.warning("payment_succeeded_after_close", payment_id=payment.pk)
    paid_at = _when(note.paid_at) or _when(note.occurred_at) or now
    state.mark_paid(
        payment,
        paid_at=paid_at,
        kind=note.type,
        actor=actor,
        at=now,
        reason="网关通知支付成功",
        event_id=note.event_id,
        data=data,
        gateway_payment_id=note.gateway_payment_id,
    )


def _payment_closed(note, payment: Payment, *, data, actor, now) -> None:
    if payment.status not in OPEN_STATES:
        reason = (
            "支付已成功，忽略迟到的关闭通知" if payment.status in PAID_STATES else "已关闭，忽略"
        )
        _ignored(note, payment, data=data, actor=actor, now=now, reason=reason)
        return
    state.mark_closed(
        payment,
        kind=note.type,
        actor=actor,
        at=now,
        reason="网关通知已关闭",
        event_id=note.event_id,
        data=data,
    )


def _refund_succeeded(note, payment: Payment, *, data, actor, now) -> None:
    if payment.status not in PAID_STATES:
        log.info("payment_refund_before_payment", event_id=note.event_id, payment_id=payment.pk)
        raise NotificationTooEarly(payment_id=payment.pk, event_id=note.event_id)
    refund = Refund.objects.select_for_update().filter(refund_id=note.refund_id).first()
    unsolicited = refund is None
    if unsolicited:
        refund = _foreign_refund(note, payment, now=now)
    if refund.payment_id != payment.pk or refund.amount_fen != note.amount_fen:
        _mismatch(note, payment, reason="refund")
    if refund.status == RefundState.SUCCEEDED:
        reason = "退款已记为成功，忽略"
        _ignored(note, payment, data=data, actor=actor, now=now, refund=refund, reason=reason)
        return
    if refund.status == RefundState.FAILED:
        log.error("payment_refund_succeeded_after_failed", refund_id=refund.refund_id)
        _mismatch(note, payment, reason="refund_failed_here")
    # A refund haoka did not ask for is taken back by the payment's owner, or parked.
    complete = unmatched.complete if unsolicited else state.complete_refund
    complete(
        payment,
        refund,
        kind=note.type,
        actor=actor,
        at=now,
        reason="网关通知退款成功",
        event_id=note.event_id,
        data=data,
    )


def _foreign_refund(note: Notification, payment: Payment, *, now: dt.datetime) -> Refund:
    """A refund made at the gateway without haoka (merchant console): the money left, so it
    is recorded, within what is still refundable."""
    in_flight = (
        payment.refunds.filter(status=RefundState.REQUESTED).aggregate(s=Sum("amount_fen"))["s"]
        or 0
    )
    left = domain.refundable_fen(
        amount_fen=payment.amount_fen, refunded_fen=payment.refunded_fen, in_flight_fen=in_flight
    )
    if note.amount_fen > left:
        _mismatch(note, payment, reason="refund_exceeds_payment")
    log.warning("payment_foreign_refund", payment_id=payment.pk, refund_id=note.refund_id)
    return Refund.objects.create(
        refund_id=note.refund_id,
        payment=payment,
        amount_fen=note.amount_fen,
        reason=f"gateway:{note.refund_id}"[:200],
        requested_by_haoka=False,
        created_at=now,
        updated_at=now,
    )


def _when(value: str | None) -> dt.datetime | None:
    try:
        return gateway.parse_datetime(value)
    except (TypeError, ValueError):
        return None
