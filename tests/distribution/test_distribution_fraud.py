"""Anti-fraud: self-dealing and same-device orders screened at activation, 养卡 (lines closed
soon after activation) watched per agent, and what staff decisions do to commission: a flag
holds settlement, a dismissal releases it, a confirmation claws everything back (settled and
withdrawable too), freezes the agent and bars their ID. The ledger balances throughout."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from haoka.core import clock, ledger
from haoka.core.models import AccountKind
from haoka.distribution import commission, domain, fraud
from haoka.distribution import operations as dist_ops
from haoka.distribution.models import Agent, AgentEvent, Entry, FraudFlag, Sale
from haoka.kyc import queries as kyc_queries
from haoka.kyc.models import KycAttempt
from haoka.lines import operations as line_ops
from tests.support.distribution import (
    T0,
    id_number,
    make_agent,
    make_user,
    offer,
    person_name,
    sell,
)

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
_lines = itertools.count(1)


# ---------------------------------------------------------------------------- helpers


def activate(ref: str, *, now: dt.datetime = T0):
    """Open the line of an order attributed with ``sell(..., activate=False)``, as
    activation does."""
    sale = Sale.objects.get(order_ref=ref)
    n = next(_lines)
    return line_ops.open_from_order(
        order_ref=ref,
        user_id=sale.customer_user_id,
        msisdn=sale.msisdn,
        carrier_code="CMCC",
        plan_code=sale.plan_code,
        iccid=f"8985{n:016d}",
        imsi=f"46007{n:010d}",
        opening_balance_fen=0,
        now=now,
    )


def passed_kyc(ref: str, *, id_number_: str) -> None:
    """The order's real-name check passed with this ID number (hashes only, as kyc keeps)."""
    sale = Sale.objects.get(order_ref=ref)
    hashes = kyc_queries.hash_identity(id_number=id_number_)
    KycAttempt.objects.create(
        order_ref=ref,
        user_id=sale.customer_user_id,
        id_hash=hashes["id_hash"],
        phone_hash="",
        address_hash="",
        status="PASSED",
        created_at=T0,
    )


def close(line, *, at: dt.datetime, commits) -> None:
    with clock.frozen(at), commits():
        line_ops.change_status(line_id=line.pk, to="CLOSED", actor="test", reason="销户", now=at)


def paid_out(agent: Agent, amount_fen: int) -> None:
    """The agent withdrew ``amount_fen``: it leaves their withdrawable account."""
    ledger.open_account(code="asset:test_payouts", name="测试打款", kind=AccountKind.ASSET)
    ledger.post(
        legs=[
            ledger.Leg(commission.account(agent.pk, "withdrawable"), amount_fen),
            ledger.Leg("asset:test_payouts", -amount_fen),
        ],
        kind="test.payout",
        memo="测试提现",
    )


def flags(agent: Agent) -> list[tuple[str, str | None]]:
    return sorted(
        (f.kind, f.sale.order_ref if f.sale else None)
        for f in FraudFlag.objects.filter(agent=agent).select_related("sale")
    )


def statuses(ref: str) -> dict[str, str]:
    return dict(Entry.objects.filter(sale__order_ref=ref).values_list("kind", "status"))


@pytest.fixture(autouse=True)
def balanced_ledger(db):
    yield
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []


# ---------------------------------------------------------------------------- screening


def test_a_clean_sale_raises_no_flag_and_is_not_held(catalog, commits):
    offer()
    agent = make_agent(device_id="agent-phone")
    with commits():
        ref, _ = sell(agent, device_id="customer-phone")
    assert flags(agent) == []
    assert not Sale.objects.get(order_ref=ref).fraud_hold


def test_a_customer_using_the_agents_own_id_number_flags_and_holds_the_sale(catalog, commits):
    offer()
    agent = make_agent(serial=88_001)
    ref, _ = sell(agent, activate=False)
    passed_kyc(ref, id_number_=id_number(88_001))
    with commits():
        activate(ref)
    assert flags(agent) == [("SELF_ID", ref)]
    flag = FraudFlag.objects.get(agent=agent)
    assert (flag.status, flag.created_at) == ("OPEN", T0)
    assert ref in flag.detail
    assert Sale.objects.get(order_ref=ref).fraud_hold


def test_the_agents_own_phone_as_the_orders_contact_phone_flags_the_sale(catalog, commits):
    offer()
    agent = make_agent()
    # the order's contact phone, as orders hands it over when the sale is attributed
    ref, _ = sell(agent, activate=False, contact_phone=agent.user.phone)
    assert Sale.objects.get(order_ref=ref).contact_phone_hash
    with commits():
        activate(ref)
    assert flags(agent) == [("SELF_PHONE", ref)]


def test_an_order_placed_from_the_agents_own_device_flags_the_sale(catalog, commits):
    offer()
    agent = make_agent(device_id="device-of-agent")
    with commits():
        ref, _ = sell(agent, device_id="device-of-agent")
    assert flags(agent) == [("SELF_DEVICE", ref)]


