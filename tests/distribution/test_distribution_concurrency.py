"""On PostgreSQL, commission under concurrent workers: one fact processed by eight threads at
once writes its entries once; sweeps racing each other process every fact once; settlement
and release run by four threads at once move each entry once; the ledger stays balanced."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from distribution_helpers import PLAN, T0, make_agent, make_user, offer, sell
from django.db import connection, connections

from haoka.core import clock, ledger
from haoka.core.models import LedgerTransaction
from haoka.distribution import commission
from haoka.distribution.models import Entry, Inbox, Sale
from haoka.lines import operations as line_ops

pytestmark = pytest.mark.django_db(transaction=True)

_n = itertools.count(1)
LATER = T0 + dt.timedelta(days=70)  # past every hold and the month after next


@pytest.fixture(autouse=True)
def postgres_only(db):
    if connection.vendor != "postgresql":  # as tests/conftest.py is_postgres()
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


def activation_fact(agent, *, opening_topup_fen: int = 0) -> tuple[Sale, list[int]]:
    """An order attributed to the agent, its line (opened without telling distribution) and
    the facts of its activation (and first top-up) in the inbox, unprocessed, as the receivers
    record them inside the line's transaction."""
    ref, _ = sell(agent, activate=False)
    sale = Sale.objects.get(order_ref=ref)
    n = next(_n)
    line = line_ops.open_line(
        user_id=make_user().pk, msisdn=f"147{n:08d}", carrier_code="CMCC", plan_code=PLAN,
        iccid=f"8988{n:016d}", imsi=f"46008{n:010d}", actor="test", now=T0,
    )  # fmt: skip
    ids = [
        Inbox.objects.create(
            key=f"ACTIVATED:{line.pk}", kind="ACTIVATED", sale=sale, data={"line_id": line.pk},
            at=T0,
        ).pk
    ]  # fmt: skip
    if opening_topup_fen:
        ids.append(
            Inbox.objects.create(
                key=f"TOPUP:first:{line.pk}", kind="TOPUP", sale=sale,
                data={"amount_fen": opening_topup_fen}, at=T0,
            ).pk
        )  # fmt: skip
    return sale, ids


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


def check_books() -> None:
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []
    live = Entry.objects.exclude(status="CLAWED_BACK")
    for agent_id in set(Entry.objects.values_list("agent_id", flat=True)):
        mine = live.filter(agent_id=agent_id)
        assert commission.balances_fen(agent_id=agent_id) == {
            stage: sum(e.amount_fen for e in mine if e.status == status)
            for stage, status in (
                ("pending", "PENDING"),
                ("settled", "SETTLED"),
                ("withdrawable", "WITHDRAWABLE"),
            )
        }
    for sale in Sale.objects.all():
        own = live.filter(sale=sale).exclude(kind="MARKUP")
        assert sale.committed_fen == sum(e.amount_fen for e in own) <= sale.margin_fen


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
    assert sum(done) == expected == Entry.objects.count()
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
