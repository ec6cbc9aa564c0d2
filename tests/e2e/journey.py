"""One consumer's whole journey over HTTP, as a script or a library for the end-to-end and
fault tests and the checkout benchmark: OTP sign-in, pick and hold a number, order, real-name,
sign, pay on the gateway's page, wait for the card, read its ICCID from the parcel, activate."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import httpx

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def id_number(serial: int, *, area: str = "440305", birth: str = "19900101") -> str:
    """A valid GB 11643 ID number (made up: never a real person's)."""
    body = f"{area}{birth}{serial % 1000:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


class JourneyError(AssertionError):
    pass


@dataclass
class Shopper:
    base: str
    phone: str
    client: httpx.Client = field(init=False)
    token: str = ""

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def _check(self, response: httpx.Response, *expected: int) -> dict:
        if response.status_code not in (expected or (200,)):
            raise JourneyError(
                f"{response.request.method} {response.request.url.path} -> "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def call(self, method: str, path: str, *expected: int, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self._check(self.client.request(method, path, headers=headers, **kwargs), *expected)

    def sign_in(self) -> None:
        self.call("POST", "/api/v1/auth/otp", json={"phone": self.phone})
        sms = self.call("GET", "/api/v1/sandbox/sms", params={"phone": self.phone})
        code = re.search(r"(\d{6})", sms[0]["text"]).group(1)
        self.token = self.call(
            "POST", "/api/v1/auth/login", json={"phone": self.phone, "code": code}
        )["token"]

    def hold_number(self, *, carrier: str, skip: int = 0) -> str:
        numbers = self.call(
            "GET", "/api/v1/numbers", params={"carrier": carrier, "sort": "price", "limit": 50}
        )["items"]
        for number in numbers[skip:] + numbers[:skip]:
            response = self.client.post(
                f"/api/v1/numbers/{number['msisdn']}/reserve",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            if response.status_code == 201:
                return number["msisdn"]
        raise JourneyError("no number could be held")

    def order(self, *, plan: str, msisdn: str, serial: int, name: str = "张三") -> dict:
        address = {
            "province": "广东",
            "city": "深圳",
            "district": "南山区",
            "detail": f"科技园路 {serial} 号",
            "receiver": name,
            "phone": self.phone,
        }
        order = self.call(
            "POST",
            "/api/v1/orders",
            201,
            json={
                "plan_code": plan,
                "msisdn": msisdn,
                "contact_phone": self.phone,
                "shipping_address": address,
            },
        )
        ref = order["ref"]
        self.call(
            "POST", f"/api/v1/orders/{ref}/kyc", json={"name": name, "id_number": id_number(serial)}
        )
        self.call("GET", f"/api/v1/orders/{ref}/contract")
        return self.call(
            "POST", f"/api/v1/orders/{ref}/contract", json={"accept": True, "signature_name": name}
        )

    def pay(self, ref: str) -> None:
        started = self.call("POST", f"/api/v1/orders/{ref}/payment", 201, json={"method": "wechat"})
        confirm = httpx.post(f"{started['pay_url']}/confirm", timeout=30)
        if confirm.status_code != 200:
            raise JourneyError(f"confirm -> {confirm.status_code} {confirm.text[:200]}")

    def wait_for(self, ref: str, states: set[str], *, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            order = self.call("GET", f"/api/v1/orders/{ref}")
            if order["state"] in states:
                return order
            if time.monotonic() > deadline:
                raise JourneyError(f"{ref} stuck in {order['state']}: {order['events'][-3:]}")
            time.sleep(0.3)

    def activate(self, ref: str, tracking_no: str) -> dict:
        parcel = self.call("GET", f"/api/v1/sandbox/parcels/{tracking_no}")
        return self.call(
            "POST", f"/api/v1/orders/{ref}/activate", json={"iccid_last6": parcel["iccid"][-6:]}
        )


def whole_journey(
    *,
    base: str,
    phone: str,
    serial: int,
    plan: str = "CM-MANGO-39",
    carrier: str = "CMCC",
    timeout: float = 60,
) -> dict:
    shopper = Shopper(base=base, phone=phone)
    shopper.sign_in()
    msisdn = shopper.hold_number(carrier=carrier, skip=serial % 50)
    order = shopper.order(plan=plan, msisdn=msisdn, serial=serial)
    if order["next_action"] == "payment":
        shopper.pay(order["ref"])
    order = shopper.wait_for(order["ref"], {"DELIVERED", "CARRIER_REJECTED"}, timeout=timeout)
    if order["state"] == "DELIVERED":
        order = shopper.activate(order["ref"], order["tracking_no"])
    return order


if __name__ == "__main__":
    import sys

    result = whole_journey(base=sys.argv[1], phone=sys.argv[2], serial=int(sys.argv[3]))
    print(result["state"], result["ref"], [e["to_state"] for e in result["events"]])
