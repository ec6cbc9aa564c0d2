from __future__ import annotations

import pytest

from haoka.carriers import http as carrier_http
from haoka.payments import gateway
from tests.support import line_fixtures
from tests.support.orders import FakeCarrier, FakeGateway

# The line fixtures charging's tests share (tests/support/line_fixtures.py).
now = line_fixtures.now
catalog = line_fixtures.catalog
later = line_fixtures.later


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
