"""Use cases against the in-memory gateway: start, refund, close, reconcile."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from haoka.core import clock
from haoka.payments import domain, operations, queries, tasks
from haoka.payments.errors import (
    PaymentInProgress,
    PaymentNotFound,
    RefundFailed,
    RefundIntentMismatch,
)
from haoka.payments.gateway import GatewayRejected, GatewayUnavailable
from haoka.payments.models import Payment, PaymentEvent, Refund
from tests.support.payments import (
    ASSET,
    PREPAYMENTS,
    T0,
    Snapshot,
    balance,
    deliver,
    paid_transitions,
    payment_postings,
    refund_postings,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("balanced_ledger")]


def start(reference="HK1001", amount_fen=9_900, method="WECHAT", purpose="ORDER", user_id=None):
    return operations.start_payment(
        purpose=purpose,
        reference=reference,
        user_id=user_id,
        amount_fen=amount_fen,
        method=method,
        return_url=f"http://haoka.test/orders/{reference}/",
        now=T0,
    )


def pay(fake, started):
    """The payer pays and the gateway's notification reaches haoka."""
    deliver(fake.pay(started.merchant_order_id))
    return Payment.objects.get(pk=started.payment_id)


def refund(reference="HK1001", amount_fen=None, reason="order_cancelled", purpose="ORDER"):
    return operations.refund(
        purpose=purpose, reference=reference, amount_fen=amount_fen, reason=reason, now=T0
    )


# ---------------------------------------------------------------- start_payment


def test_starting_a_payment_creates_it_at_the_gateway_and_returns_the_pay_url(fake):
    started = start()
    assert started.status == "PENDING"
    assert started.amount_fen == 9_900
    assert started.merchant_order_id == "ord_HK1001_1"
    assert started.pay_url.startswith("http://gateway.test/pay/")
    payment = Payment.objects.get(pk=started.payment_id)
    assert payment.gateway_payment_id == fake.by_merchant_order["ord_HK1001_1"]
    sent = fake.payments[payment.gateway_payment_id]
    assert sent.notify_url == "http://127.0.0.1:8000/api/v1/callbacks/payments/sandbox"
    kinds = list(payment.events.order_by("id").values_list("kind", "to_status"))
    assert kinds == [("created", "CREATED"), ("gateway.accepted", "PENDING")]


def test_starting_again_while_pending_returns_the_same_payment_and_creates_nothing(fake):
    first = start()
    second = start()
    assert second == first
    assert Payment.objects.count() == 1
    assert len(fake.payments) == 1


def test_starting_again_after_it_was_paid_returns_the_paid_payment(fake):
    first = start()
    pay(fake, first)
    again = start()
    assert (again.payment_id, again.status) == (first.payment_id, "PAID")
    assert len(fake.payments) == 1


def test_after_a_closed_attempt_a_new_attempt_gets_a_new_merchant_order_id(fake):
    first = start()
    operations.close_payment(payment_id=first.payment_id, reason="用户放弃", now=T0)
    second = start()
    assert second.payment_id != first.payment_id
    assert second.merchant_order_id == "ord_HK1001_2"
    assert second.status == "PENDING"
    assert fake.payments[fake.by_merchant_order["ord_HK1001_1"]].status == "CLOSED"
    assert queries.payment_for(purpose="ORDER", reference="HK1001").payment_id == (
        second.payment_id
    )


def test_a_pending_attempt_with_another_amount_or_method_is_a_conflict(fake):
    start()
    with pytest.raises(PaymentInProgress):
        start(amount_fen=100)
    with pytest.raises(PaymentInProgress):
        start(method="ALIPAY")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "changes,error",
    [
        ({"amount_fen": 0}, domain.InvalidAmount),
        ({"amount_fen": 12.5}, domain.InvalidAmount),
        ({"method": "cash"}, domain.InvalidMethod),
        ({"purpose": "GIFT"}, domain.InvalidPurpose),
        ({"reference": "订单"}, domain.InvalidReference),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(fake, changes, error):
    with pytest.raises(error):
        start(**changes)
    assert Payment.objects.count() == 0
    assert fake.seen == []


def test_when_the_gateway_is_unavailable_the_attempt_waits_and_a_retry_resumes_it(fake):
    fake.faults.extend(["503"] * 4)
    with pytest.raises(GatewayUnavailable):
        start()
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway_payment_id) == ("CREATED", None)
    started = start()
    assert started.payment_id == payment.pk
    assert started.merchant_order_id == "ord_HK1001_1"
    assert started.status == "PENDING"
    assert len(fake.payments) == 1


