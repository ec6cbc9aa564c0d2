"""End to end against the real gateway simulator process (``python -m haoka.simulate
payment``) with haoka served by a live server as the notification target: pay, get notified,
refund, and see both sides agree."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from haoka.core import clock, ledger
from haoka.payments import gateway, operations
from haoka.payments.models import Payment, PaymentEvent

SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def payment_simulator(*args: str) -> Iterator[str]:
    """Run the gateway simulator on a free port; yield its base URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "haoka.simulate", "payment", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"simulator exited: {proc.stderr.read().decode()}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{base}/_sim/config", timeout=1).status_code == 200
            return False

        wait_for(up, timeout=20, what="the payment simulator to start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def status_of(payment_id: int) -> str:
    return Payment.objects.values_list("status", flat=True).get(pk=payment_id)


def delivered(base: str, *, sent: int, duplicated: int) -> bool:
    """Whether the simulator has had its answers to that many notifications (and copies)."""
    stats = httpx.get(f"{base}/_sim/stats").json()
    return stats["callbacks_sent"] >= sent and stats["callbacks_duplicated"] >= duplicated


def journey(
    *, base: str, haoka_url: str, reference: str, duplicates: bool = False
) -> tuple[Payment, object]:
    """Start a payment, pay it at the cashier, wait for the notification, refund it all,
    wait for the refund notification; return haoka's payment and the gateway's view.

    Each wait lasts until the simulator has had haoka's answer, not only until the row
    changed: on SQLite the live server shares the test's connection, and a request still
    running after its commit would meet the test's next statement on it."""
    copies = 1 if duplicates else 0
    started = operations.start_payment(
        purpose="ORDER",
        reference=reference,
        user_id=None,
        amount_fen=19_900,
        method="WECHAT",
        return_url=f"{haoka_url}/orders/{reference}/",
        now=clock.now(),
    )
    assert started.status == "PENDING"
    assert started.pay_url.startswith(f"{base}/pay/")

    confirmed = httpx.post(f"{started.pay_url}/confirm", headers={"accept": "application/json"})
    assert confirmed.json()["status"] == "PAID"
    wait_for(lambda: status_of(started.payment_id) == "PAID", timeout=30, what="PAID")
    wait_for(lambda: delivered(base, sent=1, duplicated=copies), timeout=30, what="the answer")

    result = operations.refund(
        purpose="ORDER",
        reference=reference,
        amount_fen=None,
        reason="order_cancelled",
        now=clock.now(),
    )
    assert (result.status, result.payment_status) == ("SUCCEEDED", "REFUNDED")
    # The gateway's own refund notification arrives too, and changes nothing more.
    wait_for(
        lambda: PaymentEvent.objects.filter(
            payment_id=started.payment_id, kind="refund.succeeded", event_id__isnull=False
        ).exists(),
        timeout=30,
        what="the refund notification",
    )
    wait_for(lambda: delivered(base, sent=2, duplicated=2 * copies), timeout=30, what="the answer")
    payment = Payment.objects.get(pk=started.payment_id)
    at_gateway = gateway.for_name("sandbox").query_payment(payment_id=payment.gateway_payment_id)
    return payment, at_gateway


def assert_agreed(payment: Payment, at_gateway) -> None:
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 19_900)
    assert (at_gateway.status, at_gateway.refunded_fen) == ("REFUNDED", 19_900)
    assert payment.paid_at == at_gateway.paid_at
    assert PaymentEvent.objects.filter(payment=payment, to_status="PAID").count() == 1
    assert ledger.trial_balance_fen() == 0
    assert ledger.balance_fen(account="asset:gateway:sandbox") == 0
    assert ledger.balance_fen(account="liability:customer_prepayments") == 0


@pytest.fixture
def simulator(live_server, settings):
    """The simulator process, notifying the live server; haoka configured to use it."""

    @contextlib.contextmanager
    def run(*args: str):
        callback = f"{live_server.url}/api/v1/callbacks/payments/sandbox"
        secret = settings.PAYMENT_GATEWAY_SECRET
        with payment_simulator("--secret", secret, "--callback-url", callback, *args) as base:
            settings.PAYMENT_GATEWAY_URL = base
            settings.PUBLIC_BASE_URL = live_server.url
            yield base

    return run


@pytest.mark.django_db(transaction=True)
def test_a_payment_paid_at_the_real_simulator_is_notified_refunded_and_agreed_on_both_sides(
    simulator, live_server
):
    with simulator("--latency-ms", "0,5") as base:
        payment, at_gateway = journey(base=base, haoka_url=live_server.url, reference="HKE2E1")
        stats = httpx.get(f"{base}/_sim/stats").json()
    assert_agreed(payment, at_gateway)
    assert stats["callbacks_failed"] == 0
    assert stats["callbacks_sent"] == 2  # payment.succeeded, refund.succeeded


@pytest.mark.django_db(transaction=True)
def test_injected_failures_and_duplicate_notifications_still_pay_and_refund_exactly_once(
    simulator, live_server
):
    # Seeded: the fault draws follow the request order, so the run is the same every time.
    faults = ("--failure-rate", "0.4", "--duplicate-rate", "1", "--seed", "11")
    with simulator("--latency-ms", "0,5", *faults) as base:
        payment, at_gateway = journey(
            base=base, haoka_url=live_server.url, reference="HKE2E2", duplicates=True
        )
        stats = httpx.get(f"{base}/_sim/stats").json()
    assert_agreed(payment, at_gateway)
    assert stats["failures_injected"] >= 1  # our client retried through them
    assert stats["created"] == 2  # one payment, one refund: retries created nothing more
    assert stats["callbacks_duplicated"] == 2  # each notification twice, applied once
    assert stats["callbacks_failed"] == 0
