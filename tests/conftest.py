"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import pytest


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def api_client():
    from django.test import Client

    return Client()


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """``with commits(): ...`` runs the on-commit work (tasks, signals) of the block as a real
    commit would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