def test_a_creation_the_gateway_rejects_closes_the_attempt_so_the_next_start_is_new(fake):
    fake.secret = "rotated"  # the gateway refuses our signature: a definitive 401
    with pytest.raises(GatewayRejected):
        start()
    assert Payment.objects.get().status == "CLOSED"
    fake.secret = "sandbox-secret"
    assert start().merchant_order_id == "ord_HK1001_2"


def test_the_gateway_is_called_outside_any_transaction(fake):
    depths = []
    original = fake._handle

    def spy(*args):
        depths.append(connection.in_atomic_block and len(connection.savepoint_ids))
        return original(*args)

    fake._handle = spy
    baseline = connection.in_atomic_block and len(connection.savepoint_ids)
    start()
    # The test itself runs in a transaction; the gateway call adds no savepoint to it.
    assert depths == [baseline]


# ---------------------------------------------------------------- refunds


def test_a_full_refund_pays_everything_back_and_posts_the_ledger_once(
    fake, received, django_capture_on_commit_callbacks
):
    started = start()
    with django_capture_on_commit_callbacks(execute=True):
        pay(fake, started)
        result = refund()
    assert (result.status, result.amount_fen, result.payment_status) == (
        "SUCCEEDED",
        9_900,
        "REFUNDED",
    )
    assert result.refund_id == f"rf_{started.payment_id}_1"
    payment = Payment.objects.get(pk=started.payment_id)
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 9_900)
    assert balance(ASSET) == 0
    assert balance(PREPAYMENTS) == 0
    assert refund_postings(payment) == 1
    assert received.of("refund_succeeded") == [
        {
            "payment_id": payment.pk,
            "purpose": "ORDER",
            "reference": "HK1001",
            "refund_id": result.refund_id,
            "amount_fen": 9_900,
            "refunded_fen": 9_900,
            "fully_refunded": True,
        }
    ]


def test_calling_refund_twice_refunds_once_at_the_gateway_and_in_the_ledger(fake):
    started = start()
    pay(fake, started)
    first = refund()
    second = refund()
    assert second == first
    assert fake.calls["POST /v1/refunds"] == 1
    payment = Payment.objects.get(pk=started.payment_id)
    assert refund_postings(payment) == 1
    assert payment.refunded_fen == 9_900
    assert Refund.objects.count() == 1


def test_a_retry_after_the_gateway_was_unavailable_sends_the_same_refund_id(fake):
    started = start()
    pay(fake, started)
    fake.faults.extend(["timeout"] * 4)
    with pytest.raises(GatewayUnavailable):
        refund(amount_fen=1_000)
    assert Refund.objects.get().status == "REQUESTED"
    assert Payment.objects.get(pk=started.payment_id).refunded_fen == 0
    result = refund(amount_fen=1_000)
    assert result.status == "SUCCEEDED"
    assert result.refund_id == f"rf_{started.payment_id}_1"
    assert fake.payments[fake.by_merchant_order[started.merchant_order_id]].refunded_fen == 1_000


def test_partial_refunds_with_different_reasons_add_up_and_then_complete(fake):
    started = start()
    pay(fake, started)
    a = refund(amount_fen=1_900, reason="pack_unused")
    assert (a.payment_status, a.refund_id) == ("PARTIALLY_REFUNDED", f"rf_{started.payment_id}_1")
    b = refund(amount_fen=None, reason="order_cancelled")
    assert (b.amount_fen, b.payment_status) == (8_000, "REFUNDED")
    assert b.refund_id == f"rf_{started.payment_id}_2"
    assert balance(ASSET) == 0


