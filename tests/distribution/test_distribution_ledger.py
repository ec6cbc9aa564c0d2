"""Commission on the ledger under any sequence of facts (hypothesis, on the test database):
sales by agents and sub-agents, first top-ups, monthly fees, arrears, line endings, and
settlement and release as time passes. After every step the ledger balances, no sale pays more
than its margin, each agent's accounts equal their entries by status, and a sale fully clawed
back leaves nothing behind. Facts delivered twice change nothing; rules and the agent tree
changed after an order do not move what it earns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging.signals import monthly_fee_charged
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.models import LedgerEntry, LedgerTransaction
from haoka.distribution import commission, domain, fraud
from haoka.distribution import operations as dist_ops
from haoka.distribution.models import Agent, CommissionRule, Entry, Inbox, Product, Sale
from haoka.lines import operations as line_ops
from haoka.lines.domain import LineStateConflict
from haoka.lines.models import Line
from haoka.lines.signals import line_opened, line_status_changed, wallet_credited
from tests.support.distribution import PLAN, T0, make_agent, offer, sell

pytestmark = pytest.mark.django_db

STAGES = ("pending", "settled", "withdrawable")
_keys = itertools.count(1)


@dataclasses.dataclass
class Team:
    parent: Agent  # level 1, tier A (its override rule is the A rule)
    child: Agent  # sub-agent, tier C, sells with a ¥15 markup
    fast: Agent  # sub-agent, tier A (3-day hold)
    solo: Agent  # level 1 without a team, tier D (30-day hold)

    @property
    def sellers(self) -> list[Agent]:
        return [self.child, self.fast, self.solo, self.parent]

    @property
    def agents(self) -> list[Agent]:
        return [self.parent, self.child, self.fast, self.solo]


@pytest.fixture
def team(catalog, now) -> Team:
    offer()
    parent = make_agent()
    child, fast = make_agent(parent=parent), make_agent(parent=parent)
    solo = make_agent()
    for agent, tier in ((parent, "A"), (fast, "A"), (solo, "D")):
        Agent.objects.filter(pk=agent.pk).update(tier=tier)
        agent.tier = tier
    dist_ops.set_shop(agent_id=child.pk, shop_name="小明的号卡店", items=[(PLAN, 15_00)])
    return Team(parent=parent, child=child, fast=fast, solo=solo)


# ---------------------------------------------------------------------------- invariants


def snapshot() -> dict:
    """Everything a repeated fact must leave as it was."""
    return {
        "entries": sorted(Entry.objects.values_list("key", "status", "amount_fen", "agent_id")),
        "transactions": LedgerTransaction.objects.count(),
        "committed": sorted(Sale.objects.values_list("order_ref", "committed_fen", "status")),
        "expense": ledger.balance_fen(account=chart.COMMISSION_EXPENSE),
    }


def sale_keys(entry_keys: list[str]) -> list[str]:
    """The keys of every ledger transaction the commission engine posts for these entries."""
    suffixes = ("", ":settled", ":withdrawable", ":clawback")
    return [f"commission:{k}{s}" for k in entry_keys for s in suffixes]


def check_everything() -> None:
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []
    assert not Inbox.objects.filter(processed_at__isnull=True).exists()  # nothing failed
    entries = list(Entry.objects.order_by("id"))
    amounts = {e.key: e.amount_fen for e in entries}
    posted = set(
        LedgerTransaction.objects.filter(key__startswith="commission:").values_list(
            "key", flat=True
        )
    )
    steps = {"PENDING": 1, "SETTLED": 2, "WITHDRAWABLE": 3}
    for e in entries:
        assert e.amount_fen > 0
        if e.kind == domain.Kind.OVERRIDE:
            sale = Sale.objects.get(pk=e.sale_id)
            assert e.agent_id == sale.parent_id
            source = amounts[e.key.removesuffix(":override")]
            assert e.amount_fen <= domain.share(source, sale.terms["override_bp"])
        # Each state the entry went through is one ledger transaction, no more.
        mine = {k for k in sale_keys([e.key]) if k in posted}
        expected = sale_keys([e.key])[: steps.get(e.status, 0)]
        if e.status == "CLAWED_BACK":
            assert f"commission:{e.key}:clawback" in mine
        else:
            assert mine == set(expected), (e.key, e.status, mine)
    live = [e for e in entries if e.status != "CLAWED_BACK"]
    assert ledger.balance_fen(account=chart.COMMISSION_EXPENSE) == sum(e.amount_fen for e in live)
    for sale in Sale.objects.all():
        theirs = [e for e in live if e.sale_id == sale.pk and e.kind != "MARKUP"]
        assert 0 <= sale.committed_fen <= sale.margin_fen
        assert sale.committed_fen == sum(e.amount_fen for e in theirs)
    for agent_id in Agent.objects.values_list("id", flat=True):
        by_status = {
            stage: sum(e.amount_fen for e in live if e.agent_id == agent_id and e.status == status)
            for stage, status in zip(STAGES, ("PENDING", "SETTLED", "WITHDRAWABLE"), strict=True)
        }
        assert commission.balances_fen(agent_id=agent_id) == by_status
    check_clawed_back_sales_leave_nothing(entries)


def check_clawed_back_sales_leave_nothing(entries: list[Entry]) -> None:
    """A sale whose entries are all clawed back moved every account it touched (the agents'
    and the commission expense) back to where it was before the sale."""
    by_sale = sorted(entries, key=lambda e: e.sale_id)
    for _, group in itertools.groupby(by_sale, key=lambda e: e.sale_id):
        mine = list(group)
        if any(e.status != "CLAWED_BACK" for e in mine):
            continue
        net = (
            LedgerEntry.objects.filter(transaction__key__in=sale_keys([e.key for e in mine]))
            .values("account__code")
            .annotate(s=Sum("amount_fen"))
            .exclude(s=0)
        )
        assert list(net) == []


# ---------------------------------------------------------------------------- the machine


@dataclasses.dataclass
class World:
    team: Team
    commits: object
    now: dt.datetime = T0
    sales: list = dataclasses.field(default_factory=list)  # (ref, line)
    sent: list = dataclasses.field(default_factory=list)  # (signal, kwargs) delivered

    def send(self, signal, **kwargs) -> None:
        with self.commits():
            signal.send(sender=Line, **kwargs)
        self.sent.append((signal, kwargs))

    def line(self, index: int) -> Line | None:
        if not self.sales:
            return None
        line = self.sales[index % len(self.sales)][1]
        line.refresh_from_db()
        return line

    def move(self, line: Line, to: str, **extra) -> None:
        try:
            with self.commits():
                line_ops.change_status(
                    line_id=line.pk, to=to, actor="test", reason="测试", now=self.now, **extra
                )
        except LineStateConflict:  # not a move this line can make: nothing happened
            return
        said = {"from_status": line.status, "to_status": to, "reason": "测试", "now": self.now}
        self.sent.append(
            (line_status_changed, {"line_id": line.pk, "suspend_reason": "", **extra, **said})
        )


def do(world: World, step: tuple) -> None:
    kind = step[0]
    if kind == "sell":
        _, who, opening = step
        with world.commits():
            ref, line = sell(world.team.sellers[who], now=world.now, opening_balance_fen=opening)
        world.sales.append((ref, line))
        world.sent.append(
            (
                line_opened,
                {"line_id": line.pk, "plan_code": PLAN, "order_ref": ref, "now": world.now},
            )
        )
    elif kind == "topup" and (line := world.line(step[1])):
        world.send(
            wallet_credited, line_id=line.pk, amount_fen=step[2], key=f"topup:{next(_keys)}",
            source="TOPUP", now=world.now,
        )  # fmt: skip
    elif kind == "fee" and (line := world.line(step[1])):
        _, _, offset, fee_fen, arrears = step
        local = line.activated_at.astimezone(domain.BEIJING)
        index = local.year * 12 + local.month - 1 + offset
        month = dt.date(index // 12, index % 12 + 1, 1)
        world.send(
            monthly_fee_charged, line_id=line.pk, month=month, fee_fen=fee_fen, arrears=arrears,
            now=world.now,
        )  # fmt: skip
    elif kind == "end" and (line := world.line(step[1])):
        world.move(line, "PORTED_OUT" if step[2] else "CLOSED")
    elif kind == "arrears" and (line := world.line(step[1])):
        world.move(line, "SUSPENDED", suspend_reason="ARREARS")
    elif kind == "resume" and (line := world.line(step[1])):
        world.move(line, "ACTIVE")
    elif kind == "later":
        world.now += dt.timedelta(days=step[1])
        with clock.frozen(world.now):
            commission.settle_due(now=world.now)
            commission.release_due(now=world.now)
    elif kind == "again" and world.sent:
        before = snapshot()
        signal, kwargs = world.sent[step[1] % len(world.sent)]
        with world.commits():
            signal.send(sender=Line, **kwargs)
        assert snapshot() == before
    elif kind == "reprocess":
        before = snapshot()
        for inbox_id in Inbox.objects.values_list("id", flat=True):
            assert commission.process(inbox_id=inbox_id, now=world.now) == 0
        assert commission.process_due(now=world.now) == 0
        assert commission.settle_due(now=world.now) == {"settled": 0, "clawed_back": 0}
        assert commission.release_due(now=world.now) == 0
        assert snapshot() == before


sale_ix = st.integers(0, 20)
sell_st = st.tuples(st.just("sell"), st.integers(0, 3), st.sampled_from([0, 20_00, 50_00, 100_00]))
topup_st = st.tuples(st.just("topup"), sale_ix, st.integers(1, 200_00))
fee_st = st.tuples(
    st.just("fee"),
    sale_ix,
    st.one_of(st.integers(1, 6), st.integers(0, 12)),  # months 1..6 are shared (6 months)
    st.integers(0, 99_00),
    st.sampled_from([False, False, False, True]),  # arrears now and then
)
later_st = st.tuples(st.just("later"), st.integers(1, 45))
#: Weighted: sales, fees and time passing come up more often than the line's end.
step_st = st.one_of(
    sell_st,
    sell_st,
    topup_st,
    fee_st,
    fee_st,
    later_st,
    later_st,
    st.tuples(st.just("end"), sale_ix, st.booleans()),
    st.tuples(st.just("arrears"), sale_ix),
    st.tuples(st.just("resume"), sale_ix),
    st.tuples(st.just("again"), st.integers(0, 50)),
    st.tuples(st.just("reprocess")),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    margin=st.sampled_from([0, 40_00, 100_00, 300_00, 300_00]),
    first=st.tuples(st.just("sell"), st.integers(0, 3), st.sampled_from([0, 50_00])),
    steps=st.lists(step_st, min_size=4, max_size=16),
)
def test_any_sequence_of_facts_keeps_the_ledger_balanced_and_every_sale_within_its_margin(
    team, margin, first, steps, commits
):
    with transaction.atomic():
        Product.objects.filter(plan_code=PLAN).update(margin_fen=margin)
        world = World(team=team, commits=commits)
        for step in [first, *steps]:
            act(world, step)
            check_everything()
        transaction.set_rollback(True)


# ---------------------------------------------------------------------------- clawback


def act(world: World, step: tuple) -> None:
    """One step at the world's time (what the engine stamps comes from the clock)."""
    with clock.frozen(world.now):
        do(world, step)


