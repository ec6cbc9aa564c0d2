"""On PostgreSQL, 100 buyers racing for one number: exactly one wins, 99 get 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.core import clock
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberEvent, PhoneNumber
from tests.support.clients import ProductionClient
from tests.support.numbers import seed_catalog, seed_numbers

NUMBER = "13912348888"
BUYERS = 100
#: PostgreSQL's default max_connections is 100; 60 connections at once still makes 100 racing
#: requests collide on one row while leaving room for the test's own and other sessions.
THREADS = 60


@pytest.mark.django_db(transaction=True)
def test_one_hundred_concurrent_reservations_of_one_number_have_exactly_one_winner():
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    seed_catalog()
    seed_numbers(generated=0)
    now = clock.now()
    users = User.objects.bulk_create([User(username=f"racer{i}") for i in range(BUYERS)])
    tokens = [account_ops._issue_session(user=u, now=now).token for u in users]
    barrier = threading.Barrier(THREADS)

    def attempt(i: int) -> tuple[int, str]:
        try:
            if i < THREADS:
                barrier.wait(timeout=30)
            response = ProductionClient().post(
                f"/api/v1/numbers/{NUMBER}/reserve",
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            body = response.json()
            return response.status_code, body.get("error", {}).get("code", "")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(attempt, range(BUYERS)))

    statuses = sorted(code for code, _ in results)
    assert statuses.count(201) == 1
    assert statuses.count(409) == BUYERS - 1
    assert {err for code, err in results if code == 409} == {"number_unavailable"}
    number = PhoneNumber.objects.get(msisdn=NUMBER)
    assert number.status == NumberState.RESERVED
    assert NumberEvent.objects.filter(number=number, to_status="RESERVED").count() == 1
