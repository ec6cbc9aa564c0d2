"""One consumer's whole journey over HTTP against the real processes (web, worker and the
payment, carrier and courier simulators) on a fresh database: sign in with an OTP, hold a
number, order, 实名, sign, pay, receive the card, activate — then the line is there."""

from __future__ import annotations

import re
import time

import pytest

from haoka.charging import domain
from haoka.core import clock
from tests.support.journey import Shopper, id_number

STACK_OPTIONS = {"numbers": 200}
#: Transitions of an order that pays (PAID is skipped when nothing is due).
PAID_PATH = [
    "CREATED",
    "KYC_PASSED",
    "SIGNED",
    "PAID",
    "SUBMITTED",
    "ACCEPTED",
    "SHIPPED",
    "DELIVERED",
    "ACTIVATED",
]
FREE_PATH = [s for s in PAID_PATH if s != "PAID"]


def transitions(order: dict) -> list[str]:
    """The states an order went through, from its event history (notes left out)."""
    return [e["to_state"] for e in order["events"] if e["from_state"] != e["to_state"]]


def assert_iccid_hidden(order: dict) -> None:
    """Before activation at most the ICCID's first six digits (the issuer) show."""
    masked = order["iccid_masked"]
    if order["state"] == "ACTIVATED":
        assert re.fullmatch(r"\d{6}\*{8}\d{6}", masked), masked
    else:
        assert masked == "" or re.fullmatch(r"\d{6}\*{14}", masked), (order["state"], masked)


def journey_to_delivery(shopper: Shopper, ref: str, seen: list[dict]) -> dict:
    """Poll until the card is delivered (and its ICCID known), keeping every view."""
    deadline = time.monotonic() + 60
    while True:
        order = shopper.get_order(ref)
        seen.append(order)
        if order["state"] == "DELIVERED" and order["iccid_masked"]:
            return order
        assert order["state"] not in ("CARRIER_REJECTED", "CANCELLED"), order["events"]
        assert time.monotonic() < deadline, f"stuck in {order['state']}: {order['events'][-3:]}"
        time.sleep(0.2)


def tracking_complete(shopper: Shopper, ref: str) -> dict:
    """The courier's scans arrive on their own webhook: wait until 已签收 is among them."""
    deadline = time.monotonic() + 20
    while True:
        order = shopper.get_order(ref)
        if "DELIVERED" in [t["status"] for t in order["tracking"]]:
            return order
        assert time.monotonic() < deadline, order["tracking"]
        time.sleep(0.3)


