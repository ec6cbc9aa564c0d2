from __future__ import annotations

import re

import pytest

from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs
from haoka.core import clock
from tests.support import camara as camara_support
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


def pytest_configure(config):
    """The CAMARA feature's scenario tags are pytest-bdd markers: declare them (strict)."""
    feature = camara_support.FEATURE_PATH
    for tag in sorted(set(re.findall(r"^\s*@(\S+)", feature.read_text(encoding="utf-8"), re.M))):
        config.addinivalue_line("markers", f"{tag}: a CAMARA Sponsored Data scenario")
