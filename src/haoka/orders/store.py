"""The orders' hand-written statements: the checkout's hottest paths (loading and locking an
order, writing it with its events in one round trip, leasing due submissions, recording the
carrier's acknowledgements). Everything else in orders uses the ORM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from haoka.core import rows
from haoka.orders.domain import State
from haoka.orders.models import Order, OrderEvent


def load_order(ref: str, *, lock: bool = False) -> Order | None:
    """The order by ref (locked FOR UPDATE with ``lock``), or None."""
    return rows.get(Order, "t.ref = %s", [ref], lock=lock)


def lock_order_row(ref: str) -> None:
    """Lock the order's row (if any) until the transaction ends; nothing is read."""
    rows.values(Order, "id", "t.ref = %s", [ref], lock=True)


def events_of(order_id: int) -> list[OrderEvent]:
    """The order's history, oldest first."""
    return rows.select(OrderEvent, "t.order_id = %s", [order_id], order_by="t.at, t.id")


def insert_order_with_events(order: Order, events: Sequence[OrderEvent]) -> Order:
    """Insert a new order and its events (one statement on PostgreSQL)."""
    return rows.insert_with(order, list(events), link="order")


def update_order_with_events(
    order: Order, fields: Sequence[str], events: Sequence[OrderEvent]
) -> None:
    """Write these fields of the order and insert its events (one round trip on PostgreSQL)."""
    rows.update_and_insert(order, list(fields), list(events))


def insert_event(event: OrderEvent) -> None:
    rows.insert(event)


def insert_events(events: Sequence[OrderEvent]) -> None:
    rows.insert_many(list(events))


def _due(*, now: dt.datetime, refs: list[str] | None, first: bool) -> tuple[str, list]:
    due = "t.state = %s AND t.carrier_acked_at IS NULL AND t.next_submit_at IS NOT NULL"
    params: list = [State.SUBMITTED]
    if first:
        due += " AND (t.next_submit_at <= %s OR t.submit_attempts = 0)"
    else:
        due += " AND t.next_submit_at <= %s"
    params.append(now)
    if refs is not None:
        due += f" AND {rows.among('t.ref', len(refs))}"
        params += refs
    return due, params


def any_due_submission(*, now: dt.datetime, first: bool) -> bool:
    """Whether any order is due at the carrier (one cheap read, no transaction)."""
    due, params = _due(now=now, refs=None, first=first)
    return rows.exists(Order, due, params)


def lock_due_submissions(
    *, now: dt.datetime, refs: list[str] | None, first: bool, limit: int
) -> list[Order]:
    """Lock up to ``limit`` orders due at the carrier (these refs only, if given), the oldest
    due first. Orders another worker holds are skipped, unless named by ref (waited for, as
    a single task would)."""
    due, params = _due(now=now, refs=refs, first=first)
    return rows.select(
        Order,
        due,
        params,
        order_by="t.next_submit_at, t.id",
        limit=limit,
        lock=True,
        skip_locked=refs is None,
    )


def set_submit_attempts(order_ids: Sequence[int], *, attempts: int, retry_at: dt.datetime) -> None:
    """Record an attempt count and the next retry time on these orders (one UPDATE)."""
    rows.change(
        Order,
        "submit_attempts = %s, next_submit_at = %s",
        f"{rows.among('id', len(order_ids))}",
        [attempts, rows.prep(Order, "next_submit_at", retry_at), *order_ids],
    )


def mark_acknowledged(acks: dict[int, str], *, now: dt.datetime) -> list[tuple[int, str]]:
    """Mark these orders (id -> the carrier's order id) acknowledged, unless already: the
    ``(id, state)`` of those marked now, by id. A carrier order id already known is kept."""
    ids = list(acks)
    # Fixed fragments only: the table's name and one placeholder per order.
    sql = (
        f"UPDATE {rows.table(Order)} SET carrier_acked_at = %s, next_submit_at = NULL, "  # noqa: S608
        "last_error = '', carrier_order_id = CASE WHEN carrier_order_id <> '' "
        f"THEN carrier_order_id ELSE CASE id {' '.join(['WHEN %s THEN %s'] * len(ids))} END END "
        f"WHERE {rows.among('id', len(ids))} AND carrier_acked_at IS NULL RETURNING id, state"
    )
    with rows.cursor() as cur:
        cur.execute(
            sql,
            [
                rows.prep(Order, "carrier_acked_at", now),
                *(v for pk in ids for v in (pk, acks[pk])),
                *ids,
            ],
        )
        return sorted(cur.fetchall())
