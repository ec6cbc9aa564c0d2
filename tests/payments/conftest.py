"""Fixtures for the payment tests (helpers live in tests/support/payments.py)."""

from __future__ import annotations

import pytest

from haoka.core import clock, ledger
from haoka.payments import gateway, signals
from tests.support.payments import T0, FakeGateway


@pytest.fixture
def frozen_now():
    """Every thread's clock stands at T0 (signatures are made for T0)."""
    with clock.frozen(T0, all_threads=True):
        yield T0


@pytest.fixture
def balanced_ledger():
    """After the test, the ledger balances: in total and in every transaction."""
    yield
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []


@pytest.fixture
def fake(frozen_now) -> FakeGateway:
    """An in-memory gateway that operations talk to over httpx.MockTransport."""
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


@pytest.fixture(autouse=True)
def _only_this_domains_receivers(monkeypatch):
    """Other domains (orders, charging) listen to these signals in production; here only the test
    does, so a payments test never depends on another domain's tables or rules."""
    for signal in (signals.payment_succeeded, signals.refund_succeeded, signals.refund_unsolicited):
        monkeypatch.setattr(signal, "receivers", [])
        signal.sender_receivers_cache.clear()


class Received(list):
    def of(self, name: str) -> list[dict]:
        return [kwargs for signal, kwargs in self if signal == name]


@pytest.fixture
def received():
    """Every payment_succeeded / refund_succeeded sent, with its kwargs."""
    seen = Received()

    def on_paid(sender, **kwargs):
        seen.append(("payment_succeeded", {k: v for k, v in kwargs.items() if k != "signal"}))

    def on_refund(sender, **kwargs):
        seen.append(("refund_succeeded", {k: v for k, v in kwargs.items() if k != "signal"}))

    signals.payment_succeeded.connect(on_paid, dispatch_uid="test.paid")
    signals.refund_succeeded.connect(on_refund, dispatch_uid="test.refund")
    yield seen
    signals.payment_succeeded.disconnect(dispatch_uid="test.paid")
    signals.refund_succeeded.disconnect(dispatch_uid="test.refund")
