"""Property: whatever the order, duplication and interleaving of a payment's notifications,
refund requests, console refunds and gateway outages, the payment is paid exactly once, the
ledger posts it once and stays balanced, and refunds never exceed what was paid."""

from __future__ import annotations

import contextlib
import json

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.core import ledger, signing
from haoka.core.errors import HaokaError
from haoka.payments import domain, gateway, operations
from haoka.payments.errors import RefundFailed, RefundIntentMismatch
from haoka.payments.gateway import GatewayUnavailable
from haoka.payments.models import Payment, Refund
from tests.support.payments import (
    ASSET,
    SECRET,
    T0,
    FakeGateway,
    balance,
    paid_transitions,
    payment_postings,
)

pytestmark = pytest.mark.django_db

#: What a refund request may meet in these sequences (each changes nothing it should not).
REFUSALS = (domain.RefundExceedsPayment, RefundIntentMismatch, RefundFailed, GatewayUnavailable)


def deliver(note: dict) -> int:
    """The HTTP status haoka answers the gateway with."""
    body = json.dumps(note).encode()
    header = signing.sign(secret=SECRET, body=body, timestamp=int(T0.timestamp()))
    try:
        operations.handle_notification(body=body, signature=header, now=T0)
    except HaokaError as exc:
        return exc.status
    return 200


def check(payment: Payment) -> None:
    payment.refresh_from_db()
    assert ledger.trial_balance_fen() == 0
    assert paid_transitions(payment) <= 1
    assert payment_postings(payment) <= 1
    assert 0 <= payment.refunded_fen <= payment.amount_fen
    succeeded = Refund.objects.filter(payment=payment, status="SUCCEEDED")
    assert payment.refunded_fen == (succeeded.aggregate(s=Sum("amount_fen"))["s"] or 0)
    paid = payment.amount_fen if payment.status in domain.PAID_STATES else 0
    assert balance(ASSET) == paid - payment.refunded_fen


def steps_for(amount: int):
    """Steps of one scenario; refund amounts are drawn within the payment's amount."""
    some = st.integers(1, amount)
    return st.lists(
        st.one_of(
            st.tuples(st.just("deliver"), st.integers(0, 99)),
            st.tuples(st.just("deliver"), st.integers(0, 99)),
            st.tuples(st.just("refund"), st.one_of(st.none(), some), st.integers(0, 2)),
            st.tuples(st.just("console_refund"), some),
            st.tuples(st.just("late_close")),
            st.tuples(st.just("outage"), st.integers(1, 4)),
            st.tuples(st.just("reconcile")),
        ),
        max_size=16,
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(amount=st.integers(1, 5_000), data=st.data())
def test_any_sequence_of_notifications_pays_exactly_once_and_never_over_refunds(
    amount, data, frozen_now, received, django_capture_on_commit_callbacks
):
    received.clear()
    steps = data.draw(steps_for(amount))
    with transaction.atomic(), django_capture_on_commit_callbacks(execute=True):
        fake = FakeGateway()
        with gateway.overridden(fake.client()):
            payment = _run(fake, amount=amount, steps=steps, data=data)
        transaction.set_rollback(True)
    assert len(received.of("payment_succeeded")) == 1
    assert len(received.of("refund_succeeded")) == payment["refunds"]


def _run(fake: FakeGateway, *, amount: int, steps: list, data) -> dict:
    started = operations.start_payment(
        purpose="TOPUP",
        reference="TU1",
        user_id=None,
        amount_fen=amount,
        method="WECHAT",
        return_url="",
        now=T0,
    )
    payment = Payment.objects.get(pk=started.payment_id)
    fake.pay(started.merchant_order_id)
    gateway_payment = fake.payments[payment.gateway_payment_id]
    for n, action in enumerate(steps):
        _do(fake, gateway_payment, action, n)
        check(payment)
    fake.faults.clear()
    answers: list[int] = []
    for _ in range(3):  # the gateway sends again what was not answered 2xx; haoka reconciles
        order = data.draw(st.permutations(range(len(fake.outbox))))
        answers = [deliver(fake.outbox[i]) for i in order]
        with contextlib.suppress(RefundFailed):
            operations.reconcile_payment(payment_id=payment.pk, now=T0)
        check(payment)
    assert set(answers) == {200}, answers  # in the end every notification was taken
    payment.refresh_from_db()
    assert payment.status in domain.PAID_STATES
    assert paid_transitions(payment) == 1
    assert payment_postings(payment) == 1
    assert not Refund.objects.filter(payment=payment, status="REQUESTED").exists()
    assert payment.refunded_fen == gateway_payment.refunded_fen
    return {"refunds": Refund.objects.filter(payment=payment, status="SUCCEEDED").count()}


def _do(fake: FakeGateway, gateway_payment, action: tuple, n: int) -> None:
    kind = action[0]
    if kind == "deliver" and fake.outbox:
        deliver(fake.outbox[action[1] % len(fake.outbox)])
    elif kind == "refund":
        with contextlib.suppress(*REFUSALS):
            operations.refund(
                purpose="TOPUP",
                reference="TU1",
                amount_fen=action[1],
                reason=f"reason_{action[2]}",
                now=T0,
            )
    elif kind == "console_refund":
        if gateway_payment.refunded_fen + action[1] <= gateway_payment.amount_fen:
            fake._refund(gateway_payment, {"refund_id": f"console_{n}", "amount_fen": action[1]})
    elif kind == "late_close":
        fake._notify("payment.closed", gateway_payment)
    elif kind == "outage":
        fake.faults.extend(["503"] * action[1])
    elif kind == "reconcile":
        with contextlib.suppress(GatewayUnavailable, RefundFailed):
            operations.reconcile_payment(payment_id=gateway_payment_pk(gateway_payment), now=T0)


def gateway_payment_pk(gateway_payment) -> int:
    return Payment.objects.get(gateway_payment_id=gateway_payment.payment_id).pk
