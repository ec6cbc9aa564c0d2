"""Fixtures for sign-in tests (helpers live in accounts_helpers.py)."""

from __future__ import annotations

import contextlib

import pytest
from accounts_helpers import Moment, Otp


@pytest.fixture
def moment():
    with contextlib.ExitStack() as stack:
        yield Moment(stack)


@pytest.fixture
def otp(client, db) -> Otp:
    return Otp(client)
