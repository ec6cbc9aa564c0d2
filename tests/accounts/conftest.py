"""Fixtures for sign-in tests (helpers live in tests/support/accounts.py)."""

from __future__ import annotations

import contextlib

import pytest

from tests.support.accounts import Moment, Otp


@pytest.fixture
def moment():
    with contextlib.ExitStack() as stack:
        yield Moment(stack)


@pytest.fixture
def otp(client, db) -> Otp:
    return Otp(client)
