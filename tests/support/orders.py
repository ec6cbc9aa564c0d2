"""Orders tests in one process: a fake carrier adapter, the payments tests' fake gateway,
signed carrier callbacks over the test client, and a checkout driver."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.carriers.adapter import (
    Activation,
    CarrierOrder,
    CarrierRefused,
    CarrierUnavailable,
    CircuitOpen,
    SubmitResult,
)
from haoka.core import signing
from haoka.orders.models import Order
from tests.support.journey import id_number
from tests.support.payments import FakeGateway, deliver

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # the payments fakes sign for this instant
SECRET = "sandbox-secret"
ICCID = "89860312345678901234"
_events = itertools.count(1)

__all__ = ["FakeGateway", "deliver", "id_number"]


@dataclass
class FakeCarrier:
    """The carrier adapter in memory. ``faults``: what the next submissions meet
    ("down" = unavailable, "refuse" = a 4xx)."""

    submitted: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    #: what the carrier knows of each order (status, iccid, imsi), for ``query_order``
    remote: dict[str, dict] = field(default_factory=dict)

    def submit_order(self, request):
        fault = self.faults.pop(0) if self.faults else None
        if fault == "open":
            raise CircuitOpen(carrier=request.carrier, reason="circuit open")
        if fault == "down":
            raise CarrierUnavailable(carrier=request.carrier, reason="HTTP 503")
        if fault == "refuse":
            raise CarrierRefused(carrier=request.carrier, status=422, error="invalid_customer")
        self.submitted.append(request.order_ref)
        return SubmitResult(carrier_order_id=f"C-{request.order_ref}", status="RECEIVED")

    def query_order(self, *, carrier, order_ref):
        known = {"status": "ACCEPTED", **self.remote.get(order_ref, {})}
        return CarrierOrder(order_ref=order_ref, carrier_order_id=f"C-{order_ref}", **known)

    def activate(self, *, carrier, order_ref, iccid_last6):
        self.activated.append(order_ref)
        return Activation(status="ACTIVATED", activated_at=T0.isoformat())


def carrier_callback(
    client,
    order: Order,
    event_type: str,
    *,
    event_id: str | None = None,
    at: dt.datetime = T0,
    secret: str = SECRET,
    **data,
):
    body = json.dumps(
        {
            "event_id": event_id or f"cev_{next(_events)}",
            "type": event_type,
            "order_id": order.ref,
            "carrier": order.carrier_code,
            "occurred_at": at.isoformat(),
            **data,
        }
    ).encode()
    header = signing.sign(secret=secret, body=body, timestamp=int(at.timestamp()))
    return client.post(
        f"/api/v1/callbacks/carriers/{order.carrier_code}",
        data=body,
        content_type="application/json",
        headers={"X-Haoka-Signature": header},
    )


@dataclass
class Buyer:
    client: object
    user: User
    token: str
    serial: int

    def call(self, method: str, path: str, body: dict | None = None):
        kwargs = {"headers": {"Authorization": f"Bearer {self.token}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def hold_and_order(
        self, *, msisdn: str, plan: str, name: str = "李四", expect: int = 201, **address
    ) -> dict:
        """Reserve ``msisdn`` and order it; ``address`` overrides fields of the shipping
        address (province="广东省"...)."""
        assert self.call("post", f"/numbers/{msisdn}/reserve").status_code == 201
        response = self.call(
            "post",
            "/orders",
            {
                "plan_code": plan,
                "msisdn": msisdn,
                "contact_phone": self.user.phone,
                "shipping_address": {
                    "province": "广东",
                    "city": "深圳",
                    "district": "南山区",
                    "detail": f"科技园 {self.serial} 号",
                    "receiver": name,
                    "phone": self.user.phone,
                    **address,
                },
            },
        )
        assert response.status_code == expect, response.content
        return response.json()

    def kyc_and_sign(self, ref: str, *, name: str = "李四") -> dict:
        kyc = self.call(
            "post", f"/orders/{ref}/kyc", {"name": name, "id_number": id_number(self.serial)}
        )
        assert kyc.status_code == 200 and kyc.json()["state"] == "KYC_PASSED", kyc.content
        signed = self.call(
            "post", f"/orders/{ref}/contract", {"accept": True, "signature_name": name}
        )
        assert signed.status_code == 200, signed.content
        return signed.json()


def make_buyer(client, serial: int) -> Buyer:
    phone = f"137{serial:08d}"
    user = User.objects.create(username=phone, phone=phone)
    return Buyer(
        client=client,
        user=user,
        token=account_ops._issue_session(user=user, now=T0).token,
        serial=serial,
    )
