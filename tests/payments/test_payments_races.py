"""On PostgreSQL, concurrent repeats of one intent: one payment, one posting, one refund."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.core import ledger
from haoka.payments import operations
from haoka.payments.models import Payment, PaymentEvent, Refund
from tests.support.payments import T0, balance, deliver, paid_transitions, payment_postings

THREADS = 16


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


def race(fn, n: int = THREADS) -> list:
    """Run ``fn(i)`` in ``n`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(n)

    def attempt(i: int):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        except Exception as exc:  # the test inspects what each thread met
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


def start():
    return operations.start_payment(
        purpose="ORDER",
        reference="HKRACE",
        user_id=None,
        amount_fen=8_800,
        method="WECHAT",
        return_url="",
        now=T0,
    )


def test_concurrent_starts_of_one_payment_make_one_attempt_and_one_gateway_payment(
    postgres_only, fake
):
    results = race(lambda i: start())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.payment_id for r in results}) == 1
    assert {r.status for r in results} == {"PENDING"}
    assert Payment.objects.count() == 1
    assert len(fake.payments) == 1


def test_concurrent_deliveries_of_one_success_pay_once_and_post_once(postgres_only, fake):
    started = start()
    note = fake.pay(started.merchant_order_id)
    others = [{**note, "event_id": f"{note['event_id']}_{i}"} for i in range(THREADS // 2)]
    notes = [note] * (THREADS - len(others)) + others
    results = race(lambda i: deliver(notes[i]))
    assert results == [None] * THREADS
    payment = Payment.objects.get(pk=started.payment_id)
    assert payment.status == "PAID"
    assert paid_transitions(payment) == 1
    assert payment_postings(payment) == 1
    assert PaymentEvent.objects.filter(event_id__isnull=False).count() == 1 + len(others)
    assert balance("asset:gateway:sandbox") == 8_800
    assert ledger.trial_balance_fen() == 0


def test_concurrent_repeats_of_one_refund_refund_once(postgres_only, fake):
    started = start()
    deliver(fake.pay(started.merchant_order_id))

    def refund(i):
        return operations.refund(
            purpose="ORDER", reference="HKRACE", amount_fen=None, reason="cancelled", now=T0
        )

    results = race(refund)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {(r.refund_id, r.amount_fen) for r in results} == {(f"rf_{started.payment_id}_1", 8_800)}
    assert Refund.objects.count() == 1
    assert len(fake.refunds) == 1
    payment = Payment.objects.get(pk=started.payment_id)
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 8_800)
    assert balance("asset:gateway:sandbox") == 0
    assert ledger.trial_balance_fen() == 0
