from __future__ import annotations

import datetime as dt

import pytest

from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs
from haoka.core import clock

#: 12:00 Beijing on 10 May 2026.
NOON = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.frozen(NOON, all_threads=True):
        yield NOON


@pytest.fixture
def catalog(db):
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    yield
    tariffs.forget_cached()
