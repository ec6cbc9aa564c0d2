"""What the buyer is told as their order moves (消息中心, and SMS where the template has
one): a staff real-name review's outcome, the card shipped, delivered, activated. Called
inside the transaction of the move, so the message commits or rolls back with it; each is
keyed by the order and the step, so a repeated event tells once."""

from __future__ import annotations

import datetime as dt

from haoka.logistics import queries as logistics_queries
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.orders.domain import State
from haoka.orders.models import Order

#: The order states a buyer hears of, and the message each sends.
KINDS = {
    State.SHIPPED: Kind.ORDER_SHIPPED,
    State.DELIVERED: Kind.ORDER_DELIVERED,
    State.ACTIVATED: Kind.ORDER_ACTIVATED,
}
#: A staff review's outcome, by the state it moves the order to.
REVIEW_KINDS = {State.KYC_PASSED: Kind.KYC_APPROVED, State.KYC_REJECTED: Kind.KYC_REJECTED}


def moved(*, order: Order, now: dt.datetime) -> None:
    """The order reached a state the buyer hears of (nothing for other states)."""
    kind = KINDS.get(State(order.state))
    if kind is None:
        return
    _tell(order, kind=kind, step=order.state, now=now)


def reviewed(*, order: Order, now: dt.datetime) -> None:
    """Staff decided the order's real-name check (the order is KYC_PASSED or KYC_REJECTED)."""
    kind = REVIEW_KINDS.get(State(order.state))
    if kind is not None:
        _tell(order, kind=kind, step=f"review_{order.state}", now=now)


def _tell(order: Order, *, kind: Kind, step: str, now: dt.datetime) -> None:
    notices.notify(
        user_id=order.user_id,
        kind=kind,
        key=f"order:{order.ref}:{step.lower()}",
        values={
            "order_ref": order.ref,
            "msisdn": order.msisdn,
            "courier": logistics_queries.courier_name(order.courier),
            "tracking_no": order.tracking_no or "（待更新）",
        },
        now=now,
    )