def balances(team: Team) -> dict:
    return {
        **{a.pk: commission.balances_fen(agent_id=a.pk) for a in team.agents},
        "expense": ledger.balance_fen(account=chart.COMMISSION_EXPENSE),
    }


def settle_everything(at: dt.datetime) -> None:
    with clock.frozen(at):
        commission.settle_due(now=at)
        commission.release_due(now=at + domain.WITHDRAW_COOLDOWN)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.sampled_from([0, 50_00]),
    topup=st.one_of(st.none(), st.integers(1, 100_00)),
    months=st.lists(st.integers(0, 8), unique=True, max_size=4),
    waits=st.lists(st.integers(1, 40), max_size=3),
)
def test_a_sale_fully_clawed_back_leaves_every_balance_and_the_expense_as_before_the_sale(
    team, opening, topup, months, waits, commits
):
    with transaction.atomic():
        world = World(team=team, commits=commits)
        act(world, ("sell", 0, 50_00))  # an earlier sale of the same agents, fully settled
        settle_everything(T0 + dt.timedelta(days=70))
        world.now = T0 + dt.timedelta(days=80)
        before = balances(team)
        act(world, ("sell", 0, opening))
        target = world.sales[-1]
        world.sales = [target]
        if topup is not None:
            act(world, ("topup", 0, topup))
        for offset in months:
            act(world, ("fee", 0, offset, 39_00, False))
        for days in waits:
            act(world, ("later", days))
        act(world, ("end", 0, False))  # claws back what is still pending
        sale = Sale.objects.get(order_ref=target[0])
        hit = fraud.flag(
            agent_id=sale.agent_id, sale=sale, kind=domain.FraudKind.SELF_ID,
            key=f"test:{sale.order_ref}", detail="测试", now=world.now,
        )  # fmt: skip
        fraud.decide(flag_id=hit.pk, confirmed=True, staff_id=None, note="测试", now=world.now)
        assert set(Entry.objects.filter(sale=sale).values_list("status", flat=True)) <= {
            "CLAWED_BACK"
        }
        assert Sale.objects.get(pk=sale.pk).committed_fen == 0
        assert balances(team) == before
        check_everything()
        transaction.set_rollback(True)


