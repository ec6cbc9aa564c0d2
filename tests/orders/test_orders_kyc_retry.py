"""A real-name check refused for a typo (the name or the ID number, its birth date, does not
match the register) leaves the order correctable while its number is held: KYC_RETRY, up to
``KYC_ATTEMPTS`` checks. Hard refusals (blacklist, age, 一证五号) end the order at once."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.kyc import blacklists
from haoka.kyc.models import IdentityClaim
from haoka.numbers.models import PhoneNumber
from haoka.orders import domain, fulfilment
from haoka.orders.models import Order
from tests.support.kyc import make_id
from tests.support.orders import id_number, make_buyer

pytestmark = pytest.mark.django_db
PLAN = "CT-WUYOU-0"
CT1 = "18912340001"
#: The sandbox verifier finds no one with a 假 in their name: a typo in the name.
TYPO = "李假"


def _kyc(buyer, ref: str, *, name: str = "李四", id_no: str | None = None):
    response = buyer.call(
        "post", f"/orders/{ref}/kyc", {"name": name, "id_number": id_no or id_number(buyer.serial)}
    )
    assert response.status_code == 200, response.content
    return response.json()


def _number_state(msisdn: str) -> tuple[str, str]:
    number = PhoneNumber.objects.get(msisdn=msisdn)
    return number.status, number.order_ref


def test_a_mismatch_leaves_the_order_correctable_with_its_number_held(client, pool, carrier):
    buyer = make_buyer(client, 11)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    body = _kyc(buyer, ref, name=TYPO)
    assert (body["state"], body["state_label"], body["next_action"]) == (
        "KYC_RETRY",
        "实名待更正",
        "kyc",
    )
    assert body["kyc_attempts_left"] == domain.KYC_ATTEMPTS - 1
    assert "姓名与身份证号码不一致" in body["kyc_message"]
    assert _number_state(CT1) == ("RESERVED", ref)
    assert not IdentityClaim.objects.filter(order_ref=ref, status="ACTIVE").exists()


def test_a_corrected_check_passes_and_the_order_goes_on_to_the_contract(client, pool, carrier):
    buyer = make_buyer(client, 12)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    typo = make_id("440305", "19900101", "999")  # the sandbox's "no such person"
    assert _kyc(buyer, ref, id_no=typo)["state"] == "KYC_RETRY"
    passed = _kyc(buyer, ref)
    assert passed["state"] == "KYC_PASSED" and passed["kyc_message"] == ""
    signed = buyer.call(
        "post", f"/orders/{ref}/contract", {"accept": True, "signature_name": "李四"}
    )
    assert signed.json()["state"] == "SIGNED"
    assert IdentityClaim.objects.filter(order_ref=ref, status="ACTIVE").count() == 1
    reasons = [(e["from_state"], e["to_state"]) for e in passed["events"]]
    assert ("CREATED", "KYC_RETRY") in reasons and ("KYC_RETRY", "KYC_PASSED") in reasons


def test_the_third_refusal_ends_the_order_and_gives_the_number_back(client, pool, carrier):
    buyer = make_buyer(client, 13)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    first, second = _kyc(buyer, ref, name=TYPO), _kyc(buyer, ref, name=TYPO)
    assert (first["kyc_attempts_left"], second["kyc_attempts_left"]) == (2, 1)
    assert second["state"] == "KYC_RETRY" and second["events"][-1]["reason"]
    third = _kyc(buyer, ref, name=TYPO)
    assert (third["state"], third["kyc_attempts_left"]) == ("KYC_REJECTED", 0)
    assert _number_state(CT1) == ("AVAILABLE", "")
    assert Order.objects.get(ref=ref).kyc_failures == domain.KYC_ATTEMPTS
    again = buyer.call("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(13)})
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_state_conflict"


def test_a_blacklisted_id_after_a_typo_ends_the_order_at_once(client, pool, carrier, now):
    buyer = make_buyer(client, 14)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    assert _kyc(buyer, ref, name=TYPO)["state"] == "KYC_RETRY"
    blacklists.add_blacklist(
        kind="ID", value=id_number(buyer.serial), reason="测试", staff_id=None, now=now
    )
    body = _kyc(buyer, ref)
    assert (body["state"], body["kyc_attempts_left"]) == ("KYC_REJECTED", 1)
    assert _number_state(CT1) == ("AVAILABLE", "")


def test_an_age_refusal_ends_the_order_at_the_first_check(client, pool, carrier):
    buyer = make_buyer(client, 15)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    child = id_number(buyer.serial, birth="20200101")
    assert _kyc(buyer, ref, id_no=child)["state"] == "KYC_REJECTED"
    assert _number_state(CT1) == ("AVAILABLE", "")


def test_a_format_error_costs_no_attempt_and_changes_nothing(client, pool, carrier):
    buyer = make_buyer(client, 16)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    _kyc(buyer, ref, name=TYPO)
    bad = buyer.call("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": "44030519900101"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_id_number"
    order = Order.objects.get(ref=ref)
    assert (order.state, order.kyc_failures) == ("KYC_RETRY", 1)


def test_an_order_waiting_for_a_correction_ends_when_the_hold_ends(
    client, pool, carrier, commits, now
):
    buyer = make_buyer(client, 17)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    _kyc(buyer, ref, name=TYPO)
    assert fulfilment.expire_orders(now=now + dt.timedelta(minutes=29)) == 0
    with commits():
        assert fulfilment.expire_orders(now=now + domain.UNPAID_TIMEOUT) == 1
    assert Order.objects.get(ref=ref).state == "CANCELLED"
    assert _number_state(CT1) == ("AVAILABLE", "")


def test_an_order_waiting_for_a_correction_can_be_cancelled(client, pool, carrier):
    buyer = make_buyer(client, 18)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    _kyc(buyer, ref, name=TYPO)
    assert buyer.call("post", f"/orders/{ref}/cancel").json()["state"] == "CANCELLED"
    assert _number_state(CT1) == ("AVAILABLE", "")


def test_someone_else_cannot_correct_my_order(client, pool, carrier):
    owner, other = make_buyer(client, 19), make_buyer(client, 20)
    ref = owner.hold_and_order(msisdn=CT1, plan=PLAN)["ref"]
    _kyc(owner, ref, name=TYPO)
    answer = other.call("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(20)})
    assert answer.status_code == 404
    assert Order.objects.get(ref=ref).state == "KYC_RETRY"
