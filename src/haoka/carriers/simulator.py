"""Carrier order/activation API simulator, one process for every carrier code (CMCC, CUCC,
CTCC, CBN, HAOKA); contract in docs/integrations.md.

A separate process (``haoka simulate carrier``, port 8102): no Django, state in memory.

An order's life, in simulated seconds (divided by ``time_scale``):

- ``POST /v1/<carrier>/orders`` answers 202 RECEIVED at once (idempotent by ``order_id``).
- 20-60 s later the carrier's own checks: rejected (``order.rejected`` with ``reason`` and
  ``reason_code``) when the customer's name contains 拒 (NAME_CHECK_FAILED), when the msisdn is
  not in this carrier's segments (MSISDN_NOT_OF_CARRIER), or with probability ``reject_rate``
  (RISK_CONTROL); otherwise accepted with a Luhn-valid 20-digit ICCID (``8986`` + issuer code
  = the MNC + 13 digits + check digit) and an IMSI (``460`` + MNC + 10 digits).
- 2-6 h later shipped: the card goes to the courier simulator (``POST <courier>/v1/shipments``,
  ``reference`` = haoka's ``order_id``, retried until it answers), then ``order.shipped``.
- The courier reports ``parcel.delivered`` to ``POST /_courier/notify`` (signed) about 24 h
  after shipping; the carrier sends ``order.delivered``.
- ``POST .../activate`` with the ICCID's last six digits activates at once (200);
  ``order.activated`` follows 3-8 s later.

With ``time_scale=3600`` the journey takes about 28 real seconds on average (at most ~34 s).
Every callback body also carries ``carrier_order_id``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from haoka import simkit
from haoka.simkit import SimError, field

#: MNC (and ICCID issuer code) per carrier; HAOKA is an MVNO hosted by China Unicom.
MNC = {"CMCC": "00", "CUCC": "01", "CTCC": "03", "CBN": "15", "HAOKA": "01"}
#: Number segments (3- or 4-digit prefixes) each carrier accepts.
SEGMENTS: dict[str, tuple[str, ...]] = {
    "CMCC": (
        "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158",
        "159", "172", "178", "182", "183", "184", "187", "188", "195", "197", "198",
    ),
    "CUCC": (
        "130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186", "196",
    ),
    "CTCC": (
        "133", "149", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199",
    ),
    "CBN": ("192", "1610"),
    "HAOKA": ("170", "171", "167", "165", "162"),
}  # fmt: skip
_ID_RNG = random.SystemRandom()  # identifiers never come from the seed (see haoka.simkit)
_REJECTIONS = {
    "NAME_CHECK_FAILED": "实名信息未通过运营商校验",
    "MSISDN_NOT_OF_CARRIER": "号码不属于本运营商号段",
    "RISK_CONTROL": "运营商风控审核未通过",
}


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit to append to the digit string ``payload``."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    """Whether the last digit of ``number`` is its Luhn check digit."""
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def allocate_iccid(*, carrier: str, rng: random.Random) -> str:
    """A 20-digit ICCID: 89 (telecom) 86 (China), issuer = MNC, 13 digits, Luhn check digit."""
    payload = f"8986{MNC[carrier]}{rng.randrange(10**13):013d}"
    return payload + luhn_check_digit(payload)


def allocate_imsi(*, carrier: str, rng: random.Random) -> str:
    """A 15-digit IMSI: MCC 460, the carrier's MNC, 10 digits."""
    return f"460{MNC[carrier]}{rng.randrange(10**10):010d}"


def msisdn_of_carrier(*, carrier: str, msisdn: str) -> bool:
    return msisdn.startswith(SEGMENTS[carrier])


@dataclasses.dataclass
class Order:
    carrier: str
    order_id: str
    carrier_order_id: str
    request: dict[str, Any]
    callback_url: str
    notify_url: str  # where the courier reports delivery: this simulator's /_courier/notify
    rng: random.Random
    status: str = "RECEIVED"
    reason: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    tracking_no: str | None = None
    activated_at: str | None = None
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id, "carrier": self.carrier,
            "carrier_order_id": self.carrier_order_id, "status": self.status,
            "reason": self.reason, "iccid": self.iccid, "imsi": self.imsi,
            "tracking_no": self.tracking_no, "activated_at": self.activated_at,
            "events": list(self.events),
        }  # fmt: skip


