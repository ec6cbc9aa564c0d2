"""The buyer hears of their order: a staff real-name review's outcome, the card shipped,
delivered and activated, each once (an event told twice tells once), by SMS where promised."""

from __future__ import annotations

import pytest

from haoka.accounts.models import Role, SandboxSms, User
from haoka.kyc import domain as kyc_domain
from haoka.kyc import operations as kyc_operations
from haoka.notices.models import Notification
from haoka.orders.models import Order
from haoka.payments.models import Payment
from tests.support.orders import ICCID, T0, carrier_callback, deliver, id_number, make_buyer

pytestmark = pytest.mark.django_db
CT1 = "18912340001"


def told(user) -> list[tuple[str, str]]:
    """(kind, link) of the user's messages, oldest first."""
    rows = Notification.objects.filter(recipient=user).order_by("id")
    return list(rows.values_list("kind", "link"))


def texts(phone: str) -> list[str]:
    return list(
        SandboxSms.objects.filter(phone=phone).order_by("id").values_list("text", flat=True)
    )


def test_shipped_delivered_and_activated_each_tell_the_buyer_once(
    client, pool, carrier, gateway_fake, commits
):
    buyer = make_buyer(client, 41)
    ref = buyer.hold_and_order(msisdn=CT1, plan="CT-WUYOU-0")["ref"]
    buyer.kyc_and_sign(ref)
    buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"})
    with commits():
        deliver(gateway_fake.pay(Payment.objects.get(reference=ref).merchant_order_id))
    order = Order.objects.get(ref=ref)
    assert told(buyer.user) == []  # paying and submitting are on the page the buyer is on
    before = len(texts(buyer.user.phone))
    with commits():
        carrier_callback(client, order, "order.accepted", iccid=ICCID, imsi="460031234567890")
        carrier_callback(client, order, "order.shipped", courier="SIMEXPRESS", tracking_no="SX9")
        carrier_callback(client, order, "order.shipped", courier="SIMEXPRESS", tracking_no="SX9")
        carrier_callback(client, order, "order.delivered", event_id="d-1")
        carrier_callback(client, order, "order.delivered", event_id="d-2")  # a second event
    assert told(buyer.user) == [
        ("ORDER_SHIPPED", f"/orders/{ref}/"),
        ("ORDER_DELIVERED", f"/orders/{ref}/"),
    ]
    assert texts(buyer.user.phone)[before:] == [
        f"【号卡】您的号卡 {CT1} 已发货，模拟快递 运单号 SX9，请留意查收。"
    ]
    with commits():
        activated = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": ICCID[-6:]})
    assert activated.json()["state"] == "ACTIVATED"
    assert told(buyer.user)[-1] == ("ORDER_ACTIVATED", f"/lines/{CT1}")
    assert texts(buyer.user.phone)[-1] == f"【号卡】您的号码 {CT1} 已激活，可以正常使用了。"
    with commits():
        carrier_callback(client, order, "order.activated")  # the carrier confirms it too
    assert [kind for kind, _ in told(buyer.user)].count("ORDER_ACTIVATED") == 1


def test_a_late_event_tells_only_the_step_it_names_not_the_steps_it_implies(
    client, pool, carrier, commits
):
    buyer = make_buyer(client, 42)
    ref = buyer.hold_and_order(msisdn="13912340001", plan="CM-MANGO-39")["ref"]
    buyer.kyc_and_sign(ref)
    order = Order.objects.get(ref=ref)
    with commits():
        carrier_callback(client, order, "order.delivered", iccid=ICCID)
    assert Order.objects.get(ref=ref).state == "DELIVERED"
    assert [kind for kind, _ in told(buyer.user)] == ["ORDER_DELIVERED"]


@pytest.mark.parametrize(
    ("approve", "kind", "state", "sms_start"),
    [
        (True, "KYC_APPROVED", "KYC_PASSED", "【号卡】订单 {ref} 实名审核已通过"),
        (False, "KYC_REJECTED", "KYC_REJECTED", "【号卡】很抱歉，订单 {ref} 实名审核未通过"),
    ],
    ids=["approved", "rejected"],
)
def test_a_staff_review_tells_the_buyer_its_outcome_by_message_and_sms(
    client, pool, carrier, commits, monkeypatch, approve, kind, state, sms_start
):
    monkeypatch.setattr(kyc_domain, "VELOCITY_LIMIT", 1)  # every check goes to staff review
    buyer = make_buyer(client, 43)
    ref = buyer.hold_and_order(msisdn=CT1, plan="CT-WUYOU-0")["ref"]
    answer = buyer.call(
        "post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(buyer.serial)}
    )
    assert answer.json()["state"] == "KYC_REVIEW"
    assert told(buyer.user) == []  # the page says it is under review
    reviewer = User.objects.create(username="reviewer", role=Role.STAFF)
    with commits():
        kyc_operations.review(
            order_ref=ref, approve=approve, staff_id=reviewer.pk, note="核对", now=T0
        )
    assert Order.objects.get(ref=ref).state == state
    assert told(buyer.user) == [(kind, f"/orders/{ref}/")]
    assert texts(buyer.user.phone)[-1].startswith(sms_start.format(ref=ref))