def test_a_third_order_from_one_device_within_24_hours_is_flagged(catalog, commits):
    offer()
    agent = make_agent()
    refs = []
    for hours in (0, 5, 23):
        at = T0 + dt.timedelta(hours=hours)
        with clock.frozen(at), commits():
            refs.append(sell(agent, now=at, device_id="shared-tablet")[0])
    assert flags(agent) == [("SAME_DEVICE", refs[2])]
    assert "3 笔" in FraudFlag.objects.get(agent=agent).detail
    assert [Sale.objects.get(order_ref=r).fraud_hold for r in refs] == [False, False, True]


def test_orders_from_one_device_spread_over_more_than_24_hours_are_not_flagged(catalog, commits):
    offer()
    agent = make_agent()
    for hours in (0, 20, 45):
        at = T0 + dt.timedelta(hours=hours)
        with clock.frozen(at), commits():
            sell(agent, now=at, device_id="shared-tablet")
    assert flags(agent) == []


def test_three_orders_from_one_device_are_flagged_when_activated_days_later(catalog, commits):
    offer()
    agent = make_agent()
    refs = [
        sell(agent, now=T0 + n * HOUR, activate=False, device_id="shared-tablet")[0]
        for n in range(3)
    ]
    delivered = T0 + 3 * DAY
    for ref in refs:
        with clock.frozen(delivered), commits():
            activate(ref, now=delivered)
    assert ("SAME_DEVICE", refs[2]) in flags(agent)


def test_three_lines_closed_within_30_days_of_activation_flag_the_agent_for_yangka(
    catalog, commits
):
    offer()
    agent = make_agent()
    with commits():
        lines = [sell(agent)[1] for _ in range(3)]
    close(lines[0], at=T0 + 2 * DAY, commits=commits)
    close(lines[1], at=T0 + 9 * DAY, commits=commits)
    assert flags(agent) == []  # two quick exits are not yet a pattern
    close(lines[2], at=T0 + 30 * DAY, commits=commits)
    assert flags(agent) == [("ACTIVATE_THEN_CANCEL", None)]
    flag = FraudFlag.objects.get(agent=agent)
    assert flag.created_at == T0 + 30 * DAY
    assert "3 张卡" in flag.detail


def test_a_line_kept_longer_than_30_days_does_not_count_towards_yangka(catalog, commits):
    offer()
    agent = make_agent()
    with commits():
        lines = [sell(agent)[1] for _ in range(3)]
    close(lines[0], at=T0 + 5 * DAY, commits=commits)
    close(lines[1], at=T0 + 6 * DAY, commits=commits)
    close(lines[2], at=T0 + 31 * DAY, commits=commits)
    assert flags(agent) == []


# ---------------------------------------------------------------------------- decisions


def test_a_flag_holds_the_sales_commission_past_its_hold(catalog, commits):
    offer()
    cheat = make_agent(device_id="dev-x")
    honest = make_agent()
    with commits():
        held, _ = sell(cheat, device_id="dev-x")
        clean, _ = sell(honest)
    after_hold = T0 + 16 * DAY  # tier C holds 15 days
    assert commission.settle_due(now=after_hold) == {"settled": 1, "clawed_back": 0}
    assert statuses(clean)["ACTIVATION"] == "SETTLED"
    assert statuses(held)["ACTIVATION"] == "PENDING"
    assert commission.balances_fen(agent_id=cheat.pk)["settled"] == 0


def test_a_dismissed_flag_releases_the_hold_and_the_commission_settles(catalog, commits):
    offer()
    agent = make_agent(device_id="dev-y")
    with commits():
        ref, _ = sell(agent, device_id="dev-y")
    flag = FraudFlag.objects.get(agent=agent)
    after_hold = T0 + 16 * DAY
    fraud.decide(flag_id=flag.pk, confirmed=False, staff_id=None, note="家人代付", now=after_hold)
    flag.refresh_from_db()
    assert (flag.status, flag.decided_at, flag.note) == ("DISMISSED", after_hold, "家人代付")
    assert not Sale.objects.get(order_ref=ref).fraud_hold
    assert commission.settle_due(now=after_hold)["settled"] == 1
    assert commission.balances_fen(agent_id=agent.pk)["settled"] == 30_00
    assert Agent.objects.get(pk=agent.pk).status == "APPROVED"


