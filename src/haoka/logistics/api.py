from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from ninja import Router

from haoka.core import clock
from haoka.core.errors import HaokaError, NotFound
from haoka.core.outbound import SignedJsonClient, Unavailable
from haoka.logistics import operations

router = Router(tags=["logistics"])


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
    client = SignedJsonClient(
        name="courier",
        base_url=settings.COURIER_API_URL,
        secret=settings.COURIER_API_SECRET,
        attempts=2,
    )
    try:
        # Quoted: a path segment from the caller may hold characters no URL may (a newline).
        reply = client.call("GET", f"/v1/parcels/{quote(tracking_no, safe='')}")
    except Unavailable:
        raise CourierUnavailable() from None
    if reply.status != 200:
        raise NotFound("包裹不存在", tracking_no=tracking_no)
    return reply.body
