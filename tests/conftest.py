"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import pytest
from django.db import connection

from haoka.accounts import tokencache
from tests.support.clients import ProductionClient
from tests.support.tokencache import until


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def client():
    """Django's test client on the production path: API and Nchf requests through
    ``haoka.wsgi.application`` (see tests/support/clients.py), pages through Django's chain."""
    return ProductionClient()


@pytest.fixture
def api_client():
    return ProductionClient()


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """``with commits(): ...`` runs the on-commit work (tasks, signals) of the block as a real
    commit would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def token_cache(settings):
    """The bearer-token cache on and listening (PostgreSQL; skipped elsewhere). Use with
    ``django_db(transaction=True)``: only committed changes are announced."""

    if not is_postgres():
        pytest.skip("the token cache listens to PostgreSQL's NOTIFY")
    settings.TOKEN_CACHE = True
    tokencache.cache.stop()
    tokencache.cache.lookup("start-the-listener")
    until(tokencache.cache.live, "the listener connects")
    yield tokencache.cache
    tokencache.cache.stop()
