"""Refunds of order payments that the gateway made without haoka asking (its merchant
console): the money of a payment that pays for nothing (a failed order) is the customer's
anyway, so the refund is matched; an order under way keeps what it bought, so the refund is
parked for staff. The books stay balanced either way (issue 19, item 10)."""

from __future__ import annotations

import pytest

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.orders import fulfilment
from haoka.orders.models import Order, OrderEvent
from haoka.payments.models import Payment, Refund, UnmatchedRefund
from tests.support.orders import carrier_callback, deliver, make_buyer

pytestmark = pytest.mark.django_db
PAID_PLAN, CT1 = "CT-WUYOU-0", "18912340001"  # a ¥20 first top-up to pay


def _paid_order(client, gateway_fake, commits, serial: int) -> tuple[str, Payment]:
    buyer = make_buyer(client, serial)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    assert buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"}).status_code == 201
    payment = Payment.objects.get(reference=ref)
    with commits():
        deliver(gateway_fake.pay(payment.merchant_order_id))
    return ref, payment


def _console_refund(gateway_fake, payment: Payment, amount_fen: int) -> dict:
    payment.refresh_from_db()
    gateway_payment = gateway_fake.payments[payment.gateway_payment_id]
    gateway_fake._refund(gateway_payment, {"refund_id": "console_1", "amount_fen": amount_fen})
    return gateway_fake.last("refund.succeeded")


def test_a_gateway_refund_of_a_rejected_orders_payment_is_matched_and_not_paid_twice(
    client, pool, carrier, gateway_fake, commits
):
    ref, payment = _paid_order(client, gateway_fake, commits, 21)
    # Rejected by the carrier; haoka's own refund is queued but has not run yet.
    carrier_callback(client, Order.objects.get(ref=ref), "order.rejected", reason="风控拒绝")
    assert Order.objects.get(ref=ref).refund_state == "PENDING"
    with commits():
        deliver(_console_refund(gateway_fake, payment, 2_000))
    assert not UnmatchedRefund.objects.exists()
    assert OrderEvent.objects.filter(order__ref=ref, reason__contains="console_1").exists()
    fulfilment.sweep(now=fulfilment.clock.now())  # haoka's refund finds nothing left
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 2_000)
    assert list(Refund.objects.filter(payment=payment).values_list("refund_id", flat=True)) == [
        "console_1"
    ]
    assert Order.objects.get(ref=ref).refund_state == "DONE"
    assert ledger.balance_fen(account=chart.CUSTOMER_PREPAYMENTS) == 0
    assert ledger.balance_fen(account=chart.UNMATCHED_REFUNDS) == 0
    assert ledger.trial_balance_fen() == 0


def test_a_gateway_refund_of_an_order_under_way_is_parked_and_the_order_goes_on(
    client, pool, carrier, gateway_fake, commits
):
    ref, payment = _paid_order(client, gateway_fake, commits, 22)
    assert Order.objects.get(ref=ref).state == "SUBMITTED"
    with commits():
        deliver(_console_refund(gateway_fake, payment, 500))
    parked = UnmatchedRefund.objects.get()
    assert (parked.reason_code, parked.amount_fen) == (fulfilment.ORDER_IN_PROGRESS, 500)
    assert Order.objects.get(ref=ref).state == "SUBMITTED"
    assert ledger.balance_fen(account=chart.UNMATCHED_REFUNDS) == 500
    assert ledger.balance_fen(account=chart.CUSTOMER_PREPAYMENTS) == -2_000  # untouched
    assert ledger.trial_balance_fen() == 0
