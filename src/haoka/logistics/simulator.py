"""Courier simulator ("SimExpress"), contract in docs/integrations.md.

A separate process (``haoka simulate courier``, port 8103): no Django, state in memory.

- ``POST /v1/shipments`` (signed; idempotent by ``reference``) → ``201 {"tracking_no",
  "courier": "SIMEXPRESS"}``; the parcel starts as CREATED.
- Tracking over simulated time (divided by ``time_scale``), each step pushed as a signed
  ``parcel.tracking`` event to ``--callback-url`` (haoka's courier webhook):
  PICKED_UP 已揽收 45-75 min after the shipment is created; IN_TRANSIT 运输中 2-4 h later;
  OUT_FOR_DELIVERY 派送中 the next morning, 15-18 h later; DELIVERED 已签收 2-4 h later
  (about 24 h after shipping). On delivery the shipment's ``notify_url`` (the carrier) also
  gets ``parcel.delivered``.
- ``GET /v1/parcels/<tracking_no>`` (signed) → the parcel with its events and the full ICCID
  (sandbox only: it stands for the card in the consumer's hand).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from haoka import simkit
from haoka.simkit import SimError, field

COURIER = "SIMEXPRESS"
HOUR = 3600.0
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8000/api/v1/callbacks/couriers/simexpress"
_ID_RNG = random.SystemRandom()  # identifiers never come from the seed (see haoka.simkit)


@dataclasses.dataclass
class Parcel:
    tracking_no: str
    reference: str
    iccid: str
    receiver: str
    phone: str
    address: dict[str, str]
    notify_url: str
    rng: random.Random
    status: str = "CREATED"
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "tracking_no": self.tracking_no, "reference": self.reference, "courier": COURIER,
            "status": self.status, "iccid": self.iccid, "events": list(self.events),
        }  # fmt: skip


def _steps(address: dict[str, str]) -> list[tuple[str, tuple[float, float], str, str]]:
    """(status, simulated delay range in seconds, description, location) of each step."""
    city = address.get("city") or address.get("province") or "目的地"
    district = address.get("district", "")
    return [
        ("PICKED_UP", (0.75 * HOUR, 1.25 * HOUR), "已揽收：模拟快递已揽收快件", "东莞SIM卡仓"),
        ("IN_TRANSIT", (2 * HOUR, 4 * HOUR), f"运输中：快件已发往{city}转运中心", "东莞转运中心"),
        (
            "OUT_FOR_DELIVERY", (15 * HOUR, 18 * HOUR),
            "派送中：快递员正在派送，请保持电话畅通", f"{city}{district}营业部",
        ),
        (
            "DELIVERED", (2 * HOUR, 4 * HOUR),
            "已签收：本人签收，感谢使用模拟快递", f"{city}{district}",
        ),
    ]  # fmt: skip


def _address(value: Any) -> dict[str, str]:
    """The address as parts; a plain string goes into ``detail``.

    Raises SimError (400, invalid_request, field=address).
    """
    if isinstance(value, str) and value.strip():
        return {"province": "", "city": "", "district": "", "detail": value}
    if isinstance(value, dict) and any(isinstance(v, str) and v for v in value.values()):
        return {k: str(value.get(k) or "") for k in ("province", "city", "district", "detail")}
    raise SimError(400, "invalid_request", field="address")


class Courier:
    """The courier's state and handlers."""

    def __init__(self, sim: simkit.Sim) -> None:
        self.sim = sim
        self.parcels: dict[str, Parcel] = {}
        self.by_reference: dict[str, dict[str, Any]] = {}

    async def create(self, request: Request, body: bytes) -> Response:
        data = simkit.parse_json(body)
        self.sim.stats["create_requests"] += 1
        reference = field(data, "reference")
        if reference in self.by_reference:
            self.sim.stats["repeats"] += 1
            return JSONResponse(self.by_reference[reference], status_code=201)
        iccid = field(data, "iccid")
        parcel = Parcel(
            tracking_no=self._new_tracking_no(), reference=reference, iccid=iccid,
            receiver=field(data, "receiver"), phone=field(data, "phone"),
            address=_address(data.get("address")),
            notify_url=field(data, "notify_url", optional=True) or "",
            rng=self.sim.rng_for(reference),
        )  # fmt: skip
        answer = {"tracking_no": parcel.tracking_no, "courier": COURIER}
        self.parcels[parcel.tracking_no] = parcel
        self.by_reference[reference] = answer
        self.sim.stats["created"] += 1
        self.sim.spawn(self._run(parcel))
        return JSONResponse(answer, status_code=201)

    def _new_tracking_no(self) -> str:
        while True:
            tracking_no = f"SX{_ID_RNG.randrange(10**12):012d}"
            if tracking_no not in self.parcels:
                return tracking_no

    async def _run(self, parcel: Parcel) -> None:
        for status, delay, description, location in _steps(parcel.address):
            await self.sim.sleep(parcel.rng.uniform(*delay))
            event = {
                "status": status, "description": description, "location": location,
                "occurred_at": simkit.now_iso(),
            }  # fmt: skip
            parcel.status = status
            parcel.events.append(event)
            payload = {
                "type": "parcel.tracking", "tracking_no": parcel.tracking_no,
                "reference": parcel.reference, **event,
            }  # fmt: skip
            self._send(self.sim.config.callback_url, payload, parcel)
            if status == "DELIVERED":
                self._send(parcel.notify_url, {**payload, "type": "parcel.delivered"}, parcel)

    def _send(self, url: str, payload: dict[str, Any], parcel: Parcel) -> None:
        if url:  # no webhook configured: nobody to tell
            self.sim.callbacks.send(
                url=url, payload=payload, key=parcel.tracking_no, rng=parcel.rng
            )

    async def show(self, request: Request, body: bytes) -> Response:
        parcel = self.parcels.get(request.path_params["tracking_no"])
        if parcel is None:
            raise SimError(404, "unknown_parcel")
        return JSONResponse(parcel.view())

    def extra_stats(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for parcel in self.parcels.values():
            by_status[parcel.status] = by_status.get(parcel.status, 0) + 1
        return {"parcels": len(self.parcels), "parcels_by_status": by_status}


def create_app(
    config: simkit.SimConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
):
    """The courier's Starlette app. ``transport`` replaces the network for callbacks (tests)."""
    sim = simkit.Sim(
        config or simkit.SimConfig(callback_url=DEFAULT_CALLBACK_URL), transport=transport
    )
    courier = Courier(sim)
    routes = [
        simkit.api_route(sim, "/v1/shipments", courier.create, methods=["POST"]),
        simkit.api_route(sim, "/v1/parcels/{tracking_no}", courier.show, methods=["GET"]),
        *simkit.sim_routes(sim, extra_stats=courier.extra_stats),
    ]
    app = simkit.build_app(sim, routes)
    app.state.courier = courier
    return app