# ---------------------------------------------------------------------------- idempotency


def test_every_fact_delivered_twice_and_every_sweep_run_again_changes_nothing(team, commits):
    world = World(team=team, commits=commits)
    act(world, ("sell", 0, 60_00))
    act(world, ("sell", 1, 0))
    act(world, ("topup", 1, 80_00))
    act(world, ("fee", 0, 1, 39_00, False))
    act(world, ("fee", 1, 2, 39_00, False))
    act(world, ("later", 20))
    act(world, ("arrears", 1))
    act(world, ("later", 60))
    act(world, ("end", 0, False))
    check_everything()
    assert Entry.objects.filter(status="WITHDRAWABLE").exists()
    assert Entry.objects.filter(status="CLAWED_BACK").exists()
    for index in range(len(world.sent)):
        act(world, ("again", index))
    act(world, ("reprocess",))
    for seen in Inbox.objects.all():
        before = snapshot()
        assert commission.process(inbox_id=seen.pk, now=world.now + dt.timedelta(days=1)) == 0
        assert snapshot() == before
    check_everything()


def test_a_sale_activated_twice_by_the_same_line_earns_once(team, commits):
    world = World(team=team, commits=commits)
    do(world, ("sell", 0, 0))
    ref, line = world.sales[0]
    before = snapshot()
    with commits():
        again = line_ops.open_from_order(
            order_ref=ref, user_id=line.user_id, msisdn=line.msisdn, carrier_code="CMCC",
            plan_code=PLAN, iccid=line.iccid, imsi=line.imsi, opening_balance_fen=50_00,
            now=T0 + dt.timedelta(hours=1),
        )  # fmt: skip
    assert again.pk == line.pk
    assert snapshot() == before
    assert Inbox.objects.filter(sale__order_ref=ref, kind="ACTIVATED").count() == 1


