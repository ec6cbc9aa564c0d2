from __future__ import annotations

from ninja import Router

from haoka.carriers import operations
from haoka.core import clock

router = Router(tags=["carriers"])


@router.post("/callbacks/carriers/{carrier}", auth=None)
def carrier_callback(request, carrier: str):
    """Signed callbacks from carriers (accepted, rejected, shipped, delivered, activated)."""
    fresh = operations.receive_callback(
        carrier=carrier,
        body=request.body,
        signature=request.headers.get("X-Haoka-Signature"),
        now=clock.now(),
    )
    return {"ok": True, "duplicate": not fresh}
