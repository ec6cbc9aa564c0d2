from __future__ import annotations

import datetime as dt

import pytest

from haoka.carriers import http as carrier_http
from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs
from haoka.core import clock
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from haoka.payments import gateway
from tests.support.lines import CT_NUMBERS
from tests.support.orders import T0, FakeCarrier, FakeGateway


@pytest.fixture
def now():
    """10:00 Beijing on 1 March 2026 (the instant the payment and carrier fakes sign for)."""
    with clock.frozen(T0, all_threads=True):
        yield T0


@pytest.fixture
def catalog(db, now):
    catalog_ops.load_seed_catalog()
    number_ops.ensure_default_tier_prices()
    importer.import_rows(
        rows=[
            importer.Row(line=i, msisdn=m, carrier="CTCC", price="0")
            for i, m in enumerate(CT_NUMBERS)
        ],
        source="test",
    )
    tariffs.forget_cached()
    yield
    tariffs.forget_cached()


@pytest.fixture
def carrier():
    fake = FakeCarrier()
    carrier_http.set_adapter(fake)
    yield fake
    carrier_http.set_adapter(None)


@pytest.fixture
def gateway_fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


@pytest.fixture
def later():
    """Move the clock (all threads) to another instant inside a test."""
    stack = []

    def move(at: dt.datetime):
        frozen = clock.frozen(at, all_threads=True)
        frozen.__enter__()
        stack.append(frozen)
        return at

    yield move
    while stack:
        stack.pop().__exit__(None, None, None)