def test_a_sale_with_two_open_flags_stays_held_until_both_are_dismissed(catalog, commits):
    offer()
    agent = make_agent(serial=88_002, device_id="dev-z")
    ref, _ = sell(agent, activate=False, device_id="dev-z")
    passed_kyc(ref, id_number_=id_number(88_002))
    with commits():
        activate(ref)
    assert flags(agent) == [("SELF_DEVICE", ref), ("SELF_ID", ref)]
    first, second = FraudFlag.objects.filter(agent=agent).order_by("id")
    fraud.decide(flag_id=first.pk, confirmed=False, staff_id=None, note="", now=T0 + DAY)
    assert Sale.objects.get(order_ref=ref).fraud_hold
    assert commission.settle_due(now=T0 + 16 * DAY)["settled"] == 0
    fraud.decide(flag_id=second.pk, confirmed=False, staff_id=None, note="", now=T0 + 16 * DAY)
    assert not Sale.objects.get(order_ref=ref).fraud_hold
    assert commission.settle_due(now=T0 + 16 * DAY)["settled"] == 1


def test_a_confirmed_flag_claws_back_the_sale_freezes_the_agent_and_bars_their_id(catalog, commits):
    offer()
    agent = make_agent(serial=88_003)
    ref, _ = sell(agent, activate=False)
    passed_kyc(ref, id_number_=id_number(88_003))
    with commits():
        activate(ref)
    assert commission.balances_fen(agent_id=agent.pk)["pending"] == 50_00
    flag = FraudFlag.objects.get(agent=agent)
    fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="本人证件", now=T0 + DAY)
    assert set(statuses(ref).values()) == {"CLAWED_BACK"}
    assert commission.balances_fen(agent_id=agent.pk) == {
        "pending": 0,
        "settled": 0,
        "withdrawable": 0,
    }
    assert Sale.objects.get(order_ref=ref).committed_fen == 0
    agent.refresh_from_db()
    assert agent.status == "FROZEN"
    event = AgentEvent.objects.filter(agent=agent, what="STATUS").latest("id")
    assert (event.from_value, event.to_value) == ("APPROVED", "FROZEN")
    assert "本人证件" in event.reason
    with pytest.raises(dist_ops.AgentNotActive) as err:
        dist_ops.apply(
            user_id=make_user().pk,
            real_name=person_name(88_003),
            id_number=id_number(88_003),
            payee_channel="ALIPAY",
            payee_account="again@example.com",
            payee_name=person_name(88_003),
            now=T0 + 2 * DAY,
        )
    assert err.value.code == "agent_not_active"


def test_confirmed_yangka_claws_back_settled_and_withdrawable_commission_leaving_a_debt(
    catalog, commits
):
    offer()
    agent = make_agent()
    with commits():
        (a, line_a), (b, line_b) = sell(agent), sell(agent)
    with clock.frozen(T0 + 8 * DAY), commits():
        c, line_c = sell(agent, now=T0 + 8 * DAY)
    commission.settle_due(now=T0 + 16 * DAY)  # a and b's 秒返 settle
    commission.release_due(now=T0 + 23 * DAY)  # ... and become withdrawable
    commission.settle_due(now=T0 + 24 * DAY)  # c's 秒返 settles
    assert commission.balances_fen(agent_id=agent.pk) == {
        "pending": 60_00,  # 次月返 of each line, due in May
        "settled": 30_00,
        "withdrawable": 60_00,
    }
    paid_out(agent, 60_00)
    for line, day in ((line_a, 25), (line_b, 25), (line_c, 26)):
        close(line, at=T0 + day * DAY, commits=commits)
    assert [statuses(r)["NEXT_MONTH"] for r in (a, b, c)] == ["CLAWED_BACK"] * 3
    assert [statuses(r)["ACTIVATION"] for r in (a, b, c)] == [
        "WITHDRAWABLE",
        "WITHDRAWABLE",
        "SETTLED",
    ]
    flag = FraudFlag.objects.get(agent=agent, kind="ACTIVATE_THEN_CANCEL")
    fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="养卡", now=T0 + 27 * DAY)
    assert {statuses(r)["ACTIVATION"] for r in (a, b, c)} == {"CLAWED_BACK"}
    assert commission.balances_fen(agent_id=agent.pk) == {
        "pending": 0,
        "settled": 0,
        "withdrawable": -60_00,  # the agent owes what was already paid out
    }
    assert Agent.objects.get(pk=agent.pk).status == "FROZEN"


def test_a_decided_flag_cannot_be_decided_again_and_an_unknown_one_is_not_found(catalog, commits):
    offer()
    agent = make_agent(device_id="dev-w")
    with commits():
        sell(agent, device_id="dev-w")
    flag = FraudFlag.objects.get(agent=agent)
    fraud.decide(flag_id=flag.pk, confirmed=False, staff_id=None, note="", now=T0)
    with pytest.raises(domain.FlagDecided) as err:
        fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="", now=T0)
    assert err.value.code == "fraud_flag_decided"
    assert FraudFlag.objects.get(pk=flag.pk).status == "DISMISSED"
    assert Agent.objects.get(pk=agent.pk).status == "APPROVED"
    with pytest.raises(fraud.FlagNotFound) as err:
        fraud.decide(flag_id=999_999, confirmed=True, staff_id=None, note="", now=T0)
    assert err.value.code == "fraud_flag_not_found"
