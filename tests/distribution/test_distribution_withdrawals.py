"""Commission withdrawals through the real use cases on the test database, with an in-process
payout provider standing in for the HTTP one (idempotent by ref, like the real one)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.models import AuditRecord
from haoka.distribution import commission, fraud, tasks, withdrawals
from haoka.distribution import operations as dist_ops
from haoka.distribution.domain import (
    FraudKind,
    WithdrawalAlreadyDecided,
    WithdrawalExceedsBalance,
    WithdrawalTooSmall,
)
from haoka.distribution.models import Sale, Withdrawal
from haoka.payments import payouts
from tests.support.distribution import T0, make_agent, offer, sell

#: When the commission of sales made at T0 has settled (tier C: 15 days) and cooled down (7).
LATER = T0 + dt.timedelta(days=30)
MINUTE = dt.timedelta(minutes=1)


class FakeProvider:
    """The payout provider in-process: pays once per ref and answers repeats with the first
    result. ``outcome`` is what a new payout becomes; ``down`` makes every call go
    unanswered (``reaches`` says whether a send still gets there before the answer is lost)."""

    def __init__(self) -> None:
        self.outcome = "SUCCEEDED"
        self.down = False
        self.reaches = False
        self.refuse: str = ""  # a provider_error to refuse sends with (PayoutRejected)
        self.payouts: dict[str, payouts.PayoutResult] = {}
        self.sent: list[dict] = []  # every send call, repeats included

    def send_payout(self, *, ref, amount_fen, channel, payee_account, payee_name):
        self.sent.append(
            {
                "ref": ref,
                "amount_fen": amount_fen,
                "channel": channel,
                "payee_account": payee_account,
                "payee_name": payee_name,
            }
        )
        if self.refuse:
            raise payouts.PayoutRejected(provider_error=self.refuse, http_status=400, ref=ref)
        if self.down and not self.reaches:
            raise payouts.PayoutUnavailable(ref=ref)
        if ref not in self.payouts:
            failed = self.outcome == "FAILED"
            self.payouts[ref] = payouts.PayoutResult(
                status=self.outcome,
                provider_ref=f"po_{len(self.payouts) + 1}",
                reason_code="ACCOUNT_INVALID" if failed else "",
                reason="收款账户不存在或已注销" if failed else "",
            )
        if self.down:
            raise payouts.PayoutUnavailable(ref=ref)
        return self.payouts[ref]

    def query_payout(self, *, ref):
        if self.down:
            raise payouts.PayoutUnavailable(ref=ref)
        if ref not in self.payouts:
            raise payouts.PayoutNotFound(ref=ref)
        return self.payouts[ref]

    def paid_fen(self) -> int:
        sent = {s["ref"]: s["amount_fen"] for s in self.sent}
        return sum(sent[ref] for ref, r in self.payouts.items() if r.status == "SUCCEEDED")


@pytest.fixture
def provider(monkeypatch):
    fake = FakeProvider()
    monkeypatch.setattr(payouts, "send_payout", fake.send_payout)
    monkeypatch.setattr(payouts, "query_payout", fake.query_payout)
    return fake


def funded_agent(commits, *, sales: int = 1):
    """An agent whose sales' 秒返 (¥30 each with the default offer) is settled and released."""
    agent = make_agent()
    for _ in range(sales):
        with commits():
            sell(agent)
    commission.settle_due(now=T0 + dt.timedelta(days=16))
    commission.release_due(now=T0 + dt.timedelta(days=23))
    return agent


def balance(agent) -> int:
    return commission.balances_fen(agent_id=agent.pk)["withdrawable"]


def books() -> dict[str, int]:
    """The system accounts a withdrawal touches (credit balances as positive amounts), after
    checking that the ledger as a whole still balances."""
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
    return {
        "payouts_owed": -ledger.balance_fen(account=chart.AGENT_PAYOUTS),
        "fees": -ledger.balance_fen(account=chart.WITHDRAWAL_FEES),
        "paid_out": -ledger.balance_fen(account=chart.PAYOUT_FUNDS),
    }


def approve(ref: str, *, now=LATER) -> Withdrawal:
    return withdrawals.decide(ref=ref, approve=True, staff_id=None, note="同意", now=now)


# ------------------------------------------------------------------------------ request


