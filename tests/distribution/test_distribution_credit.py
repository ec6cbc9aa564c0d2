"""Agent credit: the pure score and tier rules, then the daily run on the database (the run
and its factors stored, the tier moved with an event, a same-day rerun updating the run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core import clock
from haoka.distribution import credit, domain, fraud
from haoka.distribution import operations as dist_ops
from haoka.distribution.domain import AgentStats, FraudKind, Tier
from haoka.distribution.models import Agent, AgentEvent, Complaint, CreditRun, FraudFlag, Sale
from tests.support.distribution import (
    T0,
    id_number,
    make_agent,
    make_user,
    offer,
    person_name,
    sell,
)

GOOD = AgentStats(orders=40, activated=40, first_topups=40)
FACTOR_LABELS = ["基础分", "激活率", "首充率", "90 天流失率", "欠费率", "客户投诉", "风控记录"]

counts = st.integers(min_value=0, max_value=10_000)
any_stats = st.builds(
    AgentStats,
    orders=counts,
    activated=counts,
    first_topups=counts,
    churned_90d=counts,
    arrears=counts,
    complaints=counts,
    fraud_confirmed=counts,
    fraud_open=counts,
)


def score(stats: AgentStats) -> int:
    return domain.credit_score(stats).score


# ---------------------------------------------------------------------------- pure rules


def test_a_new_agent_without_sales_stays_at_sixty_and_tier_c():
    result = domain.credit_score(AgentStats())
    assert (result.score, result.tier) == (domain.NEW_AGENT_SCORE, Tier.C)
    assert result.tier == domain.NEW_AGENT_TIER


def test_a_few_perfect_sales_barely_move_a_new_agent():
    assert domain.credit_score(AgentStats(orders=2, activated=2, first_topups=2)).tier == Tier.C


def test_many_activations_and_first_top_ups_reach_tier_a():
    result = domain.credit_score(GOOD)
    assert result.score >= 85
    assert result.tier == Tier.A


def test_the_factors_explain_the_score_to_the_agent():
    result = domain.credit_score(replace(GOOD, complaints=2))
    assert sum(f.points for f in result.factors) == result.score
    by_label = {f["label"]: f for f in result.as_json()}
    assert by_label["基础分"]["points"] == 60
    assert by_label["客户投诉"] == {"label": "客户投诉", "points": -10, "detail": "2 次投诉"}


@pytest.mark.parametrize(
    "worse",
    [
        {"churned_90d": 10},
        {"arrears": 10},
        {"complaints": 1},
        {"fraud_open": 1},
        {"fraud_confirmed": 1},
    ],
    ids=["churn", "arrears", "complaints", "open_fraud", "confirmed_fraud"],
)
def test_churn_arrears_complaints_and_fraud_lower_the_score(worse):
    assert score(replace(GOOD, **worse)) < score(GOOD)


def test_confirmed_fraud_drops_even_a_good_agent_to_tier_d():
    assert domain.credit_score(replace(GOOD, fraud_confirmed=2)).tier == Tier.D


def test_a_poor_record_ends_in_tier_d_at_zero_at_worst():
    worst = AgentStats(
        orders=50, activated=5, churned_90d=5, arrears=5, complaints=20, fraud_confirmed=5
    )
    result = domain.credit_score(worst)
    assert (result.score, result.tier) == (0, Tier.D)


@pytest.mark.parametrize(
    ("points", "tier"),
    [(100, "A"), (85, "A"), (84, "B"), (70, "B"), (69, "C"), (50, "C"), (49, "D"), (0, "D")],
)
def test_the_tier_follows_the_score_thresholds(points, tier):
    assert domain.tier_for(points) == Tier(tier)


@given(any_stats)
def test_the_score_is_always_between_0_and_100(stats):
    result = domain.credit_score(stats)
    assert 0 <= result.score <= 100
    assert result.tier == domain.tier_for(result.score)


@given(any_stats, st.integers(min_value=1, max_value=50))
def test_more_confirmed_fraud_never_raises_the_score(stats, more):
    worse = replace(stats, fraud_confirmed=stats.fraud_confirmed + more)
    assert score(worse) <= score(stats)


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=100))
def test_a_higher_score_never_gives_a_worse_tier(a, b):
    low, high = sorted((a, b))
    assert domain.tier_at_least(domain.tier_for(high), domain.tier_for(low))


# ---------------------------------------------------------------------------- on the database


def good_record(agent: Agent, *, sales: int = 20, now: dt.datetime = T0) -> None:
    """``sales`` activated lines, each with a first top-up at checkout."""
    for _ in range(sales):
        sell(agent, now=now, opening_balance_fen=50_00)


def test_stats_count_only_the_agents_own_sales_of_the_last_180_days(catalog, commits):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        sell(parent, opening_balance_fen=50_00)
        sell(parent, activate=False)
        sell(child)  # the team's sale is not the parent's own record
        sell(parent, now=T0 - dt.timedelta(days=181))  # too old
    Complaint.objects.create(agent=parent, text="夸大宣传", created_at=T0 - dt.timedelta(days=3))
    Complaint.objects.create(agent=parent, text="旧投诉", created_at=T0 - dt.timedelta(days=200))
    stats = credit.stats_for(agent_id=parent.pk, now=T0)
    assert stats == AgentStats(orders=2, activated=1, first_topups=1, complaints=1)


def test_stats_count_lines_ended_within_90_days_as_churn_and_arrears_as_arrears(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        quick, _ = sell(agent)
        late, _ = sell(agent)
        owing, _ = sell(agent)
    Sale.objects.filter(order_ref=quick).update(status="ENDED", ended_at=T0 + dt.timedelta(days=90))
    Sale.objects.filter(order_ref=late).update(status="ENDED", ended_at=T0 + dt.timedelta(days=91))
    Sale.objects.filter(order_ref=owing).update(ever_arrears=True)
    stats = credit.stats_for(agent_id=agent.pk, now=T0 + dt.timedelta(days=100))
    assert (stats.activated, stats.churned_90d, stats.arrears) == (3, 1, 1)


def test_stats_count_confirmed_fraud_and_flags_still_open(catalog):
    agent = make_agent()
    for n, status in enumerate(["CONFIRMED", "OPEN", "OPEN", "DISMISSED"]):
        FraudFlag.objects.create(
            key=f"test:{agent.pk}:{n}", agent=agent, kind="SELF_ID", status=status, created_at=T0
        )
    stats = credit.stats_for(agent_id=agent.pk, now=T0)
    assert (stats.fraud_confirmed, stats.fraud_open) == (1, 2)


def test_recompute_stores_the_run_and_shows_the_agent_the_factors(catalog):
    agent = make_agent()
    run = credit.recompute(agent_id=agent.pk, now=T0)
    agent.refresh_from_db()
    assert (run.score, run.tier, run.run_date) == (60, "C", dt.date(2026, 3, 1))
    assert agent.credit_score == 60
    assert agent.credit_at == T0
    assert agent.credit_factors == run.factors
    assert [f["label"] for f in agent.credit_factors] == FACTOR_LABELS
    assert not AgentEvent.objects.filter(agent=agent, what="TIER").exists()  # C stays C


def test_a_good_record_moves_the_agent_to_tier_a_as_it_happens_with_an_event_saying_why(
    catalog, commits
):
    offer()
    agent = make_agent()
    with commits():
        good_record(agent)
    agent.refresh_from_db()
    assert (agent.credit_score, agent.tier, agent.credit_at) == (86, "A", T0)
    event = AgentEvent.objects.filter(agent=agent, what="TIER").latest("id")
    assert (event.to_value, event.actor, event.at) == ("A", "system:credit", T0)
    assert "86 分" in event.reason
    assert "激活率" in event.reason
    later = T0 + dt.timedelta(hours=1)
    run = credit.recompute(agent_id=agent.pk, now=later)  # the daily run finds nothing new
    assert (run.score, run.tier) == (86, "A")
    assert AgentEvent.objects.filter(agent=agent, what="TIER").latest("id") == event


def test_a_second_run_on_the_same_beijing_day_updates_that_days_run(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        good_record(agent)
    credit.recompute(agent_id=agent.pk, now=T0)
    Complaint.objects.create(agent=agent, text="未说明合约期", created_at=T0)
    evening = dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)  # 23:30 Beijing, same day
    run = credit.recompute(agent_id=agent.pk, now=evening)
    assert CreditRun.objects.filter(agent=agent).count() == 1
    assert (run.score, run.tier, run.created_at) == (81, "B", evening)
    events = list(AgentEvent.objects.filter(agent=agent, what="TIER").order_by("at", "id"))
    assert [(e.to_value, e.at) for e in events[-2:]] == [("A", T0), ("B", evening)]
    next_day = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 Beijing, 2 March
    credit.recompute(agent_id=agent.pk, now=next_day)
    assert list(CreditRun.objects.filter(agent=agent).values_list("run_date", flat=True)) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 1),
    ]


def test_confirmed_fraud_drops_the_agent_to_tier_d(catalog):
    agent = make_agent()
    FraudFlag.objects.create(
        key="test:confirmed", agent=agent, kind="SELF_ID", status="CONFIRMED", created_at=T0
    )
    credit.recompute(agent_id=agent.pk, now=T0)
    agent.refresh_from_db()
    assert (agent.credit_score, agent.tier) == (30, "D")
    assert AgentEvent.objects.get(agent=agent, what="TIER").to_value == "D"


def test_recompute_of_an_unknown_agent_is_refused(db):
    with pytest.raises(dist_ops.AgentNotFound) as err:
        credit.recompute(agent_id=999_999, now=T0)
    assert err.value.code == "agent_not_found"


def test_a_better_tier_shortens_the_hold_of_new_sales_only(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        good_record(agent)
        old_ref, _ = sell(agent)
    credit.recompute(agent_id=agent.pk, now=T0)
    later = T0 + dt.timedelta(days=1)
    with clock.frozen(later), commits():
        new_ref, _ = sell(Agent.objects.get(pk=agent.pk), now=later)
    old, new = Sale.objects.get(order_ref=old_ref), Sale.objects.get(order_ref=new_ref)
    assert (old.seller_tier, new.seller_tier) == ("C", "A")
    old_hold = old.entries.get(kind="ACTIVATION").settle_after - old.activated_at
    new_hold = new.entries.get(kind="ACTIVATION").settle_after - new.activated_at
    assert (old_hold, new_hold) == (dt.timedelta(days=15), dt.timedelta(days=3))


def test_the_tier_opens_and_closes_products_with_a_minimum_tier(catalog, commits):
    product = offer()
    product.min_tier = "B"
    product.save()
    agent = make_agent()
    assert dist_ops.may_sell(agent, product) == (False, "需要信用等级 B 级及以上")
    with commits():
        good_record(agent)
    credit.recompute(agent_id=agent.pk, now=T0)
    agent.refresh_from_db()
    assert dist_ops.may_sell(agent, product) == (True, "")


def test_the_daily_run_scores_approved_and_frozen_agents_but_not_applicants(catalog):
    active = make_agent()
    frozen = make_agent()
    dist_ops.set_status(agent_id=frozen.pk, frozen=True, staff_id=None, reason="测试", now=T0)
    applicant = dist_ops.apply(
        user_id=make_user().pk,
        real_name=person_name(77_001),
        id_number=id_number(77_001),
        payee_channel="ALIPAY",
        payee_account="applicant@example.com",
        payee_name=person_name(77_001),
        now=T0,
    )
    assert credit.run_daily(now=T0) == 2
    scored = set(CreditRun.objects.values_list("agent_id", flat=True))
    assert scored == {active.pk, frozen.pk}
    assert applicant.pk not in scored
    assert credit.run_daily(now=T0) == 2  # a rerun the same day updates, adds nothing
    assert CreditRun.objects.count() == 2


def test_the_daily_run_stops_at_the_limit_and_batches_through_everyone(catalog, monkeypatch):
    agents = [make_agent() for _ in range(5)]
    monkeypatch.setattr(credit, "BATCH", 2)
    assert credit.run_daily(now=T0, limit=3) == 3
    assert set(CreditRun.objects.values_list("agent_id", flat=True)) == {a.pk for a in agents[:3]}
    assert credit.run_daily(now=T0) == 5


# ---------------------------------------------------------------------------- rescored at once


def factor(agent: Agent, label: str) -> dict:
    agent.refresh_from_db()
    return next(f for f in agent.credit_factors if f["label"] == label)


def test_a_flag_raised_then_dismissed_moves_the_record_as_it_happens(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        ref, _ = sell(agent)
    assert factor(agent, "风控记录")["detail"] == "确认违规 0 次，待核查 0 次"
    sale = Sale.objects.get(order_ref=ref)
    flag = fraud.flag(
        agent_id=agent.pk, sale=sale, kind=FraudKind.SAME_DEVICE, key="t:1", detail="", now=T0
    )
    fraud.decide(flag_id=flag.pk, confirmed=False, staff_id=None, note="家人代付", now=T0)
    assert factor(agent, "风控记录") == {
        "label": "风控记录",
        "points": 0,
        "detail": "确认违规 0 次，待核查 0 次",
    }
    assert agent.status == "APPROVED" and agent.credit_at == T0


def test_a_complaint_staff_record_counts_in_the_score_at_once(catalog, commits, admin_client):
    agent = make_agent()
    with commits():
        response = admin_client.post(
            "/admin/distribution/complaint/add/",
            {
                "agent": agent.pk,
                "order_ref": "",
                "text": "未说明合约期",
                "created_at_0": "2026-03-01",
                "created_at_1": "09:00:00",
            },
        )
    assert response.status_code == 302
    assert factor(agent, "客户投诉") == {"label": "客户投诉", "points": -5, "detail": "1 次投诉"}
    with commits():
        admin_client.post(
            f"/admin/distribution/complaint/{Complaint.objects.get().pk}/delete/", {"post": "yes"}
        )
    assert factor(agent, "客户投诉")["detail"] == "0 次投诉"


def test_a_failing_rescore_is_left_to_the_daily_run_and_undoes_nothing(
    catalog, commits, monkeypatch
):
    offer()
    agent = make_agent()

    def broken(**kwargs):
        raise RuntimeError("scoring down")

    monkeypatch.setattr(credit, "recompute", broken)
    with commits():
        ref, _ = sell(agent)
    assert Sale.objects.get(order_ref=ref).status == "ACTIVATED"  # the sale went through
    agent.refresh_from_db()
    assert agent.credit_at is None  # not scored yet: the daily run will