# ---------------------------------------------------------------------------- order terms


def activate(ref: str, *, now: dt.datetime, opening_balance_fen: int = 0) -> Line:
    """Open the line of an order attributed earlier (as its activation would)."""
    sale = Sale.objects.get(order_ref=ref)
    n = next(_keys)
    return line_ops.open_from_order(
        order_ref=ref, user_id=sale.customer_user_id, msisdn=sale.msisdn, carrier_code="CMCC",
        plan_code=sale.plan_code, iccid=f"8987{n:016d}", imsi=f"46007{n:010d}",
        opening_balance_fen=opening_balance_fen, now=now,
    )  # fmt: skip


def earned(ref: str) -> dict[tuple[int, str], int]:
    """What the order earns, by agent and kind (every override summed)."""
    out: dict[tuple[int, str], int] = {}
    for e in Entry.objects.filter(sale__order_ref=ref).exclude(kind="MARKUP"):
        out[(e.agent_id, e.kind)] = out.get((e.agent_id, e.kind), 0) + e.amount_fen
    return out


def test_a_rule_edited_after_an_order_was_created_does_not_change_what_the_order_earns(
    team, commits
):
    ref, _ = sell(team.child, activate=False)
    CommissionRule.objects.filter(plan_code=PLAN, kind="ACTIVATION").update(amount_fen=80_00)
    CommissionRule.objects.filter(plan_code=PLAN, kind="OVERRIDE").update(rate_bp=5000)
    dist_ops.save_rule(
        rule=CommissionRule(
            plan_code=PLAN, tier="C", kind="FIRST_TOPUP", amount_fen=40_00, threshold_fen=1_00,
            valid_from=T0 - dt.timedelta(hours=1),
        )
    )  # fmt: skip
    Product.objects.filter(plan_code=PLAN).update(margin_fen=500_00)
    later = T0 + dt.timedelta(days=2)
    with clock.frozen(later), commits():
        activate(ref, now=later, opening_balance_fen=60_00)
    child, parent = team.child.pk, team.parent.pk
    assert earned(ref) == {
        (child, "ACTIVATION"): 30_00,
        (child, "NEXT_MONTH"): 20_00,
        (child, "FIRST_TOPUP"): 10_00,
        (parent, "OVERRIDE"): 6_00 + 4_00 + 2_00,
    }
    assert Sale.objects.get(order_ref=ref).margin_fen == 100_00
    with clock.frozen(later), commits():  # an order created now gets the new terms
        new_ref, _ = sell(team.child, now=later, opening_balance_fen=60_00)
    assert earned(new_ref)[(child, "ACTIVATION")] == 80_00
    assert earned(new_ref)[(child, "FIRST_TOPUP")] == 40_00
    check_everything()


