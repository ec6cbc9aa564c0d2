"""The number pool's hand-written statements, on the checkout's path: finding and locking a
number, taking a hold in one conditional UPDATE, writing a status change with its event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from haoka.core import rows
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberEvent, PhoneNumber


def load_number(msisdn: str, *, lock: bool = False) -> PhoneNumber | None:
    """The number by msisdn (locked FOR UPDATE with ``lock``), or None."""
    return rows.get(PhoneNumber, "t.msisdn = %s", [msisdn], lock=lock)


def count_live_holds(*, user_id: int, now: dt.datetime) -> int:
    """Numbers the user holds (RESERVED, not lapsed at ``now``)."""
    return rows.count(
        PhoneNumber,
        "t.reserved_by_id = %s AND t.status = %s AND t.reserved_until > %s",
        [user_id, NumberState.RESERVED, rows.prep(PhoneNumber, "reserved_until", now)],
    )


def take_hold(*, number_id: int, user_id: int, until: dt.datetime, now: dt.datetime) -> bool:
    """AVAILABLE -> RESERVED for the user until ``until``, in one conditional UPDATE: of
    concurrent buyers exactly one wins. False when the number was not AVAILABLE."""
    return bool(
        rows.change(
            PhoneNumber,
            "status = %s, reserved_by_id = %s, reserved_until = %s, status_changed_at = %s",
            "id = %s AND status = %s",
            [
                NumberState.RESERVED,
                user_id,
                rows.prep(PhoneNumber, "reserved_until", until),
                rows.prep(PhoneNumber, "status_changed_at", now),
                number_id,
                NumberState.AVAILABLE,
            ],
        )
    )


def insert_events(events: Sequence[NumberEvent]) -> None:
    rows.insert_many(list(events))


def update_number_with_event(
    number: PhoneNumber, fields: Sequence[str], event: NumberEvent
) -> None:
    """Write these fields of the number and insert its event (one round trip on
    PostgreSQL)."""
    rows.update_and_insert(number, list(fields), [event])


def update_number(number: PhoneNumber, fields: Sequence[str]) -> None:
    rows.update(number, list(fields))


def extend_order_hold(*, msisdn: str, order_ref: str, until: dt.datetime) -> None:
    """Push the order's live hold on the number to ``until`` (never shorten it)."""
    until_db = rows.prep(PhoneNumber, "reserved_until", until)
    rows.change(
        PhoneNumber,
        "reserved_until = %s",
        "msisdn = %s AND order_ref = %s AND status = %s AND reserved_until < %s",
        [until_db, msisdn, order_ref, NumberState.RESERVED, until_db],
    )
