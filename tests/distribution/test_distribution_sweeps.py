"""The sweeps work in batches: a backlog of facts is turned into the same commission as one
fact at a time would give; a fact that fails spoils only itself; a sale's facts are taken in
turn; settlement in batches settles good sales and claws back what lost its condition."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core.models import LedgerTransaction
from haoka.distribution import commission
from haoka.distribution.models import Entry, Inbox, Sale
from haoka.lines.models import Line
from tests.support.distribution import T0, activation_fact, check_books, make_agent, offer

pytestmark = pytest.mark.django_db
LATER = T0 + dt.timedelta(days=70)  # past every hold and the month after next


def entries_by_sale() -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for e in Entry.objects.order_by("sale_id", "key"):
        out.setdefault(e.sale_id, []).append((e.key, e.agent_id, e.kind, e.amount_fen, e.status))
    return out


def test_a_backlog_swept_in_batches_writes_what_one_fact_at_a_time_writes(catalog, now):
    offer()
    parent = make_agent()
    agents = [make_agent(parent=parent), make_agent()]
    facts = [activation_fact(agents[i % 2], opening_topup_fen=60_00) for i in range(7)]
    one_by_one = facts[:3]
    for _, ids in one_by_one:
        for inbox_id in ids:
            commission.process(inbox_id=inbox_id, now=T0)
    done = 0
    while got := commission.process_due(now=T0, batch=3):
        done += got
    assert done == 2 * 4  # the other four sales' activations and top-ups
    assert not Inbox.objects.filter(processed_at=None).exists()
    assert set(Inbox.objects.values_list("attempts", flat=True)) == {1}
    rows = entries_by_sale()
    shape = {
        sale.pk: sorted((key.split(":")[0], kind, fen) for key, _, kind, fen, _ in rows[sale.pk])
        for sale, _ in facts
    }
    # Every sale of the same agent earned the same, whichever way its facts were processed.
    for sale, _ in facts:
        twin = next(s for s, _ in one_by_one if s.agent_id == sale.agent_id)
        assert shape[sale.pk] == shape[twin.pk]
    with_parent = {"ACTIVATION", "FIRST_TOPUP", "NEXT_MONTH", "OVERRIDE"}
    assert {kind for _, _, kind, _, _ in rows[facts[0][0].pk]} == with_parent
    assert LedgerTransaction.objects.filter(kind="distribution.accrue").count() == sum(
        len(r) for r in rows.values()
    )
    check_books()


def test_a_fact_that_fails_in_a_batch_delays_only_itself(catalog, now):
    offer()
    agent = make_agent()
    good = [activation_fact(agent) for _ in range(3)]
    bad_sale, (bad_id,) = activation_fact(agent)
    Inbox.objects.filter(pk=bad_id).update(data={})  # no line id: its handler fails

    assert commission.process_due(now=T0) == 3

    bad = Inbox.objects.get(pk=bad_id)
    assert bad.processed_at is None and bad.attempts == 1 and "line_id" in bad.last_error
    assert not Entry.objects.filter(sale=bad_sale).exists()
    assert Sale.objects.get(pk=bad_sale.pk).status == "OPEN"
    for sale, _ in good:
        assert Sale.objects.get(pk=sale.pk).status == "ACTIVATED"
        assert Entry.objects.filter(sale=sale).count() == 2  # 秒返 and 次月返
    check_books()


def test_a_top_up_waits_behind_its_sales_unprocessed_activation_without_using_an_attempt(
    catalog, now
):
    offer()
    sale, (_, topup_id) = activation_fact(make_agent(), opening_topup_fen=60_00)

    assert commission.process(inbox_id=topup_id, now=T0) == 0
    assert Inbox.objects.get(pk=topup_id).attempts == 0
    assert not Entry.objects.exists()

    assert commission.process_due(now=T0) == 1  # the activation first ...
    assert commission.process_due(now=T0) == 1  # ... then, in the next round, the top-up
    assert sorted(Entry.objects.filter(sale=sale).values_list("kind", flat=True)) == [
        "ACTIVATION",
        "FIRST_TOPUP",
        "NEXT_MONTH",
    ]
    assert set(Inbox.objects.values_list("attempts", flat=True)) == {1}
    check_books()


def test_settlement_in_batches_settles_good_sales_and_claws_back_a_suspended_lines_next_month_reward(  # noqa: E501
    catalog, now
):
    offer()
    agent = make_agent()
    facts = [activation_fact(agent) for _ in range(5)]
    while commission.process_due(now=T0):
        pass
    suspended = facts[2][0]
    Line.objects.filter(pk=Sale.objects.get(pk=suspended.pk).line_id).update(status="SUSPENDED")

    counts = commission.settle_due(now=LATER, batch=2)

    assert counts == {"settled": 4 * 2 + 1, "clawed_back": 1}
    statuses = dict(Entry.objects.filter(sale=suspended).values_list("kind", "status"))
    assert statuses == {"ACTIVATION": "SETTLED", "NEXT_MONTH": "CLAWED_BACK"}
    assert commission.settle_due(now=LATER) == {"settled": 0, "clawed_back": 0}
    check_books()


def test_a_sale_whose_settlement_fails_stays_pending_while_the_rest_of_its_batch_settles(
    catalog, now, monkeypatch
):
    offer()
    agent = make_agent()
    facts = [activation_fact(agent) for _ in range(4)]
    while commission.process_due(now=T0):
        pass
    broken = facts[1][0].pk
    move = commission._move

    def failing_for_one_sale(entries, **kwargs):
        if any(e.sale_id == broken for e in entries):
            raise RuntimeError("the ledger is unavailable for this sale")
        return move(entries, **kwargs)

    monkeypatch.setattr(commission, "_move", failing_for_one_sale)

    assert commission.settle_due(now=LATER) == {"settled": 3 * 2, "clawed_back": 0}
    assert set(Entry.objects.filter(sale_id=broken).values_list("status", flat=True)) == {"PENDING"}
    monkeypatch.setattr(commission, "_move", move)
    assert commission.settle_due(now=LATER) == {"settled": 2, "clawed_back": 0}
    check_books()