def test_a_new_parent_after_the_order_does_not_move_its_override(team, commits):
    ref, _ = sell(team.child, activate=False)
    other = make_agent()
    Agent.objects.filter(pk=team.child.pk).update(parent=other)
    with commits():
        line = activate(ref, now=T0 + dt.timedelta(hours=1))
    with commits():
        wallet_credited.send(
            sender=Line, line_id=line.pk, amount_fen=50_00, key="topup:new-parent",
            source="TOPUP", now=T0 + dt.timedelta(hours=2),
        )  # fmt: skip
    overrides = Entry.objects.filter(sale__order_ref=ref, kind="OVERRIDE")
    assert overrides.count() == 3  # activation, next month, first top-up
    assert set(overrides.values_list("agent_id", flat=True)) == {team.parent.pk}
    assert commission.balances_fen(agent_id=other.pk)["pending"] == 0
    with commits():
        new_ref, _ = sell(team.child)
    assert set(
        Entry.objects.filter(sale__order_ref=new_ref, kind="OVERRIDE").values_list(
            "agent_id", flat=True
        )
    ) == {other.pk}
    check_everything()


# ---------------------------------------------------------------------------- fraud hold


def test_commission_of_a_sale_under_fraud_review_does_not_become_withdrawable(team, commits):
    with commits():
        ref, _ = sell(team.child)
    settled_at = T0 + dt.timedelta(days=16)  # tier C holds 15 days: 秒返 and its override
    with clock.frozen(settled_at):
        assert commission.settle_due(now=settled_at)["settled"] == 3  # with the markup
    sale = Sale.objects.get(order_ref=ref)
    fraud.flag(
        agent_id=sale.agent_id, sale=sale, kind=domain.FraudKind.SAME_DEVICE,
        key=f"test:{ref}", detail="测试", now=settled_at,
    )  # fmt: skip
    later = settled_at + dt.timedelta(days=8)
    with clock.frozen(later):
        released = commission.release_due(now=later)
    assert released == 0
    assert commission.balances_fen(agent_id=team.child.pk)["withdrawable"] == 0


def test_next_month_pay_of_a_line_activated_just_after_midnight_beijing_waits_for_the_beijing_month(
    team, commits
):
    activated = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)  # 00:30 on 1 April in Beijing
    with clock.frozen(activated), commits():
        ref, _ = sell(team.fast, now=activated)  # tier A: a 3-day hold
    next_month = Entry.objects.filter(sale__order_ref=ref, kind="NEXT_MONTH")
    june = dt.datetime(2026, 6, 1, tzinfo=domain.BEIJING)
    assert next_month.get().settle_after == june
    before = june - dt.timedelta(seconds=1)  # 23:59:59 on 31 May in Beijing
    with clock.frozen(before):
        assert commission.settle_due(now=before)["settled"] == 2  # 秒返 and its override
    assert next_month.get().status == "PENDING"
    with clock.frozen(june):
        assert commission.settle_due(now=june)["settled"] == 2  # 次月返 and its override
    assert next_month.get().status == "SETTLED"
    check_everything()
