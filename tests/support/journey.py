"""One consumer's whole journey over HTTP, as a script or a library for the end-to-end and
fault tests and the checkout benchmark: OTP sign-in, pick and hold a number, order, real-name,
sign, pay on the gateway's page, wait for the card, read its ICCID from the parcel, activate."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import httpx

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
#: Sequence numbers per birth date: 000-998 (the sandbox verifier refuses 999).
SEQUENCES = 999
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国文辉鹏飞云"
#: Answers worth trying again a moment later (the carrier or the gateway is having a bad time).
TRANSIENT = {502, 503, 504}


def id_number(serial: int, *, area: str = "440305", birth: str | None = None) -> str:
    """A valid GB 11643 ID number (made up: never a real person's), distinct for every
    serial below ~3.6 million: the sequence digits count up to 998, then the birth date moves
    on by a day (from 1990-01-01)."""
    if birth is None:
        day = dt.date(1990, 1, 1) + dt.timedelta(days=serial // SEQUENCES)
        birth = day.strftime("%Y%m%d")
    body = f"{area}{birth}{serial % SEQUENCES:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def person_name(serial: int) -> str:
    """A made-up Chinese name (surname + two characters) for a serial."""
    n = len(GIVEN)
    return (
        SURNAMES[serial % len(SURNAMES)]
        + GIVEN[(serial // len(SURNAMES)) % n]
        + GIVEN[(serial // (len(SURNAMES) * n) + serial) % n]
    )


def phone_number(serial: int) -> str:
    """A distinct mainland mobile number per serial (below 10**8)."""
    return f"139{serial:08d}"


class JourneyError(AssertionError):
    pass


@dataclass
class Shopper:
    base: str
    phone: str
    client: httpx.Client = field(init=False)
    token: str = ""  # a session token made elsewhere (Stack.create_consumers), or sign_in()

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def close(self) -> None:
        self.client.close()

    def _check(self, response: httpx.Response, *expected: int) -> dict:
        if response.status_code not in (expected or (200,)):
            raise JourneyError(
                f"{response.request.method} {response.request.url.path} -> "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def request(
        self, method: str, path: str, *, headers: dict | None = None, **kwargs
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.client.request(method, path, headers={**sent, **(headers or {})}, **kwargs)

    def call(self, method: str, path: str, *expected: int, **kwargs) -> dict:
        return self._check(self.request(method, path, **kwargs), *expected)

    def sign_in(self) -> None:
        self.call("POST", "/api/v1/auth/otp", json={"phone": self.phone})
        sms = self.call("GET", "/api/v1/sandbox/sms", params={"phone": self.phone})
        code = re.search(r"(\d{6})", sms[0]["text"]).group(1)
        self.token = self.call(
            "POST", "/api/v1/auth/login", json={"phone": self.phone, "code": code}
        )["token"]

    def step_up(self, msisdn: str, action: str) -> dict:
        """The ``Step-Up-Proof`` header for a risky action: a code to the phone, verified."""
        base = f"/api/v1/lines/{msisdn}/step-up"
        self.call("POST", f"{base}/code", json={"action": action})
        sms = self.call("GET", "/api/v1/sandbox/sms", params={"phone": self.phone})
        code = re.search(r"(\d{6})", sms[0]["text"]).group(1)
        proof = self.call("POST", f"{base}/verify", 201, json={"action": action, "code": code})
        return {"Step-Up-Proof": proof["proof"]}

    def hold_number(self, *, carrier: str, skip: int = 0) -> str:
        numbers = self.call(
            "GET", "/api/v1/numbers", params={"carrier": carrier, "sort": "price", "limit": 50}
        )["items"]
        for number in numbers[skip:] + numbers[:skip]:
            response = self.request("POST", f"/api/v1/numbers/{number['msisdn']}/reserve")
            if response.status_code == 201:
                return number["msisdn"]
        raise JourneyError("no number could be held")

    def order(
        self,
        *,
        plan: str,
        msisdn: str,
        serial: int,
        name: str = "张三",
        id_no: str = "",
        ref: str = "",
    ) -> dict:
        """Create the order (through agent ``ref`` when given), pass 实名 and sign; returns the
        signed order."""
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
                **({"ref": ref} if ref else {}),
            },
        )
        ref = order["ref"]
        self.call(
            "POST",
            f"/api/v1/orders/{ref}/kyc",
            json={"name": name, "id_number": id_no or id_number(serial)},
        )
        self.call("GET", f"/api/v1/orders/{ref}/contract")
        return self.call(
            "POST", f"/api/v1/orders/{ref}/contract", json={"accept": True, "signature_name": name}
        )

    def pay(self, ref: str, *, retry_for: float = 0) -> None:
        """Start paying and confirm on the gateway's page; with ``retry_for``, a gateway that
        is down (5xx) is asked again until that many seconds have passed."""
        deadline = time.monotonic() + retry_for
        while True:
            response = self.request(
                "POST", f"/api/v1/orders/{ref}/payment", json={"method": "wechat"}
            )
            if response.status_code not in TRANSIENT or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        started = self._check(response, 201)
        confirm = httpx.post(f"{started['pay_url']}/confirm", timeout=30)
        if confirm.status_code != 200:
            raise JourneyError(f"confirm -> {confirm.status_code} {confirm.text[:200]}")

    def get_order(self, ref: str) -> dict:
        """The order; a dropped connection or a 5xx is tried again (up to ~10 s)."""
        for _ in range(20):
            try:
                response = self.request("GET", f"/api/v1/orders/{ref}")
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in TRANSIENT:
                return self._check(response)
            time.sleep(0.5)
        raise JourneyError(f"GET order {ref} kept failing")

    def wait_for(self, ref: str, states: set[str], *, timeout: float = 60, until=None) -> dict:
        """Poll until the order is in one of ``states`` (and ``until(order)`` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            order = self.get_order(ref)
            if order["state"] in states and (until is None or until(order)):
                return order
            if time.monotonic() > deadline:
                raise JourneyError(f"{ref} stuck in {order['state']}: {order['events'][-3:]}")
            time.sleep(0.3)

    def activate(self, ref: str, tracking_no: str, *, retry_for: float = 0) -> dict:
        """Activate with the ICCID's last six digits from the parcel. With ``retry_for``,
        a carrier that is down (5xx: unavailable, circuit open) is asked again, as a person
        would tap the button again, until that many seconds have passed."""
        parcel = self.call("GET", f"/api/v1/sandbox/parcels/{tracking_no}")
        deadline = time.monotonic() + retry_for
        while True:
            response = self.request(
                "POST", f"/api/v1/orders/{ref}/activate", json={"iccid_last6": parcel["iccid"][-6:]}
            )
            if response.status_code not in TRANSIENT or time.monotonic() > deadline:
                return self._check(response)
            time.sleep(1.0)


def whole_journey(
    *,
    base: str,
    phone: str,
    serial: int,
    plan: str = "CM-MANGO-39",
    carrier: str = "CMCC",
    timeout: float = 60,
    token: str = "",
    name: str = "张三",
    activate_retry_for: float = 0,
) -> dict:
    """Sign in (unless given a token), order, pay if anything is due, wait for the card and
    activate it; returns the final order (ACTIVATED, or CARRIER_REJECTED)."""
    shopper = Shopper(base=base, phone=phone, token=token)
    try:
        if not shopper.token:
            shopper.sign_in()
        msisdn = shopper.hold_number(carrier=carrier, skip=serial % 50)
        order = shopper.order(plan=plan, msisdn=msisdn, serial=serial, name=name)
        if order["next_action"] == "payment":
            shopper.pay(order["ref"])
        order = shopper.wait_for(
            order["ref"],
            {"DELIVERED", "CARRIER_REJECTED"},
            timeout=timeout,
            # The ICCID comes with order.accepted, which may arrive after later events.
            until=lambda o: o["state"] != "DELIVERED" or bool(o["iccid_masked"]),
        )
        if order["state"] == "DELIVERED":
            order = shopper.activate(
                order["ref"], order["tracking_no"], retry_for=activate_retry_for
            )
        return order
    finally:
        shopper.close()


if __name__ == "__main__":
    import sys

    result = whole_journey(base=sys.argv[1], phone=sys.argv[2], serial=int(sys.argv[3]))
    print(result["state"], result["ref"], [e["to_state"] for e in result["events"]])
