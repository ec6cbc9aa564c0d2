from __future__ import annotations

import pytest

from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs
from haoka.core import clock
from tests.support.sponsors import T0


@pytest.fixture
def now():
    with clock.frozen(T0, all_threads=True):
        yield T0


@pytest.fixture
def catalog(db, now):
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    yield
    tariffs.forget_cached()
