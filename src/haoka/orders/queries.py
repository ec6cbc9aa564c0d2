"""Reads of orders for pages and the API (owner-scoped)."""

from __future__ import annotations

import hashlib
import json

from haoka.core.errors import NotFound
from haoka.core.pagination import Page, paginate
from haoka.core.pii import mask_name
from haoka.kyc import operations as kyc_operations
from haoka.logistics import queries as logistics_queries
from haoka.orders import contract, domain, store
from haoka.orders.domain import State
from haoka.orders.models import Order, OrderEvent


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "订单不存在"


def my_orders(*, user_id: int, limit: int | None, after: str | None) -> Page:
    return paginate(
        Order.objects.filter(user_id=user_id),
        order=("-created_at", "-id"),
        limit=limit,
        after=after,
    )


def events(*, order: Order) -> list[OrderEvent]:
    """The order's history, oldest first (asked on every order response: written out). An
    order created in this request knows its history already (``known_history``)."""
    known = getattr(order, "known_history", None)
    if known is not None:
        return list(known)
    return store.events_of(order.pk)


def order_for(*, ref: str, user_id: int | None, lock: bool = False) -> Order:
    """The order, if ``user_id`` owns it (None: staff/system); locked FOR UPDATE with
    ``lock`` (inside the caller's transaction). Raises OrderNotFound — also for someone
    else's order, so ids cannot be probed."""
    order = store.load_order(ref, lock=lock)
    if order is None or (user_id is not None and order.user_id != user_id):
        raise OrderNotFound(ref=ref)
    return order


def contract_for(*, ref: str, user_id: int) -> contract.Contract:
    """The agreement text as it stands (signed text once signed). Raises OrderNotFound,
    OrderStateConflict (before the real-name check has passed)."""
    order = order_for(ref=ref, user_id=user_id)
    if order.contract_sha256:
        return contract.Contract(
            text=order.contract_text,
            sha256=order.contract_sha256,
            signed_at=order.contract_signed_at,
        )
    if order.state != State.KYC_PASSED:
        domain.check_transition(current=order.state, target=State.SIGNED)
    who = kyc_operations.signer(order_ref=order.ref)
    text = contract.render(
        order=order, customer_name_masked=who.name_masked, id_masked=who.id_masked
    )
    return contract.Contract(
        text=text, sha256=hashlib.sha256(text.encode()).hexdigest(), signed_at=None
    )


def tracking(*, order: Order) -> list:
    return logistics_queries.tracking(tracking_no=order.tracking_no) if order.tracking_no else []


def receiver_masked(*, order: Order) -> str:
    address = json.loads(order.shipping_address)
    return f"{mask_name(address['receiver'])} {address['phone'][:3]}****{address['phone'][-4:]}"


def ship_to(*, order: Order) -> str:
    address = json.loads(order.shipping_address)
    return f"{address['province']} {address['city']} {address['district']}"


def iccid_masked(*, order: Order) -> str:
    """Never the full ICCID before activation: the last six digits prove possession."""
    if not order.iccid:
        return ""
    if order.state == State.ACTIVATED:
        return order.iccid[:6] + "*" * 8 + order.iccid[-6:]
    return order.iccid[:6] + "*" * (len(order.iccid) - 6)


def kyc_message(*, order: Order) -> str:
    """Why the last real-name check was refused, while the order waits for a correction
    (KYC_RETRY); "" otherwise (a read of the check only then)."""
    if order.state != State.KYC_RETRY:
        return ""
    record = kyc_operations.record_for(order_ref=order.ref)
    return record.message if record else ""