def test_a_refund_can_never_exceed_what_was_paid(fake):
    started = start()
    pay(fake, started)
    refund(amount_fen=9_000, reason="a")
    before = Snapshot.take()
    with pytest.raises(domain.RefundExceedsPayment):
        refund(amount_fen=901, reason="b")
    assert Snapshot.take() == before
    assert fake.calls["POST /v1/refunds"] == 1


def test_refunding_all_that_is_left_when_nothing_is_left_does_nothing(fake):
    started = start()
    pay(fake, started)
    refund(reason="a")
    result = refund(reason="b")
    assert (result.status, result.refund_id, result.amount_fen) == ("NOTHING_LEFT", None, 0)
    assert Refund.objects.count() == 1


def test_the_same_reason_with_another_amount_is_a_different_intent_and_refused(fake):
    started = start()
    pay(fake, started)
    refund(amount_fen=100, reason="goodwill")
    with pytest.raises(RefundIntentMismatch):
        refund(amount_fen=200, reason="goodwill")


def test_refunding_a_pending_payment_closes_it_instead(fake):
    started = start()
    result = refund()
    assert (result.status, result.refund_id, result.amount_fen) == ("CLOSED", None, 0)
    payment = Payment.objects.get(pk=started.payment_id)
    assert payment.status == "CLOSED"
    assert fake.payments[payment.gateway_payment_id].status == "CLOSED"
    assert fake.calls["POST /v1/refunds"] == 0


def test_refunding_a_payment_paid_at_the_moment_of_closing_records_it_paid_then_refunds(
    fake, received, django_capture_on_commit_callbacks
):
    started = start()
    fake.close_already_paid = True  # the payer pays while haoka closes: the gateway says so
    with django_capture_on_commit_callbacks(execute=True):
        result = refund()
    assert (result.status, result.payment_status) == ("SUCCEEDED", "REFUNDED")
    payment = Payment.objects.get(pk=started.payment_id)
    assert payment_postings(payment) == 1
    assert refund_postings(payment) == 1
    assert [r["amount_fen"] for r in received.of("payment_succeeded")] == [9_900]


def test_a_refund_the_gateway_refuses_is_failed_and_every_repeat_says_so(fake):
    started = start()
    pay(fake, started)
    gateway_payment = fake.payments[fake.by_merchant_order[started.merchant_order_id]]
    gateway_payment.refunded_fen = 9_900  # refunded at the gateway's console, unknown here
    with pytest.raises(RefundFailed) as info:
        refund()
    assert info.value.details["gateway_error"] == "refund_exceeds_payment"
    assert Refund.objects.get().status == "FAILED"
    with pytest.raises(RefundFailed):
        refund()
    assert fake.calls["POST /v1/refunds"] == 1
    assert Payment.objects.get(pk=started.payment_id).refunded_fen == 0


def test_refunding_something_never_paid_for_is_not_found(fake):
    with pytest.raises(PaymentNotFound):
        refund(reference="NOPE")


# ---------------------------------------------------------------- reconciliation


def test_reconciling_a_lost_notification_pays_exactly_as_the_notification_would(
    fake, received, django_capture_on_commit_callbacks
):
    started = start()
    note = fake.pay(started.merchant_order_id)  # the notification never arrives
    with django_capture_on_commit_callbacks(execute=True):
        result = operations.reconcile_payment(payment_id=started.payment_id, now=T0)
    assert (result.status_before, result.status) == ("PENDING", "PAID")
    payment = Payment.objects.get(pk=started.payment_id)
    assert payment.paid_at == dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    assert balance(ASSET) == 9_900
    # ... and when the notification finally comes, nothing happens twice.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(note)
    assert payment_postings(payment) == 1
    assert paid_transitions(payment) == 1
    assert len(received.of("payment_succeeded")) == 1
    assert PaymentEvent.objects.filter(event_id=note["event_id"]).exists()


def test_reconciling_a_payment_nobody_paid_changes_nothing(fake):
    started = start()
    result = operations.reconcile_payment(payment_id=started.payment_id, now=T0)
    assert (result.status_before, result.status) == ("PENDING", "PENDING")
    assert fake.calls["GET /v1/payments/{id}"] == 1


