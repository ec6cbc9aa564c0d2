"""Pure rules of logistics: a shipment's states and how a courier scan moves it.

A parcel only moves forward: scans may arrive late, twice or out of order, and a step may be
missed (no pick-up scan before the first transit scan), so every state may move to any later
one and never back. No database, no clock.
"""

from __future__ import annotations

from enum import StrEnum

from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError
from haoka.core.phone import parse_mainland_mobile


class ShipmentStatus(StrEnum):
    CREATED = "CREATED"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"


class ShipmentMovedBack(IllegalTransition):
    code = "shipment_state_conflict"
    message = "快递状态不能回退"


_ORDER = list(ShipmentStatus)
MACHINE = states.Machine(
    ShipmentStatus,
    {state: set(_ORDER[i + 1 :]) for i, state in enumerate(_ORDER)},
    error=ShipmentMovedBack,
    labels={
        ShipmentStatus.CREATED: "已发货",
        ShipmentStatus.PICKED_UP: "已揽收",
        ShipmentStatus.IN_TRANSIT: "运输中",
        ShipmentStatus.OUT_FOR_DELIVERY: "派送中",
        ShipmentStatus.DELIVERED: "已签收",
    },
)


def advances(*, current: str, scanned: str) -> bool:
    """True when a scan of status ``scanned`` moves a parcel at ``current`` forward. A status
    the courier reports that is not one of ours (kept as a tracking event only) never does."""
    try:
        return MACHINE.allows(current=current, target=ShipmentStatus(scanned))
    except ValueError:
        return False


#: Couriers by the code carriers report, as people read them.
COURIER_NAMES = {"SIMEXPRESS": "模拟快递"}


def courier_name(code: str) -> str:
    """The courier's Chinese name (an unknown code as it is, none as 快递)."""
    return COURIER_NAMES.get(code, code or "快递")


# --------------------------------------------------------------------------- address book

#: Addresses one consumer may keep in their address book.
ADDRESS_BOOK_MAX = 20
RECEIVER_MAX, DETAIL_MAX = 20, 120


class InvalidAddressEntry(ValidationError):
    code = "invalid_address"
    message = "收货地址不完整"


def clean_entry(*, receiver: str, phone: str, detail: str) -> tuple[str, str, str]:
    """The receiver, the phone (11 digits) and the street address of an address-book entry,
    trimmed. Raises InvalidAddressEntry (naming what is missing or too long, in Chinese),
    InvalidMsisdn."""
    receiver, detail = (receiver or "").strip(), " ".join((detail or "").split())
    if not receiver:
        raise InvalidAddressEntry("请填写收件人", field="receiver")
    if not detail:
        raise InvalidAddressEntry("请填写详细地址", field="detail")
    if len(receiver) > RECEIVER_MAX:
        raise InvalidAddressEntry(f"收件人不能超过 {RECEIVER_MAX} 个字", field="receiver")
    if len(detail) > DETAIL_MAX:
        raise InvalidAddressEntry(f"详细地址不能超过 {DETAIL_MAX} 个字", field="detail")
    return receiver, parse_mainland_mobile(phone or ""), detail


def default_after_delete(*, deleted_was_default: bool, others: list[int]) -> int | None:
    """Which address becomes the default when one is deleted: the most recent of the others
    (``others`` newest first) when the deleted one was the default; None: no change."""
    return others[0] if deleted_was_default and others else None
