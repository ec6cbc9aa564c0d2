"""Fixtures for the page tests (helpers live in tests/support/web.py)."""

from __future__ import annotations

import pytest

from tests.support.web import make_user, seed_catalog, seed_numbers


@pytest.fixture
def catalog(db):
    seed_catalog()


@pytest.fixture
def pool(catalog):
    seed_numbers()


@pytest.fixture
def buyer(db):
    return make_user("13700000001")


@pytest.fixture
def rival(db):
    return make_user("13700000002")


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client
