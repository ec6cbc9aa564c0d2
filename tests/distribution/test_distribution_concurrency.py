"""On PostgreSQL, commission under concurrent workers: one fact processed by eight threads at
once writes its entries once; sweeps racing each other process every fact once; settlement
and release run by four threads at once move each entry once; the ledger stays balanced."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.core import clock
from haoka.core.models import LedgerTransaction
from haoka.distribution import commission
from haoka.distribution.models import Entry, Inbox, Sale
from tests.support.distribution import T0, activation_fact, check_books, make_agent, offer

pytestmark = pytest.mark.django_db(transaction=True)

LATER = T0 + dt.timedelta(days=70)  # past every hold and the month after next


@pytest.fixture(autouse=True)
def postgres_only(db):
    if connection.vendor != "postgresql":  # as tests/conftest.py is_postgres()
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


def at_once(threads: int, work) -> list:
    """Run ``work(i)`` in ``threads`` threads released together; each closes its connection."""
    barrier = threading.Barrier(threads)

    def run(i: int):
        try:
            barrier.wait(timeout=30)
            with clock.frozen(LATER):
                return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


def test_one_fact_processed_by_eight_threads_at_once_writes_its_entries_once(catalog, now):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    sale, (inbox_id,) = activation_fact(child)

    written = at_once(8, lambda i: commission.process(inbox_id=inbox_id, now=LATER))

    assert sorted(written) == [0] * 7 + [4]  # 秒返 and 次月返, each with its override
    assert Entry.objects.filter(sale=sale).count() == 4
    assert LedgerTransaction.objects.filter(kind="distribution.accrue").count() == 4
    assert Sale.objects.get(pk=sale.pk).committed_fen == 30_00 + 6_00 + 20_00 + 4_00
    assert Inbox.objects.get(pk=inbox_id).attempts == 1
    check_books()


def test_sweeps_racing_each_other_process_every_fact_once(catalog, now):
    offer()
    parent = make_agent()
    agents = [make_agent(parent=parent), make_agent(parent=parent), make_agent()]
    facts = [activation_fact(agents[i % 3], opening_topup_fen=60_00) for i in range(12)]

    def sweep(i: int) -> int:
        done = 0
        while Inbox.objects.filter(processed_at__isnull=True).exists():
            done += commission.process_due(now=LATER, limit=5)
        return done

    done = at_once(8, sweep)

    kinds_per_sale = {True: 6, False: 3}  # with a parent: each reward has an override
    expected = sum(kinds_per_sale[sale.parent_id is not None] for sale, _ in facts)
    assert sum(done) == sum(len(ids) for _, ids in facts)  # each fact by exactly one sweep
    assert Entry.objects.count() == expected
    assert LedgerTransaction.objects.filter(kind="distribution.accrue").count() == expected
    assert set(Inbox.objects.values_list("attempts", flat=True)) == {1}
    check_books()


def test_settlement_and_release_by_four_threads_at_once_move_each_entry_once(catalog, now):
    offer()
    parent = make_agent()
    agents = [make_agent(parent=parent), make_agent(parent=parent), make_agent()]
    for i in range(12):
        activation_fact(agents[i % 3], opening_topup_fen=60_00)
    while commission.process_due(now=T0):
        pass
    entries = Entry.objects.count()
    assert entries == 8 * 6 + 4 * 3

    settled = at_once(4, lambda i: commission.settle_due(now=LATER))

    assert sum(c["settled"] for c in settled) == entries
    assert sum(c["clawed_back"] for c in settled) == 0
    assert set(Entry.objects.values_list("status", flat=True)) == {"SETTLED"}
    assert LedgerTransaction.objects.filter(kind="distribution.settled").count() == entries
    check_books()

    released = at_once(4, lambda i: commission.release_due(now=LATER + dt.timedelta(days=8)))

    assert sum(released) == entries
    assert set(Entry.objects.values_list("status", flat=True)) == {"WITHDRAWABLE"}
    assert LedgerTransaction.objects.filter(kind="distribution.withdrawable").count() == entries
    check_books()
