"""On PostgreSQL, concurrent postings out of one non-negative account never overdraw it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from haoka.core import ledger
from haoka.core.ledger import InsufficientBalance, Leg

THREADS = 20
TRIES_PER_THREAD = 3
INITIAL_FEN = 500
STEP_FEN = 100


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_spending_one_small_balance_never_overdraw_it():
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) need PostgreSQL; SQLite serializes writers")
    ledger.open_account(code="bank", name="bank", kind="ASSET")
    ledger.open_account(code="wallet", name="wallet", kind="LIABILITY", allow_negative=False)
    ledger.open_account(code="revenue", name="revenue", kind="REVENUE")
    ledger.post(legs=[Leg("wallet", INITIAL_FEN), Leg("bank", -INITIAL_FEN)], kind="topup")

    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()
    moved: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []

    def spend() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(TRIES_PER_THREAD):
                try:
                    ledger.post(
                        legs=[Leg("wallet", -STEP_FEN), Leg("revenue", STEP_FEN)], kind="spend"
                    )
                except InsufficientBalance:
                    with lock:
                        refused.append(STEP_FEN)
                else:
                    with lock:
                        moved.append(STEP_FEN)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(moved) == INITIAL_FEN
    assert len(moved) + len(refused) == THREADS * TRIES_PER_THREAD
    assert ledger.balance_fen(account="wallet") == 0
    assert ledger.recomputed_balance_fen(account="wallet") == 0
    assert ledger.balance_fen(account="revenue") == INITIAL_FEN
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []


@pytest.mark.django_db(transaction=True)
def test_eight_threads_posting_one_key_at_once_post_it_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL; SQLite serializes writers")
    ledger.open_account(code="bank", name="bank", kind="ASSET")
    ledger.open_account(code="wallet", name="wallet", kind="LIABILITY")
    barrier = threading.Barrier(8)

    def post(_: int) -> int:
        try:
            barrier.wait(timeout=10)
            legs = [Leg("wallet", -700), Leg("bank", 700)]
            return ledger.post(legs=legs, kind="topup", key="same-key").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(post, range(8)))  # an error in any thread is raised here

    assert len(ids) == 8 and len(set(ids)) == 1
    assert ledger.balance_fen(account="wallet") == -700
    assert ledger.trial_balance_fen() == 0
