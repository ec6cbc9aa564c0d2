"""Order page test helpers: a fake carrier adapter and payment gateway (no outside process),
and the signed callbacks the carrier, gateway and courier send to haoka."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass, field

import httpx

from haoka.carriers.adapter import Activation, SubmitResult
from haoka.core import signing
from haoka.payments.gateway import GatewayPayment, GatewayRefund

SECRET = "sandbox-secret"  # carrier, gateway and courier secrets in the test settings
ICCID = "89860012345678901234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_ids = itertools.count(1)


@dataclass
class FakeCarrier:
    """What ``haoka.carriers.http.adapter()`` is asked: submit, query, activate."""

    submitted: list = field(default_factory=list)
    activated: list = field(default_factory=list)

    def submit_order(self, request):
        self.submitted.append(request)
        return SubmitResult(carrier_order_id=f"C-{request.order_ref}", status="RECEIVED")

    def query_order(self, *, carrier: str, order_ref: str):
        return None

    def activate(self, *, carrier: str, order_ref: str, iccid_last6: str):
        self.activated.append((carrier, order_ref, iccid_last6))
        return Activation(status="ACTIVATED", activated_at=dt.datetime.now(dt.UTC).isoformat())


@dataclass
class FakeGateway:
    """The payment gateway's contract in memory (``haoka.payments.gateway.PaymentGateway``)."""

    name: str = "sandbox"
    payments: dict = field(default_factory=dict)  # merchant_order_id -> GatewayPayment
    #: The cashier sends the payer straight back (to ``return_url``) without paying yet.
    cashier_returns: bool = False

    def create_payment(self, *, merchant_order_id, amount_fen, method, return_url="", **kwargs):
        if merchant_order_id not in self.payments:
            pid = f"gw{next(_ids)}"
            self.payments[merchant_order_id] = GatewayPayment(
                payment_id=pid,
                merchant_order_id=merchant_order_id,
                amount_fen=amount_fen,
                status="PENDING",
                pay_url=return_url if self.cashier_returns else f"http://gateway.test/pay/{pid}",
            )
        return self.payments[merchant_order_id]

    def query_payment(self, *, payment_id):
        return next(p for p in self.payments.values() if p.payment_id == payment_id)

    def close_payment(self, *, payment_id):
        return None

    def refund(self, *, refund_id, payment_id, amount_fen, reason):
        return GatewayRefund(refund_id, payment_id, amount_fen, "SUCCEEDED")

    def paid_notification(self) -> dict:
        """The payer confirmed the (only) payment: what the gateway notifies."""
        (payment,) = self.payments.values()
        return {
            "event_id": f"evt-{payment.payment_id}",
            "type": "payment.succeeded",
            "payment_id": payment.payment_id,
            "merchant_order_id": payment.merchant_order_id,
            "amount_fen": payment.amount_fen,
            "method": "wechat",
            "paid_at": dt.datetime.now(dt.UTC).isoformat(),
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        }


def signed_post(client, path: str, payload: dict):
    """POST as the outside system does, through Django's test client or an ``httpx.Client``
    (for a live server)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    header = {signing.HEADER: signing.sign(secret=SECRET, body=body)}
    if isinstance(client, httpx.Client):
        response = client.post(
            path, content=body, headers={**header, "Content-Type": "application/json"}
        )
        response.raise_for_status()
        return response
    return client.post(path, data=body, content_type="application/json", headers=header)


def pay(client, gateway: FakeGateway):
    return signed_post(client, "/api/v1/callbacks/payments/sandbox", gateway.paid_notification())


def carrier_event(client, *, ref: str, carrier: str, type: str, **data):
    event = {
        "event_id": f"{ref}-{type}",
        "type": type,
        "order_id": ref,
        "carrier": carrier,
        "carrier_order_id": f"C-{ref}",
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        **data,
    }
    return signed_post(client, f"/api/v1/callbacks/carriers/{carrier}", event)


def courier_scan(client, *, ref: str, tracking_no: str, status: str, description: str):
    return signed_post(
        client,
        "/api/v1/callbacks/couriers/simexpress",
        {
            "event_id": f"{tracking_no}-{status}",
            "type": "parcel.tracking",
            "tracking_no": tracking_no,
            "reference": ref,
            "status": status,
            "description": description,
            "location": "深圳转运中心",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        },
    )


def order_ref(response) -> str:
    """The ref of the order page a response redirected to."""
    return re.fullmatch(r"/orders/(HK[0-9A-Z]+)/", response["Location"]).group(1)


ADDRESS = {
    "receiver": "张三",
    "phone": "13700000001",
    "province_code": "44",  # 广东省 深圳市 南山区
    "city_code": "4403",
    "district_code": "440305",
    "detail": "科技园路 1 号",
}
