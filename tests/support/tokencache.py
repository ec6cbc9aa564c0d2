"""Helpers of the token-cache tests (accounts, charging): the cache turned on, waiting for
what the listener hears, statements from another connection."""

from __future__ import annotations

import time

import psycopg
from django.db import connection

from haoka.accounts import tokencache


def until(condition, what: str, seconds: float = 10) -> None:
    """Wait until ``condition()`` is true; fail saying ``what`` was waited for."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for: {what}")
        time.sleep(0.01)


def elsewhere(sql: str, params=()) -> None:
    """A statement from another connection, committed: another process, an admin, psql."""
    conninfo = {**tokencache._conninfo(connection.settings_dict), "application_name": "elsewhere"}
    with psycopg.connect(**conninfo, autocommit=True) as other:
        other.execute(sql, params)
