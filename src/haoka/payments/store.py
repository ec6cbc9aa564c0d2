"""The payments' hand-written statements, on the checkout's path: loading and locking a
payment, writing it with its events in one round trip, starting an attempt, applying a
notification. Everything else in payments uses the ORM."""

from __future__ import annotations

from collections.abc import Sequence

from haoka.core import rows
from haoka.payments.models import Payment, PaymentEvent


def load_payment(payment_id: int, *, lock: bool = False) -> Payment | None:
    """The payment by id (locked FOR UPDATE with ``lock``), or None."""
    return rows.get(Payment, "t.id = %s", [payment_id], lock=lock)


def lock_payment_by_merchant_id(*, merchant_order_id: str, gateway: str) -> Payment | None:
    """The payment a gateway knows by ``merchant_order_id``, locked, or None."""
    return rows.get(
        Payment,
        "t.merchant_order_id = %s AND t.gateway = %s",
        [merchant_order_id, gateway],
        lock=True,
    )


def lock_latest_attempt(*, purpose: str, reference: str) -> Payment | None:
    """The latest attempt for ``(purpose, reference)``, locked, or None."""
    return rows.get(
        Payment,
        "t.purpose = %s AND t.reference = %s",
        [purpose, reference],
        order_by="t.attempt DESC",
        lock=True,
    )


def attempts_of(*, purpose: str, reference: str) -> list[Payment]:
    """Every attempt for ``(purpose, reference)``, the latest first."""
    return rows.select(
        Payment,
        "t.purpose = %s AND t.reference = %s",
        [purpose, reference],
        order_by="t.attempt DESC, t.id DESC",
    )


def insert_payment_with_event(payment: Payment, event: PaymentEvent) -> Payment:
    """A new attempt and its first event (one statement on PostgreSQL)."""
    return rows.insert_with(payment, [event], link="payment")


def update_payment_with_event(payment: Payment, fields: Sequence[str], event: PaymentEvent) -> None:
    """Write these fields of the payment and insert its event (one round trip on
    PostgreSQL)."""
    rows.update_and_insert(payment, list(fields), [event])


def insert_event(event: PaymentEvent) -> PaymentEvent:
    return rows.insert(event)


def event_seen(event_id: str) -> bool:
    """Whether a gateway event was applied already."""
    return rows.exists(PaymentEvent, "t.event_id = %s", [event_id])
