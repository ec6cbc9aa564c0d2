"""The submission pump: how paid orders reach their carrier outside the test suite's inline
mode (the worker runs ``fulfilment.pump_submissions`` in a loop)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from haoka.carriers import http as carrier_http
from haoka.kyc.models import KycRecord
from haoka.orders import domain, fulfilment
from haoka.orders.models import Order, OrderEvent
from haoka.payments.models import Payment
from tests.support.orders import FakeCarrier, deliver, make_buyer

PAID_PLAN, FREE_PLAN = "CT-WUYOU-0", "CM-MANGO-39"
PAID = ["18912340001", "18912340002", "18912340003", "18912340004"]
FREE = ["13912340001", "13912340002"]
ACK = "运营商已接收订单"


@pytest.fixture
def pumped(settings):
    """Submissions left to the pump, as in a deployment."""
    settings.SUBMIT_INLINE = False


def _submitted(client, gateway_fake, commits, *, serial: int, msisdn: str) -> str:
    """An order taken through payment (or past it, with nothing due): SUBMITTED, not sent."""
    buyer = make_buyer(client, serial)
    plan = FREE_PLAN if msisdn in FREE else PAID_PLAN
    ref = buyer.hold_and_order(msisdn=msisdn, plan=plan)["ref"]
    buyer.kyc_and_sign(ref)
    if plan == PAID_PLAN:
        started = buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"})
        assert started.status_code == 201, started.content
        with commits():
            deliver(gateway_fake.pay(Payment.objects.get(reference=ref).merchant_order_id))
    assert Order.objects.get(ref=ref).state == "SUBMITTED"
    return ref


def _acks(ref: str) -> int:
    return OrderEvent.objects.filter(order__ref=ref, reason=ACK).count()


@pytest.mark.django_db
def test_a_paid_order_waits_for_the_pump_which_submits_it_once_and_records_the_ack(
    client, pool, carrier, gateway_fake, commits, now, pumped
):
    ref = _submitted(client, gateway_fake, commits, serial=1, msisdn=PAID[0])
    assert carrier.submitted == []  # nothing was called from the payment's request
    assert Order.objects.get(ref=ref).next_submit_at == now  # due at once

    assert fulfilment.pump_submissions(now=now) == {ref: "acked"}
    order = Order.objects.get(ref=ref)
    assert carrier.submitted == [ref]
    assert (order.carrier_acked_at, order.next_submit_at, order.submit_attempts) == (now, None, 1)
    assert order.carrier_order_id == f"C-{ref}" and _acks(ref) == 1
    # Acknowledged: the next rounds find nothing to do.
    assert fulfilment.pump_submissions(now=now + domain.SUBMIT_BACKOFF_CAP) == {}
    assert carrier.submitted == [ref] and _acks(ref) == 1


@pytest.mark.django_db
def test_one_round_submits_a_batch_with_parallel_calls_and_acknowledges_each_order_once(
    client, pool, carrier, gateway_fake, commits, now, pumped, monkeypatch
):
    monkeypatch.setattr(fulfilment, "SUBMIT_CALLS", 4)
    refs = [
        _submitted(client, gateway_fake, commits, serial=i, msisdn=msisdn)
        for i, msisdn in enumerate([*PAID, *FREE], start=1)
    ]
    done = fulfilment.pump_submissions(now=now)
    assert done == dict.fromkeys(refs, "acked")
    assert sorted(carrier.submitted) == sorted(refs)
    assert [_acks(ref) for ref in refs] == [1] * len(refs)
    assert not Order.objects.filter(carrier_acked_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_failed_call_in_a_batch_is_retried_later_and_the_others_are_acknowledged(
    client, pool, carrier, gateway_fake, commits, now, pumped, monkeypatch
):
    monkeypatch.setattr(fulfilment, "SUBMIT_CALLS", 1)  # calls in order: the first one fails
    refs = [
        _submitted(client, gateway_fake, commits, serial=i, msisdn=msisdn)
        for i, msisdn in enumerate(PAID[:3], start=1)
    ]
    carrier.faults = ["down"]
    assert fulfilment.pump_submissions(now=now) == {
        refs[0]: "retry",
        refs[1]: "acked",
        refs[2]: "acked",
    }
    failed = Order.objects.get(ref=refs[0])
    retry_at = now + domain.submit_backoff(attempts=1)
    assert (failed.carrier_acked_at, failed.submit_attempts) == (None, 1)
    assert failed.next_submit_at == retry_at and failed.last_error.startswith("carrier_unavail")
    assert fulfilment.pump_submissions(now=retry_at - dt.timedelta(seconds=1)) == {}  # not due yet
    assert fulfilment.pump_submissions(now=retry_at) == {refs[0]: "acked"}
    assert Order.objects.get(ref=refs[0]).submit_attempts == 2
    assert sorted(carrier.submitted) == sorted(refs)


@pytest.mark.django_db
def test_an_order_without_a_passed_identity_check_fails_alone_and_stays_due_for_later(
    client, pool, carrier, gateway_fake, commits, now, pumped
):
    broken, fine = (
        _submitted(client, gateway_fake, commits, serial=i, msisdn=msisdn)
        for i, msisdn in enumerate(PAID[:2], start=1)
    )
    KycRecord.objects.filter(order_ref=broken).delete()  # a staff mistake, say
    assert fulfilment.pump_submissions(now=now) == {broken: "failed", fine: "acked"}
    left = Order.objects.get(ref=broken)
    assert left.carrier_acked_at is None and left.next_submit_at > now
    assert carrier.submitted == [fine]


@pytest.mark.django_db(transaction=True)
def test_two_pumps_at_once_never_submit_the_same_order_twice(
    client, pool, gateway_fake, commits, now, pumped, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED leases between connections: PostgreSQL")

    class SlowCarrier(FakeCarrier):
        def submit_order(self, request):
            time.sleep(0.05)  # both pumps are busy at the same time
            return super().submit_order(request)

    slow = SlowCarrier()
    carrier_http.set_adapter(slow)
    monkeypatch.setattr(fulfilment, "SUBMIT_BATCH", 3)  # each round takes part of the orders
    monkeypatch.setattr(fulfilment, "SUBMIT_CALLS", 1)
    try:
        refs = [
            _submitted(client, gateway_fake, commits, serial=i, msisdn=msisdn)
            for i, msisdn in enumerate([*PAID, *FREE], start=1)
        ]
        start = threading.Barrier(2)
        results: list[dict[str, str]] = []

        def pump() -> None:
            try:
                start.wait()
                while done := fulfilment.pump_submissions(now=now):
                    results.append(done)
            finally:
                connection.close()

        threads = [threading.Thread(target=pump) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        taken = [ref for done in results for ref in done]
        assert sorted(taken) == sorted(refs)  # every order once, by one pump or the other
        assert sorted(slow.submitted) == sorted(refs)
        assert all(outcome == "acked" for done in results for outcome in done.values())
        assert [_acks(ref) for ref in refs] == [1] * len(refs)
    finally:
        carrier_http.set_adapter(None)