def test_reconciling_sends_refunds_left_requested_again_with_the_same_id(fake):
    started = start()
    pay(fake, started)
    fake.faults.extend(["503"] * 4)
    with pytest.raises(GatewayUnavailable):
        refund()
    result = operations.reconcile_payment(payment_id=started.payment_id, now=T0)
    assert (result.refunds_sent, result.status) == (1, "REFUNDED")
    assert list(fake.refunds) == [f"rf_{started.payment_id}_1"]


def test_reconciling_a_crash_between_insert_and_gateway_call_creates_it_once(fake):
    fake.faults.extend(["connect"] * 4)
    with pytest.raises(GatewayUnavailable):
        start()
    payment = Payment.objects.get()
    result = operations.reconcile_payment(payment_id=payment.pk, now=T0)
    assert (result.status_before, result.status) == ("CREATED", "PENDING")
    assert len(fake.payments) == 1


def test_the_pending_sweep_reconciles_only_payments_waiting_longer_than_ten_minutes(fake):
    old = start(reference="OLD")
    fake.pay(old.merchant_order_id)
    young = operations.start_payment(
        purpose="ORDER",
        reference="YOUNG",
        user_id=None,
        amount_fen=100,
        method="ALIPAY",
        return_url="",
        now=T0 + dt.timedelta(minutes=5),
    )
    fake.pay(young.merchant_order_id)
    counts = operations.reconcile_pending(now=T0 + dt.timedelta(minutes=11))
    assert counts == {"checked": 1, "changed": 1, "failed": 0}
    assert Payment.objects.get(pk=old.payment_id).status == "PAID"
    assert Payment.objects.get(pk=young.payment_id).status == "PENDING"


def test_one_failing_reconciliation_does_not_stop_the_sweep(fake):
    first = start(reference="A1")
    second = start(reference="A2")
    fake.pay(second.merchant_order_id)
    fake.faults.extend(["503"] * 4)  # the first one's query fails every attempt
    counts = operations.reconcile_pending(now=T0 + dt.timedelta(hours=1))
    assert counts == {"checked": 2, "changed": 1, "failed": 1}
    assert Payment.objects.get(pk=first.payment_id).status == "PENDING"
    assert Payment.objects.get(pk=second.payment_id).status == "PAID"


def test_the_reconcile_task_runs_the_sweep(fake):
    started = start()
    fake.pay(started.merchant_order_id)
    with clock.frozen(T0 + dt.timedelta(minutes=30)):
        result = tasks.reconcile_pending_payments.enqueue()
    assert result.return_value == {"checked": 1, "changed": 1, "failed": 0}


# ---------------------------------------------------------------- queries


def test_payment_for_prefers_the_paid_attempt_and_reports_what_the_order_page_needs(fake):
    assert queries.payment_for(purpose="ORDER", reference="HK1001") is None
    started = start()
    pay(fake, started)
    refund(amount_fen=900)
    view = queries.payment_for(purpose="ORDER", reference="HK1001")
    assert (view.payment_id, view.status, view.refunded_fen) == (
        started.payment_id,
        "PARTIALLY_REFUNDED",
        900,
    )
    assert view.pay_url == started.pay_url
    assert view.paid_at is not None


# ---------------------------------------------------------------- the database as last guard


@pytest.mark.parametrize(
    "changes",
    [
        {"refunded_fen": 9_901},  # more back than was paid
        {"refunded_fen": -1},
        {"amount_fen": 0},
        {"status": "LOST"},
        {"status": "PAID", "paid_at": None},  # money received without its time
        {"status": "PENDING", "refunded_fen": 1},  # refunded before it was paid
    ],
)
def test_the_database_refuses_payments_that_break_the_rules(fake, changes):
    started = start()
    pay(fake, started)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=started.payment_id).update(**changes)


def test_the_database_refuses_a_second_open_attempt_for_the_same_reference(fake):
    started = start()
    payment = Payment.objects.get(pk=started.payment_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            merchant_order_id="ord_HK1001_9",
            purpose="ORDER",
            reference="HK1001",
            attempt=9,
            amount_fen=1,
            method="WECHAT",
            created_at=T0,
            updated_at=T0,
        )
    assert Payment.objects.filter(reference=payment.reference).count() == 1