def check_contract_pdf(shopper: Shopper, ref: str) -> None:
    response = shopper.request("GET", f"/api/v1/orders/{ref}/contract.pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert ref in response.headers["content-disposition"]


def test_a_consumer_who_pays_a_first_top_up_ends_with_an_active_line_holding_it(module_stack):
    stack = module_stack
    shopper = Shopper(base=stack.base, phone="13912340001")
    shopper.sign_in()
    msisdn = shopper.hold_number(carrier="CTCC")
    signed = shopper.order(plan="CT-WUYOU-0", msisdn=msisdn, serial=1, name="欧阳明月")
    ref = signed["ref"]
    assert signed["state"] == "SIGNED" and signed["next_action"] == "payment"
    assert signed["first_topup_fen"] == 2000
    assert signed["amount_due_fen"] == 2000 + signed["number_price_fen"]
    assert signed["contract_signed_at"]
    check_contract_pdf(shopper, ref)

    shopper.pay(ref)
    seen: list[dict] = [signed]
    delivered = journey_to_delivery(shopper, ref, seen)
    activated = shopper.activate(ref, delivered["tracking_no"])
    seen.append(activated)

    for view in seen:
        assert_iccid_hidden(view)
    assert activated["state"] == "ACTIVATED" and activated["activated_at"]
    assert transitions(activated) == PAID_PATH
    stamps = [e["at"] for e in activated["events"]]
    assert stamps == sorted(stamps)
    assert activated["payment"]["status"] == "PAID"
    assert activated["payment"]["amount_fen"] == activated["amount_due_fen"]
    gateway_id = activated["payment"]["pay_url"].rstrip("/").rsplit("/", 1)[-1]
    at_gateway = stack.sim_get("payment", f"/v1/payments/{gateway_id}").json()
    assert at_gateway["status"] == "PAID"
    assert at_gateway["amount_fen"] == activated["amount_due_fen"]

    order = tracking_complete(shopper, ref)
    assert order["courier"] == "SIMEXPRESS" and order["tracking_no"]
    assert [t["status"] for t in order["tracking"]] == [
        "PICKED_UP",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    assert order["tracking"][-1]["description"].startswith("已签收")

    lines = shopper.call("GET", "/api/v1/lines")
    assert [(x["msisdn"], x["status"], x["plan_code"]) for x in lines] == [
        (msisdn, "ACTIVE", "CT-WUYOU-0")
    ]
    assert lines[0]["balance_fen"] == 2000

    carrier = stack.sim_get("carrier", f"/v1/CTCC/orders/{ref}").json()
    assert carrier["status"] == "ACTIVATED"
    assert carrier["iccid"][-6:] == order["iccid_masked"][-6:]


def test_a_consumer_with_nothing_due_skips_payment_and_ends_with_an_active_line(module_stack):
    shopper = Shopper(base=module_stack.base, phone="13912340002")
    shopper.sign_in()
    msisdn = shopper.hold_number(carrier="CMCC")  # the cheapest first: a ¥0 number
    signed = shopper.order(plan="CM-MANGO-39", msisdn=msisdn, serial=2, name="司马青云")
    ref = signed["ref"]
    assert signed["amount_due_fen"] == 0
    assert signed["state"] == "SUBMITTED" and signed["next_action"] is None
    assert signed["payment"] is None
    response = shopper.request("POST", f"/api/v1/orders/{ref}/payment", json={"method": "wechat"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "nothing_to_pay"
    check_contract_pdf(shopper, ref)

    seen: list[dict] = [signed]
    delivered = journey_to_delivery(shopper, ref, seen)
    activated = shopper.activate(ref, delivered["tracking_no"])
    for view in [*seen, activated]:
        assert_iccid_hidden(view)
    assert activated["state"] == "ACTIVATED"
    assert transitions(activated) == FREE_PATH
    assert activated["payment"] is None
    again = shopper.activate(ref, delivered["tracking_no"])  # a second tap changes nothing
    assert again["state"] == "ACTIVATED" and again["activated_at"] == activated["activated_at"]

    lines = shopper.call("GET", "/api/v1/lines")
    # Its first month (¥39, prorated by the Beijing days left today) is charged at activation.
    today = clock.beijing_date(clock.now())
    first_month = domain.prorate(3900, activated_on=today, allowance=False)
    assert [(x["msisdn"], x["status"], x["balance_fen"]) for x in lines] == [
        (msisdn, "ACTIVE", -first_month)
    ]
    listed = shopper.call("GET", "/api/v1/orders")["items"]
    assert [(o["ref"], o["state"]) for o in listed] == [(ref, "ACTIVATED")]


def test_the_order_api_shows_the_masked_identity_only(module_stack):
    """The ID number and name typed at 实名 never come back in full over the API."""
    shopper = Shopper(base=module_stack.base, phone="13912340003")
    shopper.sign_in()
    msisdn = shopper.hold_number(carrier="CMCC", skip=3)
    signed = shopper.order(plan="CM-MANGO-39", msisdn=msisdn, serial=3, name="诸葛长风")
    contract = shopper.call("GET", f"/api/v1/orders/{signed['ref']}/contract")
    body = str(signed) + str(contract)
    assert id_number(3) not in body
    assert "诸葛长风" not in body
    assert id_number(3)[-4:] in contract["text"]  # masked: 440***********003X style


@pytest.fixture(autouse=True)
def _no_stray_errors(module_stack):
    """No process logged an unexpected error (a 500) during the test."""
    yield
    web = module_stack.log_tail("web", 400)
    assert "Internal Server Error" not in web and "Traceback" not in web, web[-3000:]