def test_a_withdrawal_pays_out_the_amount_less_a_fee_of_six_per_mille(catalog, commits, provider):
    offer(margin_fen=600_00, activation_fen=500_00)
    agent = funded_agent(commits)  # ¥500 (the next-month reward is still pending)
    assert balance(agent) == 500_00
    withdrawal = withdrawals.request(agent_id=agent.pk, amount_fen=500_00, now=LATER)
    assert (withdrawal.fee_fen, withdrawal.net_fen) == (3_00, 497_00)
    assert withdrawal.ref.startswith("WD") and len(withdrawal.ref) == 18
    assert withdrawal.status == "REQUESTED" and balance(agent) == 0
    assert books() == {"payouts_owed": 497_00, "fees": 3_00, "paid_out": 0}
    paid = approve(withdrawal.ref)
    assert paid.status == "PAID" and paid.paid_at == LATER and paid.provider_ref == "po_1"
    assert provider.sent[0]["amount_fen"] == 497_00
    assert books() == {"payouts_owed": 0, "fees": 3_00, "paid_out": 497_00}


def test_a_small_withdrawal_still_pays_the_minimum_fee_of_one_yuan(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    withdrawal = withdrawals.request(agent_id=agent.pk, amount_fen=12_34, now=LATER)
    assert (withdrawal.amount_fen, withdrawal.fee_fen, withdrawal.net_fen) == (12_34, 1_00, 11_34)
    assert balance(agent) == 30_00 - 12_34
    assert books()["fees"] == 1_00


def test_the_payee_is_snapshotted_from_the_agent_and_encrypted_at_rest(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    withdrawal = withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    stored = Withdrawal.objects.get(pk=withdrawal.pk)
    payee = (stored.payee_channel, stored.payee_account, stored.payee_name)
    assert payee == ("ALIPAY", agent.payee_account, agent.real_name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payee_account, payee_name FROM distribution_withdrawal WHERE id = %s",
            [withdrawal.pk],
        )
        raw_account, raw_name = cursor.fetchone()
    assert agent.payee_account not in raw_account and agent.real_name not in raw_name
    approve(withdrawal.ref)
    assert provider.sent[0]["payee_account"] == agent.payee_account
    assert provider.sent[0]["payee_name"] == agent.real_name


def test_a_withdrawal_below_ten_yuan_is_refused_and_changes_nothing(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    with pytest.raises(WithdrawalTooSmall) as refused:
        withdrawals.request(agent_id=agent.pk, amount_fen=9_99, now=LATER)
    assert refused.value.code == "withdrawal_too_small"
    assert not Withdrawal.objects.exists() and balance(agent) == 30_00


def test_a_withdrawal_above_the_withdrawable_balance_is_refused(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    with commits():
        sell(agent)  # pending commission is not withdrawable yet
    with pytest.raises(WithdrawalExceedsBalance) as refused:
        withdrawals.request(agent_id=agent.pk, amount_fen=30_01, now=LATER)
    assert refused.value.code == "withdrawal_exceeds_balance"
    assert refused.value.details == {"amount_fen": 30_01, "withdrawable_fen": 30_00}
    assert not Withdrawal.objects.exists() and balance(agent) == 30_00
    assert withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).net_fen == 29_00


def test_an_agent_who_owes_after_a_fraud_clawback_cannot_withdraw(catalog, commits, provider):
    offer()
    agent = funded_agent(commits, sales=2)
    approve(withdrawals.request(agent_id=agent.pk, amount_fen=60_00, now=LATER).ref)
    sale = Sale.objects.filter(agent=agent).order_by("id").first()
    flag = fraud.flag(
        agent_id=agent.pk, sale=sale, kind=FraudKind.SELF_ID, key="t:debt", detail="", now=LATER
    )
    fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="自买自卖", now=LATER)
    dist_ops.set_status(agent_id=agent.pk, frozen=False, staff_id=None, reason="申诉", now=LATER)
    assert balance(agent) == -30_00  # a debt, recovered from later commission
    with pytest.raises(WithdrawalExceedsBalance) as refused:
        withdrawals.request(agent_id=agent.pk, amount_fen=10_00, now=LATER)
    assert refused.value.details["withdrawable_fen"] == 0
    assert Withdrawal.objects.filter(agent=agent).count() == 1
    assert books()["paid_out"] == 59_00


def test_a_frozen_agent_cannot_withdraw(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    dist_ops.set_status(agent_id=agent.pk, frozen=True, staff_id=None, reason="核查", now=LATER)
    with pytest.raises(dist_ops.AgentNotActive) as refused:
        withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    assert refused.value.code == "agent_not_active"
    assert not Withdrawal.objects.exists() and balance(agent) == 30_00


def test_a_second_withdrawal_is_refused_while_the_first_is_open(catalog, commits, provider):
    offer()
    agent = funded_agent(commits, sales=2)
    first = withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    with pytest.raises(withdrawals.WithdrawalInFlight) as refused:
        withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    assert refused.value.code == "withdrawal_in_flight" and refused.value.status == 409
    assert balance(agent) == 40_00
    approve(first.ref)
    second = withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    assert second.status == "REQUESTED" and balance(agent) == 20_00


def test_a_race_caught_by_the_database_is_refused_as_a_withdrawal_in_flight(
    catalog, commits, provider, monkeypatch
):
    offer()
    agent = funded_agent(commits, sales=2)
    withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    checks = iter([False])  # the first look misses the open one, as a racing request would
    real = withdrawals._has_open
    monkeypatch.setattr(withdrawals, "_has_open", lambda agent_id: next(checks, real(agent_id)))
    with pytest.raises(withdrawals.WithdrawalInFlight):
        withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=LATER)
    assert Withdrawal.objects.filter(agent=agent).count() == 1 and balance(agent) == 40_00
    assert books()["payouts_owed"] == 19_00


# ------------------------------------------------------------------------------ decide


def test_a_rejected_withdrawal_gives_back_the_amount_and_the_fee(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    withdrawal = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER)
    rejected = withdrawals.decide(
        ref=withdrawal.ref, approve=False, staff_id=None, note="账户信息待核实", now=LATER
    )
    assert rejected.status == "REJECTED" and rejected.failure_reason == "账户信息待核实"
    assert rejected.decided_at == LATER
    assert balance(agent) == 30_00 and provider.sent == []
    assert books() == {"payouts_owed": 0, "fees": 0, "paid_out": 0}
    assert withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).status == "REQUESTED"


def test_a_failed_payout_gives_back_the_amount_and_records_why(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    provider.outcome = "FAILED"
    failed = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref)
    assert failed.status == "FAILED" and failed.provider_ref == "po_1"
    assert failed.failure_reason == "ACCOUNT_INVALID: 收款账户不存在或已注销"
    assert balance(agent) == 30_00
    assert books() == {"payouts_owed": 0, "fees": 0, "paid_out": 0}


def test_a_payout_the_provider_refuses_as_invalid_fails_and_is_given_back(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.refuse = "invalid_request"
    failed = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref)
    assert failed.status == "FAILED" and failed.failure_reason.startswith("INVALID_REQUEST")
    assert balance(agent) == 30_00 and books()["payouts_owed"] == 0


def test_a_payout_refused_for_a_bad_signature_stays_paying_for_staff_to_fix(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.refuse = "bad_signature"
    paying = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref)
    assert paying.status == "PAYING" and balance(agent) == 0
    provider.refuse = ""  # the secret fixed: the next reconcile sends it
    assert withdrawals.reconcile_paying(now=LATER + 2 * MINUTE)["paid"] == 1
    assert books() == {"payouts_owed": 0, "fees": 1_00, "paid_out": 29_00}


def test_a_repeated_decision_is_refused_and_the_payout_is_made_once(catalog, commits, provider):
    offer()
    agent = funded_agent(commits)
    ref = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref
    assert approve(ref).status == "PAID"
    for again in (True, False):
        with pytest.raises(WithdrawalAlreadyDecided) as refused:
            withdrawals.decide(ref=ref, approve=again, staff_id=None, note="", now=LATER)
        assert refused.value.code == "withdrawal_already_decided"
    assert len(provider.sent) == 1 and provider.paid_fen() == 29_00
    assert Withdrawal.objects.get(ref=ref).status == "PAID" and balance(agent) == 0
    assert books() == {"payouts_owed": 0, "fees": 1_00, "paid_out": 29_00}


def test_an_unknown_withdrawal_cannot_be_decided(db, provider):
    with pytest.raises(withdrawals.WithdrawalNotFound) as refused:
        approve("WD0000000000000000")
    assert refused.value.code == "withdrawal_not_found"


def test_a_frozen_agents_withdrawal_cannot_be_approved_but_can_be_rejected(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    ref = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref
    dist_ops.set_status(agent_id=agent.pk, frozen=True, staff_id=None, reason="核查", now=LATER)
    with pytest.raises(dist_ops.AgentNotActive):
        approve(ref)
    assert Withdrawal.objects.get(ref=ref).status == "REQUESTED" and provider.sent == []
    withdrawals.decide(ref=ref, approve=False, staff_id=None, note="账号冻结", now=LATER)
    assert balance(agent) == 30_00


def test_every_state_change_of_a_withdrawal_is_recorded_in_the_audit_chain(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    ref = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref
    approve(ref)
    actions = list(
        AuditRecord.objects.filter(object_id=ref).order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["withdrawal.requested", "withdrawal.paying", "withdrawal.paid"]


# ------------------------------------------------------------------------------ reconcile


def test_when_the_provider_is_down_the_withdrawal_stays_paying_until_reconcile_sends_it(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.down = True
    paying = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref)
    assert paying.status == "PAYING" and balance(agent) == 0
    still = withdrawals.reconcile_paying(now=LATER + 2 * MINUTE)
    assert still == {"paid": 0, "failed": 0, "paying": 1, "errors": 0}
    provider.down = False  # back, and it never saw the payout: reconcile sends it
    assert withdrawals.reconcile_paying(now=LATER + 3 * MINUTE)["paid"] == 1
    assert Withdrawal.objects.get(ref=paying.ref).status == "PAID"
    assert provider.paid_fen() == 29_00
    assert books() == {"payouts_owed": 0, "fees": 1_00, "paid_out": 29_00}
    assert withdrawals.reconcile_paying(now=LATER + 4 * MINUTE)["paid"] == 0


def test_a_payout_made_without_an_answer_is_found_by_reconcile_and_not_paid_twice(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.down, provider.reaches = True, True  # paid, but the answer was lost
    ref = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref).ref
    provider.down = False
    assert withdrawals.reconcile_paying(now=LATER + 2 * MINUTE)["paid"] == 1
    assert len(provider.sent) == 1 and provider.paid_fen() == 29_00
    assert Withdrawal.objects.get(ref=ref).provider_ref == "po_1"
    assert books()["paid_out"] == 29_00


def test_reconcile_finishes_a_payout_that_failed_later_by_giving_the_money_back(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.outcome = "PROCESSING"
    ref = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref).ref
    assert Withdrawal.objects.get(ref=ref).provider_ref == "po_1"
    provider.payouts[ref] = payouts.PayoutResult("FAILED", "po_1", "PROVIDER_DECLINED", "拒绝")
    assert withdrawals.reconcile_paying(now=LATER + 2 * MINUTE)["failed"] == 1
    assert Withdrawal.objects.get(ref=ref).status == "FAILED" and balance(agent) == 30_00
    assert books() == {"payouts_owed": 0, "fees": 0, "paid_out": 0}


def test_reconcile_leaves_a_withdrawal_paying_for_less_than_a_minute_alone(
    catalog, commits, provider
):
    offer()
    agent = funded_agent(commits)
    provider.down = True
    ref = approve(withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER).ref).ref
    provider.down = False
    assert withdrawals.reconcile_paying(now=LATER + MINUTE / 2)["paying"] == 0
    assert len(provider.sent) == 1 and Withdrawal.objects.get(ref=ref).status == "PAYING"


def test_the_reconcile_task_finishes_withdrawals_left_paying(now, catalog, commits, provider):
    before = now - dt.timedelta(days=40)  # the task reads the clock: sell well before it
    offer(now=before)
    agent = make_agent(now=before)
    with commits():
        sell(agent, now=before)
    commission.settle_due(now=before + dt.timedelta(days=16))
    commission.release_due(now=before + dt.timedelta(days=23))
    provider.down = True
    ref = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=now - 5 * MINUTE).ref
    approve(ref, now=now - 5 * MINUTE)
    provider.down = False
    result = tasks.reconcile_withdrawals.enqueue().return_value
    assert result == {"paid": 1, "failed": 0, "paying": 0, "errors": 0}
    assert Withdrawal.objects.get(ref=ref).status == "PAID"


# ------------------------------------------------------------------------------ concurrency


def requests_at_once(agent, *, amount_fen: int, threads: int) -> list[str]:
    """``threads`` requests at the same moment, each on its own connection: the refs made and
    the codes of the refusals."""
    barrier = threading.Barrier(threads)

    def ask(_i: int) -> str:
        try:
            barrier.wait(timeout=30)
            return withdrawals.request(agent_id=agent.pk, amount_fen=amount_fen, now=LATER).ref
        except (withdrawals.WithdrawalInFlight, WithdrawalExceedsBalance) as exc:
            return exc.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(ask, range(threads)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_agent_never_withdraw_more_than_the_balance(
    now, catalog, commits, provider
):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    offer()
    agent = funded_agent(commits, sales=2)  # ¥60
    assert balance(agent) == 60_00
    outcomes: list[str] = []
    for _round in range(3):  # ¥25 a round: two rounds can be paid, the third cannot
        answers = requests_at_once(agent, amount_fen=25_00, threads=8)
        refs = [a for a in answers if a.startswith("WD")]
        assert len(refs) <= 1
        for ref in refs:
            assert approve(ref).status == "PAID"
        outcomes.append("paid" if refs else "refused")
    assert outcomes == ["paid", "paid", "refused"]
    assert balance(agent) == 10_00 and provider.paid_fen() == 2 * 24_00
    assert books() == {"payouts_owed": 0, "fees": 2_00, "paid_out": 48_00}
