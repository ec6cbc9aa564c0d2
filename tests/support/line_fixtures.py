"""Fixtures of a line's life shared by the tests of lines and of charging (which builds on
lines): the frozen clock of the line fakes, the seed catalog with China Telecom numbers, a clock
that moves. Import the ones a test module or conftest needs."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs
from haoka.core import clock
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from tests.support.lines import CT_NUMBERS
from tests.support.orders import T0


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
