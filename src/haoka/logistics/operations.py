"""Use cases of logistics: shipments from carrier events, courier tracking callbacks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from haoka.core import jsonio, signing
from haoka.core.errors import HaokaError, ValidationError
from haoka.logistics import domain
from haoka.logistics.domain import ShipmentStatus
from haoka.logistics.models import Shipment, TrackingEvent

COURIERS = frozenset({"simexpress"})


class BadCourierSignature(HaokaError):
    code = "bad_signature"
    status = 401
    message = "回调签名无效"


class UnknownCourier(HaokaError):
    code = "unknown_courier"
    status = 404
    message = "未知的快递公司"


def record_shipment(
    *, order_ref: str, courier: str, tracking_no: str, now: dt.datetime
) -> Shipment:
    """Idempotent by order_ref (a carrier's "shipped" may arrive twice)."""
    shipment, _ = Shipment.objects.get_or_create(
        order_ref=order_ref,
        defaults={"courier": courier, "tracking_no": tracking_no, "created_at": now},
    )
    return shipment


def receive_tracking(*, courier: str, body: bytes, signature: str | None, now: dt.datetime) -> bool:
    """A signed courier scan. Returns False for a repeat. Raises BadCourierSignature,
    UnknownCourier, ValidationError."""
    if courier not in COURIERS:
        raise UnknownCourier(courier=courier)
    try:
        signing.verify(
            secret=settings.COURIER_API_SECRET, body=body, header=signature, now=now.timestamp()
        )
    except signing.SignatureError as exc:
        raise BadCourierSignature(reason=exc.reason) from None
    try:
        event = jsonio.loads(body)
        occurred = parse_datetime(str(event["occurred_at"])) or now
        row = {
            "event_id": str(event["event_id"])[:80],
            "tracking_no": str(event["tracking_no"])[:40],
            "status": str(event["status"])[:20],
            "description": str(event.get("description", ""))[:200],
            "location": str(event.get("location", ""))[:100],
            "occurred_at": occurred,
            "received_at": now,
        }
    except (ValueError, KeyError, TypeError):
        raise ValidationError("回调内容无法解析") from None
    with transaction.atomic():
        try:
            with transaction.atomic():
                TrackingEvent.objects.create(**row)
        except IntegrityError:
            return False
        shipment = (
            Shipment.objects.select_for_update().filter(tracking_no=row["tracking_no"]).first()
        )
        # A late scan never moves a parcel backwards (see domain.MACHINE).
        if shipment is not None and domain.advances(current=shipment.status, scanned=row["status"]):
            shipment.status = row["status"]
            if row["status"] == ShipmentStatus.DELIVERED:
                shipment.delivered_at = occurred
            shipment.save(update_fields=["status", "delivered_at"])
    return True
