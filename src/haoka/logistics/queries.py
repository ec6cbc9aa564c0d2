from __future__ import annotations

from haoka.logistics import domain
from haoka.logistics.models import Shipment, TrackingEvent


def shipment_for(*, order_ref: str) -> Shipment | None:
    return Shipment.objects.filter(order_ref=order_ref).first()


def tracking(*, tracking_no: str) -> list[TrackingEvent]:
    return list(TrackingEvent.objects.filter(tracking_no=tracking_no).order_by("occurred_at", "id"))


def courier_name(code: str) -> str:
    """The courier's Chinese name (an unknown code as it is, none as 快递)."""
    return domain.courier_name(code)
