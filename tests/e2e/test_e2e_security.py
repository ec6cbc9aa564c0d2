"""Security of the order journey over the real processes: one consumer cannot see or touch
another's order; forged, stale and replayed callbacks are refused or ignored and change
nothing; ID numbers and names never reach the database or any log in plaintext.

OTP brute force is covered in tests/accounts/test_accounts_otp_login.py
(test_five_wrong_attempts_burn_the_code,
test_brute_force_is_stopped_after_ten_attempts_an_hour_even_with_the_right_code,
test_a_phone_gets_at_most_five_codes_an_hour, test_one_address_may_ask_for_twenty_codes_an_hour).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from haoka.core import signing
from tests.support.journey import Shopper, id_number, person_name, phone_number
from tests.support.stack import SIM_SECRET

STACK_OPTIONS = {"numbers": 100}
#: Every name and ID number used in this module, for the plaintext search at the end.
IDENTITIES: list[tuple[str, str]] = []
CALLBACKS = {
    "carrier": "/api/v1/callbacks/carriers/CMCC",
    "payment": "/api/v1/callbacks/payments/sandbox",
    "courier": "/api/v1/callbacks/couriers/simexpress",
}


def consumer(stack, serial: int) -> Shopper:
    phone = phone_number(50_000_000 + serial)
    return Shopper(base=stack.base, phone=phone, token=stack.create_consumers([phone])[phone])


def signed_order(shopper: Shopper, serial: int, *, plan: str, carrier: str) -> dict:
    name = "欧阳" + person_name(serial)[1:]  # four characters: unlikely anywhere by chance
    IDENTITIES.append((name, id_number(serial)))
    msisdn = shopper.hold_number(carrier=carrier, skip=serial)
    return shopper.order(plan=plan, msisdn=msisdn, serial=serial, name=name)


def delivered_order(shopper: Shopper, serial: int) -> dict:
    """A free CMCC order carried up to DELIVERED (the card is in the consumer's hand)."""
    order = signed_order(shopper, serial, plan="CM-MANGO-39", carrier="CMCC")
    return shopper.wait_for(
        order["ref"], {"DELIVERED"}, timeout=60, until=lambda o: bool(o["iccid_masked"])
    )


def post_signed(stack, path: str, payload: dict, *, header: str | bytes | None = "sign"):
    """POST ``payload`` to a haoka callback; ``header`` "sign" signs it properly now."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        header = signing.sign(secret=SIM_SECRET, body=body)
    if header is not None:
        headers[signing.HEADER] = header
    return httpx.post(f"{stack.base}{path}", content=body, headers=headers, timeout=10)


def forgeries(body: bytes) -> dict[str, str | bytes | None]:
    now = int(time.time())
    return {
        "no signature": None,
        "wrong secret": signing.sign(secret="not-the-secret", body=body),
        "stale (10 minutes old)": signing.sign(secret=SIM_SECRET, body=body, timestamp=now - 600),
        "from the future": signing.sign(secret=SIM_SECRET, body=body, timestamp=now + 600),
        "malformed": "t=soon,v1=",
        "for another body": signing.sign(secret=SIM_SECRET, body=body + b" "),
        "non-ASCII digest": f"t={now},v1=é".encode("latin-1"),
    }


def assert_all_refused(stack, kind: str, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    for what, header in forgeries(body).items():
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers[signing.HEADER] = header
        response = httpx.post(
            f"{stack.base}{CALLBACKS[kind]}", content=body, headers=headers, timeout=10
        )
        assert response.status_code == 401, (kind, what, response.status_code, response.text)
        assert response.json()["error"]["code"] == "bad_signature", (kind, what)


def unchanged(before: dict, after: dict) -> None:
    keep = ("state", "events", "payment", "iccid_masked", "tracking_no", "activated_at")
    assert {k: after[k] for k in keep} == {k: before[k] for k in keep}


# --------------------------------------------------------------------------- ownership


def test_a_consumer_cannot_read_or_act_on_another_consumers_order(module_stack):
    stack = module_stack
    alice, bob = consumer(stack, 1), consumer(stack, 2)
    unpaid = signed_order(alice, 1, plan="CT-WUYOU-0", carrier="CTCC")
    started = alice.call(
        "POST", f"/api/v1/orders/{unpaid['ref']}/payment", 201, json={"method": "wechat"}
    )
    delivered = delivered_order(alice, 3)
    iccid = alice.call("GET", f"/api/v1/sandbox/parcels/{delivered['tracking_no']}")["iccid"]
    bob_order = signed_order(bob, 4, plan="CM-MANGO-39", carrier="CMCC")

    attempts = [
        ("GET", "", None),
        ("POST", "/cancel", None),
        ("POST", "/kyc", {"name": "王伟", "id_number": id_number(2)}),
        ("GET", "/contract", None),
        ("POST", "/contract", {"accept": True, "signature_name": "王伟"}),
        ("GET", "/contract.pdf", None),
        ("POST", "/payment", {"method": "alipay"}),
        ("POST", "/activate", {"iccid_last6": iccid[-6:]}),
    ]
    before = {o["ref"]: alice.get_order(o["ref"]) for o in (unpaid, delivered)}
    unknown = "HK" + uuid.uuid4().hex[:16].upper()
    for ref in before:
        for method, suffix, payload in attempts:
            path = f"/api/v1/orders/{ref}{suffix}"
            response = bob.request(method, path, json=payload)
            assert response.status_code == 404, (method, path, response.text[:200])
            # Someone else's order looks exactly like one that does not exist.
            probe = bob.request(method, f"/api/v1/orders/{unknown}{suffix}", json=payload)
            assert probe.status_code == 404
            assert response.json()["error"]["code"] == probe.json()["error"]["code"]
            anonymous = httpx.request(method, f"{stack.base}{path}", json=payload, timeout=10)
            assert anonymous.status_code == 401, (method, path)
    payment = bob.request("GET", f"/api/v1/payments/{started['payment_id']}")
    assert payment.status_code == 404
    assert [o["ref"] for o in bob.call("GET", "/api/v1/orders")["items"]] == [bob_order["ref"]]
    assert bob.call("GET", "/api/v1/lines") == []

    for ref, was in before.items():
        unchanged(was, alice.get_order(ref))
    # The owner still can: the refusals above were about who asked, not what was asked.
    assert alice.call("POST", f"/api/v1/orders/{unpaid['ref']}/cancel")["state"] == "CANCELLED"
    activated = alice.activate(delivered["ref"], delivered["tracking_no"])
    assert activated["state"] == "ACTIVATED"
    assert [x["msisdn"] for x in alice.call("GET", "/api/v1/lines")] == [delivered["msisdn"]]


# --------------------------------------------------------------------------- callbacks


def test_forged_stale_and_replayed_carrier_callbacks_change_nothing(module_stack):
    stack = module_stack
    carol = consumer(stack, 5)
    order = delivered_order(carol, 5)
    ref = order["ref"]
    remote = stack.sim_get("carrier", f"/v1/CMCC/orders/{ref}").json()
    real = {e["type"]: e["event_id"] for e in remote["events"]}
    assert set(real) >= {"order.accepted", "order.shipped", "order.delivered"}
    base = {"order_id": ref, "carrier": "CMCC", "carrier_order_id": remote["carrier_order_id"]}
    callbacks_before = stack.platform_state()["carrier_callbacks"]

    fresh = {**base, "event_id": f"evt_forged_{uuid.uuid4().hex}", "type": "order.rejected"}
    assert_all_refused(stack, "carrier", {**fresh, "reason": "伪造", "occurred_at": "now"})
    assert_all_refused(stack, "carrier", {**fresh, "type": "order.activated"})
    # Replays: real event ids, signed correctly, with other content — taken as repeats.
    for event_id, kind in (
        (real["order.accepted"], "order.rejected"),
        (real["order.delivered"], "order.activated"),
        (real["order.shipped"], "order.shipped"),
    ):
        replay = {**base, "event_id": event_id, "type": kind}
        response = post_signed(stack, CALLBACKS["carrier"], replay)
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True, "duplicate": True}
    wrong_carrier = post_signed(
        stack, "/api/v1/callbacks/carriers/EVIL", {**fresh, "type": "order.activated"}
    )
    assert wrong_carrier.status_code == 404

    unchanged(order, carol.get_order(ref))
    state = stack.platform_state()
    assert state["carrier_callbacks"] == callbacks_before
    mine = next(o for o in state["orders"] if o["ref"] == ref)
    assert state["numbers"][mine["msisdn"]] == ["ASSIGNED", ref]
    assert not [x for x in state["lines"] if x["order_ref"] == ref]
    assert carol.activate(ref, order["tracking_no"])["state"] == "ACTIVATED"


def test_forged_payment_and_courier_callbacks_are_refused_and_change_nothing(module_stack):
    stack = module_stack
    dave = consumer(stack, 6)
    order = signed_order(dave, 6, plan="CT-WUYOU-0", carrier="CTCC")
    ref = order["ref"]
    started = dave.call("POST", f"/api/v1/orders/{ref}/payment", 201, json={"method": "wechat"})
    order = dave.get_order(ref)
    gateway_id = urlsplit(started["pay_url"]).path.rsplit("/", 1)[-1]
    paid = {
        "event_id": f"evt_forged_{uuid.uuid4().hex}",
        "type": "payment.succeeded",
        "payment_id": gateway_id,
        "merchant_order_id": "",
        "amount_fen": order["amount_due_fen"],
        "method": "wechat",
        "paid_at": "2026-01-01T00:00:00+00:00",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }
    assert_all_refused(stack, "payment", paid)
    scan = {
        "event_id": f"evt_forged_{uuid.uuid4().hex}",
        "type": "parcel.tracking",
        "tracking_no": "SF0000000000",
        "reference": ref,
        "status": "DELIVERED",
        "description": "已签收：伪造",
        "location": "深圳",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }
    assert_all_refused(stack, "courier", scan)
    unchanged(order, dave.get_order(ref))
    assert dave.get_order(ref)["payment"]["status"] == "PENDING"
    at_gateway = stack.sim_get("payment", f"/v1/payments/{gateway_id}").json()
    assert at_gateway["status"] == "PENDING"


# --------------------------------------------------------------------------- personal data


def database_dump(stack) -> str:
    if stack.database_url.startswith("sqlite"):
        with sqlite3.connect(stack.database_url.removeprefix("sqlite:///")) as conn:
            return "\n".join(conn.iterdump())
    url = urlsplit(stack.database_url)
    out = subprocess.run(
        ["pg_dump", "-h", url.hostname, "-p", str(url.port or 5432), "-U", url.username,
         url.path.lstrip("/")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return out.stdout


def spellings(value: str) -> set[str]:
    """How a value may be written: as is, JSON-escaped (\\uXXXX), UTF-8 bytes in hex."""
    return {value, json.dumps(value)[1:-1], value.encode().hex()}


def test_no_id_number_or_name_in_plaintext_in_the_database_or_any_log(module_stack):
    stack = module_stack
    erin = consumer(stack, 7)
    order = delivered_order(erin, 7)
    erin.activate(order["ref"], order["tracking_no"])
    paid = signed_order(erin, 8, plan="CT-WUYOU-0", carrier="CTCC")
    erin.pay(paid["ref"])
    erin.wait_for(paid["ref"], {"DELIVERED"}, timeout=60)

    dump = database_dump(stack)
    assert order["ref"] in dump and erin.phone in dump  # the dump has the orders in it
    logs = {name: (stack.home / f"{name}.log").read_text(errors="replace") for name in
            ("web", "worker", "payment", "carrier", "courier")}  # fmt: skip
    assert len(IDENTITIES) >= 2
    for name, id_no in IDENTITIES:
        for secret in (id_no, id_no[:17], name):
            for spelled in spellings(secret):
                assert spelled not in dump, f"{secret!r} in the database dump"
                for process, text in logs.items():
                    assert spelled not in text, f"{secret!r} in {process}.log"


@pytest.fixture(autouse=True)
def _no_server_errors(module_stack):
    yield
    web = module_stack.log_tail("web", 2000)
    assert "Internal Server Error" not in web and "Traceback" not in web, web[-3000:]
