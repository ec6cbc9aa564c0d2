from __future__ import annotations

import pytest

from haoka.carriers import http as carrier_http
from haoka.catalog import operations as catalog_ops
from haoka.core import clock
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from haoka.payments import gateway
from tests.support.orders import T0, FakeCarrier, FakeGateway

#: CTCC numbers for CT-WUYOU-0 (¥20 first top-up: a payment step) and CMCC for CM-MANGO-39.
NUMBERS = {
    "CTCC": ["18912340001", "18912340002", "18912340003", "18912340004"],
    "CMCC": ["13912340001", "13912340002"],
}


@pytest.fixture
def now():
    with clock.frozen(T0, all_threads=True):
        yield T0


@pytest.fixture
def pool(db, now):
    catalog_ops.load_seed_catalog()
    number_ops.ensure_default_tier_prices()
    rows = [
        importer.Row(line=i, msisdn=m, carrier=c, price="0")
        for i, (c, ms) in enumerate(NUMBERS.items())
        for m in ms
    ]
    importer.import_rows(rows=rows, source="test")


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