class CarrierApi:
    """The carriers' state and handlers."""

    def __init__(self, sim: simkit.Sim) -> None:
        self.sim = sim
        self.orders: dict[tuple[str, str], Order] = {}
        self.first_answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_tracking: dict[str, Order] = {}
        self.iccids: set[str] = set()
        self.seen_courier_events: set[str] = set()

    @staticmethod
    def _carrier(request: Request) -> str:
        carrier = request.path_params["carrier"].upper()
        if carrier not in MNC:
            raise SimError(404, "unknown_carrier")
        return carrier

    def _order(self, request: Request) -> Order:
        order = self.orders.get((self._carrier(request), request.path_params["order_id"]))
        if order is None:
            raise SimError(404, "unknown_order")
        return order

    def _emit(self, order: Order, kind: str, **extra: Any) -> None:
        payload = {
            "type": kind, "order_id": order.order_id, "carrier": order.carrier,
            "carrier_order_id": order.carrier_order_id, "occurred_at": simkit.now_iso(), **extra,
        }  # fmt: skip
        event_id = self.sim.callbacks.send(
            url=order.callback_url, payload=payload, key=f"{order.carrier}:{order.order_id}",
            rng=order.rng,
        )  # fmt: skip
        order.events.append(
            {"event_id": event_id, "type": kind, "occurred_at": payload["occurred_at"]}
        )

    async def create(self, request: Request, body: bytes) -> Response:
        carrier = self._carrier(request)
        data = simkit.parse_json(body)
        self.sim.stats["create_requests"] += 1
        key = (carrier, field(data, "order_id"))
        if key in self.first_answers:
            self.sim.stats["repeats"] += 1
            return JSONResponse(self.first_answers[key], status_code=202)
        _validate_order(data)
        callback_url = field(data, "callback_url", optional=True) or self.sim.config.callback_url
        if not callback_url:
            raise SimError(400, "invalid_request", field="callback_url")
        order = Order(
            carrier=carrier, order_id=key[1], carrier_order_id=simkit.new_id(carrier.lower()),
            request=data, callback_url=callback_url,
            notify_url=str(request.base_url).rstrip("/") + "/_courier/notify",
            rng=self.sim.rng_for(f"{carrier}:{key[1]}"),
        )  # fmt: skip
        answer = {"order_id": key[1], "carrier_order_id": order.carrier_order_id}
        self.first_answers[key] = {**answer, "status": "RECEIVED"}
        self.orders[key] = order
        self.sim.stats["created"] += 1
        self.sim.spawn(self._run(order))
        return JSONResponse(self.first_answers[key], status_code=202)

    async def _run(self, order: Order) -> None:
        rng = order.rng
        await self.sim.sleep(rng.uniform(20, 60))
        risky = rng.random() < self.sim.config.reject_rate
        msisdn = order.request["msisdn"]
        code = None
        if "拒" in order.request["customer"]["name"]:
            code = "NAME_CHECK_FAILED"
        elif not msisdn_of_carrier(carrier=order.carrier, msisdn=msisdn):
            code = "MSISDN_NOT_OF_CARRIER"
        elif risky:
            code = "RISK_CONTROL"
        if code is not None:
            order.status, order.reason = "REJECTED", _REJECTIONS[code]
            self._emit(order, "order.rejected", reason=order.reason, reason_code=code)
            return
        order.iccid = self._new_iccid(order.carrier)
        order.imsi = allocate_imsi(carrier=order.carrier, rng=_ID_RNG)
        order.status = "ACCEPTED"
        self._emit(order, "order.accepted", iccid=order.iccid, imsi=order.imsi)
        await self.sim.sleep(rng.uniform(2 * 3600, 6 * 3600))
        order.tracking_no = await self._ship(order)
        order.status = "SHIPPED"
        self.by_tracking[order.tracking_no] = order
        self._emit(order, "order.shipped", courier="SIMEXPRESS", tracking_no=order.tracking_no)

    def _new_iccid(self, carrier: str) -> str:
        while True:
            iccid = allocate_iccid(carrier=carrier, rng=_ID_RNG)
            if iccid not in self.iccids:
                self.iccids.add(iccid)
                return iccid

    async def _ship(self, order: Order) -> str:
        """Hand the card to the courier; retried (backoff up to 30 s) until it answers 2xx."""
        address = order.request["shipping_address"]
        payload = {
            "reference": order.order_id, "iccid": order.iccid, "receiver": address["receiver"],
            "phone": address["phone"], "notify_url": order.notify_url,
            "address": {k: address.get(k, "") for k in ("province", "city", "district", "detail")},
        }  # fmt: skip
        url = self.sim.config.courier_url.rstrip("/") + "/v1/shipments"
        backoff = 0.5
        while True:
            try:
                response = await self.sim.post_signed(url, payload)
                if response.is_success:
                    return response.json()["tracking_no"]
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            self.sim.stats["courier_errors"] += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def show(self, request: Request, body: bytes) -> Response:
        return JSONResponse(self._order(request).view())

    async def activate(self, request: Request, body: bytes) -> Response:
        order = self._order(request)
        last6 = field(simkit.parse_json(body), "iccid_last6")
        if order.status not in ("DELIVERED", "ACTIVATED"):
            raise SimError(409, "not_delivered")
        if order.iccid is None or last6 != order.iccid[-6:]:
            raise SimError(422, "iccid_mismatch")
        if order.status == "DELIVERED":
            order.status, order.activated_at = "ACTIVATED", simkit.now_iso()
            self.sim.spawn(self._activated_later(order))
        answer = {"order_id": order.order_id, "status": "ACTIVATED"}
        return JSONResponse({**answer, "activated_at": order.activated_at})

    async def _activated_later(self, order: Order) -> None:
        await self.sim.sleep(order.rng.uniform(3, 8))
        self._emit(order, "order.activated", activated_at=order.activated_at)

    async def courier_notify(self, request: Request, body: bytes) -> Response:
        """The courier's ``parcel.delivered`` (signed). Repeats answer 200 without acting."""
        data = simkit.parse_json(body)
        event_id = field(data, "event_id")
        if event_id in self.seen_courier_events or data.get("type") != "parcel.delivered":
            return JSONResponse({"status": "ignored"})
        order = self.by_tracking.get(field(data, "tracking_no"))
        if order is None:
            # Why 404: the courier retries; the order may not have recorded its tracking_no yet.
            raise SimError(404, "unknown_parcel")
        self.seen_courier_events.add(event_id)
        if order.status == "SHIPPED":
            order.status = "DELIVERED"
            self._emit(order, "order.delivered", tracking_no=order.tracking_no)
        return JSONResponse({"status": "ok"})

    def extra_stats(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for order in self.orders.values():
            by_status[order.status] = by_status.get(order.status, 0) + 1
        return {"orders": len(self.orders), "orders_by_status": by_status}


def _validate_order(data: dict[str, Any]) -> None:
    """Raises SimError (400, invalid_request, field=...) for a malformed order."""
    field(data, "plan_code")
    msisdn = field(data, "msisdn")
    if not (len(msisdn) == 11 and msisdn.isdigit() and msisdn.startswith("1")):
        raise SimError(400, "invalid_request", field="msisdn")
    for name, keys in (
        ("customer", ("name", "id_number")),
        ("shipping_address", ("province", "city", "detail", "receiver", "phone")),
    ):
        part = data.get(name)
        if not isinstance(part, dict):
            raise SimError(400, "invalid_request", field=name)
        for key in keys:
            try:
                field(part, key)
            except SimError:
                raise SimError(400, "invalid_request", field=f"{name}.{key}") from None


def create_app(
    config: simkit.SimConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
):
    """The carriers' Starlette app. ``transport`` replaces the network (tests)."""
    sim = simkit.Sim(config or simkit.SimConfig(), transport=transport)
    api = CarrierApi(sim)
    base = "/v1/{carrier}/orders"
    routes = [
        simkit.api_route(sim, base, api.create, methods=["POST"]),
        simkit.api_route(sim, base + "/{order_id}", api.show, methods=["GET"]),
        simkit.api_route(sim, base + "/{order_id}/activate", api.activate, methods=["POST"]),
        simkit.api_route(
            sim, "/_courier/notify", api.courier_notify, methods=["POST"], faults=False
        ),
        *simkit.sim_routes(sim, extra_stats=api.extra_stats),
    ]
    app = simkit.build_app(sim, routes)
    app.state.carrier_api = api
    return app
