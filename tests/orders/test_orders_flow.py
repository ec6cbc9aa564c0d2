"""The order flow in one process (fake carrier and gateway), edge cases included."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import ledger
from haoka.kyc import providers
from haoka.kyc.models import IdentityClaim, KycRecord
from haoka.lines.models import Line
from haoka.numbers.models import PhoneNumber
from haoka.orders import domain, fulfilment, operations
from haoka.orders.models import Order
from haoka.payments import operations as payment_ops
from haoka.payments.models import Payment
from tests.support.orders import ICCID, T0, carrier_callback, deliver, id_number, make_buyer

pytestmark = pytest.mark.django_db
PAID_PLAN, FREE_PLAN = "CT-WUYOU-0", "CM-MANGO-39"
CT1, CT2 = "18912340001", "18912340002"


def _pay(buyer, ref, gateway_fake, commits):
    started = buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"})
    assert started.status_code == 201, started.content
    payment = Payment.objects.get(reference=ref)
    with commits():
        deliver(gateway_fake.pay(payment.merchant_order_id))


def _order(ref) -> Order:
    return Order.objects.get(ref=ref)


def test_a_paid_order_goes_all_the_way_to_an_active_line(
    client, pool, carrier, gateway_fake, commits
):
    buyer = make_buyer(client, 1)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    assert buyer.kyc_and_sign(ref)["next_action"] == "payment"
    _pay(buyer, ref, gateway_fake, commits)
    assert _order(ref).state == "SUBMITTED" and carrier.submitted == [ref]
    assert PhoneNumber.objects.get(msisdn=CT1).status == "ASSIGNED"
    order = _order(ref)
    # Out of order and twice: "shipped" before "accepted", "delivered" repeated.
    with commits():
        assert (
            carrier_callback(
                client, order, "order.shipped", courier="SIMEXPRESS", tracking_no="SX1"
            ).status_code
            == 200
        )
        assert (
            carrier_callback(
                client, order, "order.accepted", iccid=ICCID, imsi="460031234567890"
            ).status_code
            == 200
        )
        carrier_callback(client, order, "order.delivered", event_id="d-1")
        assert carrier_callback(client, order, "order.delivered", event_id="d-1").json()[
            "duplicate"
        ]
    order = _order(ref)
    assert (order.state, order.iccid, order.tracking_no) == ("DELIVERED", ICCID, "SX1")
    shown = buyer.call("get", f"/orders/{ref}").json()
    assert ICCID not in str(shown) and shown["iccid_masked"].startswith("898603")
    with commits():
        activated = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": ICCID[-6:]})
    assert activated.status_code == 200 and activated.json()["state"] == "ACTIVATED"
    line = Line.objects.get(order_ref=ref)
    assert (line.status, line.msisdn, line.iccid) == ("ACTIVE", CT1, ICCID)
    assert -ledger.balance_fen(account=f"liability:wallet:line:{line.pk}") == 2000
    assert PhoneNumber.objects.get(msisdn=CT1).status == "IN_USE"
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
    states = [e["to_state"] for e in activated.json()["events"]]
    assert states.index("ACCEPTED") < states.index("SHIPPED") < states.index("DELIVERED")


def test_with_nothing_to_pay_the_order_skips_payment(client, pool, carrier, commits):
    buyer = make_buyer(client, 2)
    ref = buyer.hold_and_order(msisdn="13912340001", plan=FREE_PLAN)["ref"]
    with commits():
        signed = buyer.kyc_and_sign(ref)
    assert signed["amount_due_fen"] == 0
    assert _order(ref).state == "SUBMITTED" and carrier.submitted == [ref]
    assert "PAID" not in [e.to_state for e in _order(ref).events.all()]
    assert buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"}).json()["error"][
        "code"
    ] in ("nothing_to_pay", "order_state_conflict")


def test_cancelling_closes_the_payment_frees_number_and_identity_and_a_late_payment_is_refunded(
    client, pool, carrier, gateway_fake, commits
):
    buyer = make_buyer(client, 3)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    started = buyer.call("post", f"/orders/{ref}/payment", {"method": "alipay"})
    assert started.status_code == 201
    with commits():
        cancelled = buyer.call("post", f"/orders/{ref}/cancel")
    assert cancelled.json()["state"] == "CANCELLED"
    assert PhoneNumber.objects.get(msisdn=CT1).status == "AVAILABLE"
    assert not IdentityClaim.objects.filter(order_ref=ref, status="ACTIVE").exists()
    assert Payment.objects.get(reference=ref).status == "CLOSED"  # nothing was paid: closed
    # The payer pays anyway (a late notification): the money goes back.
    payment = Payment.objects.get(reference=ref)
    with commits():
        deliver(gateway_fake.pay(payment.merchant_order_id))
    fulfilment.sweep(now=fulfilment.clock.now())
    payment.refresh_from_db()
    assert payment.status == "REFUNDED" and payment.refunded_fen == 2000
    assert ledger.trial_balance_fen() == 0


def test_an_unpaid_order_is_cancelled_after_thirty_minutes(
    client, pool, carrier, gateway_fake, commits, now
):
    buyer = make_buyer(client, 4)
    ref = buyer.hold_and_order(msisdn=CT2, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    assert fulfilment.expire_orders(now=now + dt.timedelta(minutes=29)) == 0
    with commits():
        assert fulfilment.expire_orders(now=now + dt.timedelta(minutes=61)) == 1
    order = _order(ref)
    assert order.state == "CANCELLED" and order.refund_state == "NONE"  # nothing was ever paid
    assert PhoneNumber.objects.get(msisdn=CT2).status == "AVAILABLE"


def test_a_rejected_real_name_check_gives_the_number_back(client, pool, carrier):
    buyer = make_buyer(client, 5)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    # The sandbox verifier says a name with 假 does not match its ID number: a typo the
    # customer may correct, until the last attempt.
    for _ in range(domain.KYC_ATTEMPTS):
        response = buyer.call(
            "post", f"/orders/{ref}/kyc", {"name": "假名字", "id_number": id_number(5)}
        )
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "KYC_REJECTED" and body["events"][-1]["reason"]
    assert PhoneNumber.objects.get(msisdn=CT1).status == "AVAILABLE"


def test_an_order_cancelled_while_its_identity_is_verified_takes_no_slot_and_stays_cancelled(
    client, pool, carrier, monkeypatch
):
    buyer = make_buyer(client, 6)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    real = providers.verifier()

    class CancelledMeanwhile:
        """The consumer cancels in another tab while the verifier is being asked."""

        def verify(self, *, name, id_number):
            operations.cancel(ref=ref, user_id=buyer.user.pk, reason="用户取消", now=T0)
            return real.verify(name=name, id_number=id_number)

    monkeypatch.setattr(providers, "verifier", CancelledMeanwhile)
    response = buyer.call("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(6)})
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "order_state_conflict"
    assert _order(ref).state == "CANCELLED"
    assert not IdentityClaim.objects.filter(order_ref=ref).exists()
    assert not KycRecord.objects.filter(order_ref=ref).exists()
    assert PhoneNumber.objects.get(msisdn=CT1).status == "AVAILABLE"


def test_a_carrier_rejection_refunds_the_payment(client, pool, carrier, gateway_fake, commits):
    buyer = make_buyer(client, 6)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    with commits():
        carrier_callback(client, _order(ref), "order.rejected", reason="风控拒绝")
    fulfilment.sweep(now=fulfilment.clock.now())
    order = _order(ref)
    assert order.state == "CARRIER_REJECTED" and order.refund_state == "DONE"
    assert Payment.objects.get(reference=ref).status == "REFUNDED"
    assert PhoneNumber.objects.get(msisdn=CT1).status == "AVAILABLE"
    assert ledger.trial_balance_fen() == 0


def test_submission_is_retried_with_backoff_until_the_carrier_answers(
    client, pool, carrier, gateway_fake, commits, now
):
    carrier.faults = ["down", "down"]
    buyer = make_buyer(client, 7)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    order = _order(ref)
    assert order.carrier_acked_at is None and order.submit_attempts == 1
    assert fulfilment.submit_to_carrier(ref=ref, now=now) == "not_due"  # backing off
    assert fulfilment.submit_to_carrier(ref=ref, now=now + dt.timedelta(seconds=3)) == "retry"
    assert fulfilment.submit_to_carrier(ref=ref, now=now + dt.timedelta(seconds=10)) == "acked"
    assert carrier.submitted == [ref] and _order(ref).submit_attempts == 3


def test_a_carrier_refusing_the_submission_rejects_and_refunds(
    client, pool, carrier, gateway_fake, commits
):
    carrier.faults = ["refuse"]
    buyer = make_buyer(client, 8)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    fulfilment.sweep(now=fulfilment.clock.now())
    assert _order(ref).state == "CARRIER_REJECTED"
    assert Payment.objects.get(reference=ref).status == "REFUNDED"


def test_activation_needs_the_right_iccid(client, pool, carrier, gateway_fake, commits):
    buyer = make_buyer(client, 9)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    with commits():
        carrier_callback(client, _order(ref), "order.accepted", iccid=ICCID, imsi="460031234567890")
        carrier_callback(client, _order(ref), "order.delivered")
    wrong = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "iccid_mismatch"
    assert carrier.activated == [] and _order(ref).state == "DELIVERED"


def test_nobody_reads_or_acts_on_someone_elses_order(client, pool, carrier):
    owner, other = make_buyer(client, 10), make_buyer(client, 11)
    ref = owner.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    for method, path, body in [
        ("get", f"/orders/{ref}", None),
        ("post", f"/orders/{ref}/cancel", None),
        ("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": "440305199001010013"}),
        ("get", f"/orders/{ref}/contract", None),
        ("post", f"/orders/{ref}/contract", {"accept": True, "signature_name": "李四"}),
        ("get", f"/orders/{ref}/contract.pdf", None),
        ("post", f"/orders/{ref}/payment", {"method": "wechat"}),
        ("post", f"/orders/{ref}/activate", {"iccid_last6": "123456"}),
    ]:
        response = other.call(method, path, body)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "order_not_found"
    assert _order(ref).state == "CREATED"
    assert client.get(f"/api/v1/orders/{ref}").status_code == 401


def test_forged_stale_and_replayed_carrier_callbacks_change_nothing(
    client, pool, carrier, commits, now
):
    buyer = make_buyer(client, 12)
    ref = buyer.hold_and_order(msisdn="13912340002", plan=FREE_PLAN)["ref"]
    with commits():
        buyer.kyc_and_sign(ref)
    order = _order(ref)
    forged = carrier_callback(client, order, "order.accepted", secret="not-the-secret", iccid=ICCID)
    stale = carrier_callback(
        client, order, "order.accepted", at=now - dt.timedelta(minutes=6), iccid=ICCID
    )
    assert forged.status_code == 401 and stale.status_code == 401
    assert _order(ref).state == "SUBMITTED"
    with commits():
        first = carrier_callback(client, order, "order.accepted", event_id="e-1", iccid=ICCID)
        replay = carrier_callback(client, order, "order.rejected", event_id="e-1", reason="x")
    assert first.json() == {"ok": True, "duplicate": False}
    assert replay.json() == {"ok": True, "duplicate": True}
    assert _order(ref).state == "ACCEPTED"


def test_the_signed_contract_is_kept_with_its_hash_and_downloads_as_pdf(client, pool, carrier):
    buyer = make_buyer(client, 13)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.call("post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(13)})
    text = buyer.call("get", f"/orders/{ref}/contract").json()
    assert (
        "号卡移动通信服务协议" in text["text"]
        and "¥20.00" in text["text"]
        and "李*" in text["text"]
    )
    refused = buyer.call(
        "post", f"/orders/{ref}/contract", {"accept": True, "signature_name": "王五"}
    )
    assert refused.json()["error"]["code"] == "signature_mismatch"
    buyer.call("post", f"/orders/{ref}/contract", {"accept": True, "signature_name": "李四"})
    order = _order(ref)
    assert order.contract_sha256 == text["sha256"] and order.contract_signed_at is not None
    pdf = buyer.call("get", f"/orders/{ref}/contract.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_an_open_circuit_is_not_counted_as_an_attempt(
    client, pool, carrier, gateway_fake, commits, now
):
    carrier.faults = ["open"]
    buyer = make_buyer(client, 14)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    order = _order(ref)
    assert order.submit_attempts == 0 and order.carrier_acked_at is None
    assert fulfilment.submit_to_carrier(ref=ref, now=now + dt.timedelta(seconds=6)) == "acked"
    assert _order(ref).submit_attempts == 1 and carrier.submitted == [ref]


def test_activation_asks_the_carrier_for_the_card_when_the_accepted_callback_was_lost(
    client, pool, carrier, gateway_fake, commits
):
    buyer = make_buyer(client, 11)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    with commits():  # "accepted" (with the ICCID) never arrives; shipped and delivered do
        carrier_callback(client, _order(ref), "order.shipped", courier="SX", tracking_no="SX9")
        carrier_callback(client, _order(ref), "order.delivered")
    assert (_order(ref).state, _order(ref).iccid) == ("DELIVERED", "")
    carrier.remote[ref] = {"status": "DELIVERED", "iccid": ICCID, "imsi": "460031234567890"}
    wrong = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "iccid_mismatch"
    with commits():
        activated = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": ICCID[-6:]})
    assert activated.status_code == 200 and activated.json()["state"] == "ACTIVATED"
    line = Line.objects.get(order_ref=ref)
    assert (line.iccid, line.imsi, line.status) == (ICCID, "460031234567890", "ACTIVE")


def test_reconciliation_restores_the_card_details_of_a_lost_acceptance(
    client, pool, carrier, gateway_fake, commits, now
):
    buyer = make_buyer(client, 12)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    _pay(buyer, ref, gateway_fake, commits)
    carrier.remote[ref] = {"status": "ACCEPTED", "iccid": ICCID, "imsi": "460031234567890"}
    with commits():
        assert fulfilment.reconcile_stuck(now=now + dt.timedelta(days=2)) == 1
    order = _order(ref)
    assert (order.state, order.iccid, order.imsi) == ("ACCEPTED", ICCID, "460031234567890")


def test_a_payer_who_pays_twice_gets_the_second_payment_back_and_the_order_goes_on(
    client, pool, carrier, gateway_fake, commits
):
    buyer = make_buyer(client, 13)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    assert buyer.call("post", f"/orders/{ref}/payment", {"method": "alipay"}).status_code == 201
    first = Payment.objects.get(reference=ref)
    payment_ops.close_payment(
        payment_id=first.pk, reason="换一种方式支付", now=fulfilment.clock.now()
    )
    again = buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"})
    assert again.status_code == 201, again.content
    second = Payment.objects.filter(reference=ref).exclude(pk=first.pk).get()
    with commits():  # a second attempt, paid
        deliver(gateway_fake.pay(second.merchant_order_id))
    assert _order(ref).state == "SUBMITTED" and _order(ref).payment_id == second.pk
    with commits():  # the first attempt is paid after all (the payer had it open elsewhere)
        deliver(gateway_fake.pay(first.merchant_order_id))
    fulfilment.sweep(now=fulfilment.clock.now())
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, first.refunded_fen) == ("REFUNDED", 2000)
    assert (second.status, second.refunded_fen) == ("PAID", 0)
    assert _order(ref).state == "SUBMITTED" and carrier.submitted == [ref]
    # The carrier then rejects the order: the payment that paid for it goes back too.
    with commits():
        carrier_callback(client, _order(ref), "order.rejected", reason="风控拒绝")
    fulfilment.sweep(now=fulfilment.clock.now())
    second.refresh_from_db()
    assert (second.status, second.refunded_fen) == ("REFUNDED", 2000)
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
