from __future__ import annotations

import re

from django.conf import settings
from ninja import Router

from haoka.core import clock
from haoka.core.errors import HaokaError, NotFound
from haoka.core.outbound import SignedJsonClient, Unavailable, segment
from haoka.logistics import operations

router = Router(tags=["logistics"])
#: What a courier's tracking number looks like (logistics.models.Parcel.tracking_no: 40 at most).
TRACKING_NO = re.compile(r"[A-Za-z0-9-]{1,40}")


class CourierUnavailable(HaokaError):
    code = "courier_unavailable"
    status = 503
    message = "快递系统暂时不可用"


@router.post("/callbacks/couriers/{courier}", auth=None)
def courier_callback(request, courier: str):
    """Signed tracking scans from the courier."""
    fresh = operations.receive_tracking(
        courier=courier,
        body=request.body,
        signature=request.headers.get("X-Haoka-Signature"),
        now=clock.now(),
    )
    return {"ok": True, "duplicate": not fresh}


@router.get("/sandbox/parcels/{tracking_no}")
def sandbox_parcel(request, tracking_no: str):
    """Sandbox only: the parcel as the courier has it, with the card's full ICCID (stands in for
    the card in the consumer's hand). The order API never shows the full ICCID."""
    if not settings.SANDBOX:
        raise NotFound()
    if not TRACKING_NO.fullmatch(tracking_no):  # nothing else can be a parcel: ask nobody
        raise NotFound("包裹不存在", tracking_no=tracking_no)
    client = SignedJsonClient(
        name="courier",
        base_url=settings.COURIER_API_URL,
        secret=settings.COURIER_API_SECRET,
        attempts=2,
    )
    try:
        reply = client.call("GET", f"/v1/parcels/{segment(tracking_no)}")
    except Unavailable:
        raise CourierUnavailable() from None
    if reply.status != 200:
        raise NotFound("包裹不存在", tracking_no=tracking_no)
    return reply.body
