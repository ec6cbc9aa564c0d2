"""Recording an order's transitions: checked against the table, saved with its event."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from haoka.distribution import operations as distribution_operations
from haoka.orders import domain, store
from haoka.orders.domain import State
from haoka.orders.models import Order, OrderEvent


def move(
    *,
    order: Order,
    to: str,
    actor: str,
    reason: str,
    now: dt.datetime,
    data: dict | None = None,
    **fields,
) -> Order:
    """Apply one transition (and field changes) to a locked order. Raises OrderStateConflict."""
    domain.check_transition(current=order.state, target=to)
    previous = order.state
    order.state = to
    order.state_changed_at = now
    for name, value in fields.items():
        setattr(order, name, value)
    event = OrderEvent(
        order=order,
        from_state=previous,
        to_state=to,
        actor=actor,
        reason=reason[:300],
        data=data or {},
        at=now,
    )
    changed = ["state", "state_changed_at", *fields]
    pending = getattr(order, "_pending", None)
    if pending is None:
        store.update_order_with_events(order, changed, [event])  # one round trip on PostgreSQL
        _remember(order, event)
        _tell_distribution(order)
    else:
        pending[0].update(dict.fromkeys(changed))
        _record(order, event)
    return order


def open_order(*, order: Order, actor: str, reason: str, now: dt.datetime) -> Order:
    """Save a new order (CREATED) with its first event. The order keeps its whole history
    (``known_history``), so its answer needs no read of it."""
    event = OrderEvent(
        from_state="", to_state=order.state, actor=actor, reason=reason[:300], data={}, at=now
    )
    store.insert_order_with_events(order, [event])
    order.known_history = [event]
    return order


def note(
    *,
    order: Order,
    actor: str,
    reason: str,
    now: dt.datetime,
    data: dict | None = None,
    to_state: str = "",
) -> None:
    """A fact worth keeping that is not a transition (a retry, data from a late event)."""
    _record(
        order,
        OrderEvent(
            order=order,
            from_state="" if to_state else order.state,
            to_state=to_state or order.state,
            actor=actor,
            reason=reason[:300],
            data=data or {},
            at=now,
        ),
    )


@contextlib.contextmanager
def together(order: Order) -> Iterator[Order]:
    """Several transitions of one locked order in a row (SIGNED -> PAID -> SUBMITTED):
    each is checked as it is made, and at the end the order is written once and the events
    in one statement, in the order they happened. Nothing is written if the block raises
    (the caller's transaction is rolled back anyway)."""
    order._pending = ({}, [])
    try:
        yield order
        fields, events = order._pending
    finally:
        del order._pending
    if fields:
        store.update_order_with_events(order, list(fields), events)
    else:
        store.insert_events(events)
    if "state" in fields:
        _tell_distribution(order)


def _record(order: Order, event: OrderEvent) -> None:
    """Save the event (or keep it for the end of :func:`together`); an instance that holds
    its whole history (``known_history``: a new order) keeps it whole."""
    pending = getattr(order, "_pending", None)
    if pending is None:
        store.insert_event(event)
    else:
        pending[1].append(event)
    _remember(order, event)


def _remember(order: Order, event: OrderEvent) -> None:
    known = getattr(order, "known_history", None)
    if known is not None:
        known.append(event)


def _tell_distribution(order: Order) -> None:
    """An order sold through an agent: its sale keeps the order's state (the agent's pages
    show it; distribution never reads orders)."""
    if order.agent_code:
        distribution_operations.order_moved(
            order_ref=order.ref, state=order.state, state_label=domain.LABELS[State(order.state)]
        )
