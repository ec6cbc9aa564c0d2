"""Commission on the ledger: accrual at activation, first top-up, settlement, release and
clawback, through the real use cases on the test database."""

from __future__ import annotations

import datetime as dt

from haoka.core import ledger
from haoka.distribution import commission
from haoka.distribution.models import Entry, Sale
from haoka.lines import operations as line_ops
from tests.support.distribution import T0, make_agent, offer, sell


def test_a_sub_agents_activation_pays_the_seller_and_the_parent_at_once(catalog, commits):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        ref, _line = sell(child)
    entries = {(e.agent_id, e.kind): e for e in Entry.objects.filter(sale__order_ref=ref)}
    assert entries[(child.pk, "ACTIVATION")].amount_fen == 30_00
    assert entries[(parent.pk, "OVERRIDE")].amount_fen == 6_00  # 20% of ¥30
    assert entries[(child.pk, "NEXT_MONTH")].status == "PENDING"
    assert commission.balances_fen(agent_id=child.pk)["pending"] == 50_00
    assert commission.balances_fen(agent_id=parent.pk)["pending"] == 10_00
    assert ledger.trial_balance_fen() == 0


def test_a_line_closed_within_the_hold_claws_back_every_pending_entry(catalog, commits):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        ref, line = sell(child)
    with commits():
        line_ops.change_status(
            line_id=line.pk, to="CLOSED", actor="test", reason="销户", now=T0 + dt.timedelta(days=1)
        )
    assert set(Entry.objects.filter(sale__order_ref=ref).values_list("status", flat=True)) == {
        "CLAWED_BACK"
    }
    assert commission.balances_fen(agent_id=child.pk) == {
        "pending": 0, "settled": 0, "withdrawable": 0,
    }  # fmt: skip
    assert Sale.objects.get(order_ref=ref).committed_fen == 0
    assert ledger.trial_balance_fen() == 0


def test_commission_settles_after_the_hold_and_becomes_withdrawable_a_week_later(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        sell(agent)
    later = T0 + dt.timedelta(days=16)  # tier C holds 15 days
    assert commission.settle_due(now=later)["settled"] == 1  # 秒返 only: 次月返 waits for May
    assert commission.balances_fen(agent_id=agent.pk)["settled"] == 30_00
    assert commission.release_due(now=later + dt.timedelta(days=7)) == 1
    assert commission.balances_fen(agent_id=agent.pk)["withdrawable"] == 30_00
    assert commission.settle_due(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))["settled"] == 1


def test_a_first_top_up_at_checkout_above_the_threshold_earns_the_first_top_up_reward(
    catalog, commits
):
    offer()
    agent = make_agent()
    with commits():
        ref, _ = sell(agent, opening_balance_fen=50_00)
    kinds = set(Entry.objects.filter(sale__order_ref=ref).values_list("kind", flat=True))
    assert kinds == {"ACTIVATION", "NEXT_MONTH", "FIRST_TOPUP"}
