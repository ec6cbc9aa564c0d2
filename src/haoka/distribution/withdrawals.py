"""Commission withdrawals (提现): an agent asks for part of the withdrawable balance, staff
approve or reject, the payout provider pays the net amount.

States: REQUESTED -> PAYING -> PAID | FAILED, or REQUESTED -> REJECTED (table below); at most
one open (REQUESTED or PAYING) withdrawal per agent, which the database also guards.

Ledger, one transaction per step, each keyed so that a repeat posts nothing:

- request ``withdrawal:<ref>:request``: debit ``liability:agent:<id>:withdrawable`` by the
  amount, credit ``liability:agent_payouts`` by the net and ``revenue:withdrawal_fees`` by the
  fee. From here the money is owed to the agent's payee account, no longer withdrawable.
- rejected or failed ``withdrawal:<ref>:reverse``: the exact opposite (the fee back too).
- paid ``withdrawal:<ref>:paid``: debit ``liability:agent_payouts``, credit
  ``asset:payouts:sandbox`` by the net (the provider paid it out of haoka's funds there).

The payout is sent outside any database transaction, after PAYING has committed: a crash or a
provider that does not answer leaves the withdrawal PAYING, and :func:`reconcile_paying` asks
the provider what happened (and sends again when it never saw the payout: sending is
idempotent by ``ref``).
"""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from django.db import IntegrityError, transaction

from haoka.core import accounts_chart as chart
from haoka.core import audit, ledger
from haoka.core.errors import Conflict, NotFound
from haoka.distribution import commission, domain
from haoka.distribution.domain import (
    WITHDRAWAL_OPEN,
    AgentStatus,
    WithdrawalStatus,
)
from haoka.distribution.models import Agent, Withdrawal
from haoka.distribution.operations import AgentNotActive, AgentNotFound
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.payments import payouts

log = structlog.get_logger("haoka.distribution.withdrawals")

#: A withdrawal PAYING for longer than this is asked about by :func:`reconcile_paying`
#: (shorter, and the first send may still be on its way).
PAYING_GRACE = dt.timedelta(minutes=1)

_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class WithdrawalNotFound(NotFound):
    code = "withdrawal_not_found"
    message = "提现申请不存在"


class WithdrawalInFlight(Conflict):
    code = "withdrawal_in_flight"
    message = "已有一笔提现正在处理中，请等待其完成"


def new_withdrawal_ref() -> str:
    """Public, unguessable withdrawal id: WD + 16 base-32 characters (also the payout's ref
    at the provider)."""
    return "WD" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(16))


def check_transition(*, current: str, target: str) -> None:
    """Raises WithdrawalAlreadyDecided unless ``current -> target`` is in the table."""
    domain.WITHDRAWAL_MACHINE.check(
        current=WithdrawalStatus(current), target=WithdrawalStatus(target)
    )


# ------------------------------------------------------------------------------ request


def request(*, agent_id: int, amount_fen: int, now: dt.datetime) -> Withdrawal:
    """Ask to withdraw ``amount_fen`` of the agent's withdrawable balance to the payee account
    on file (snapshotted). The fee is taken from the amount; the net is paid out.

    Raises AgentNotFound, AgentNotActive (not approved, or frozen), WithdrawalInFlight (one
    is already open), WithdrawalTooSmall, WithdrawalExceedsBalance (also when the agent owes).
    """
    with transaction.atomic():
        # The agent's row lock serializes this agent's requests: the balance read below
        # cannot be spent twice.
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None:
            raise AgentNotFound(agent_id=agent_id)
        if agent.status != AgentStatus.APPROVED:
            raise AgentNotActive(status=agent.status)
        if _has_open(agent_id):
            raise WithdrawalInFlight()
        withdrawable = commission.balances_fen(agent_id=agent_id)["withdrawable"]
        fee, net = domain.check_withdrawal(amount_fen=amount_fen, withdrawable_fen=withdrawable)
        withdrawal = _create(agent, amount_fen=amount_fen, fee_fen=fee, net_fen=net, now=now)
        ledger.post(
            legs=[
                ledger.Leg(commission.account(agent_id, "withdrawable"), amount_fen),
                ledger.Leg(chart.AGENT_PAYOUTS, -net),
                ledger.Leg(chart.WITHDRAWAL_FEES, -fee),
            ],
            kind="distribution.withdrawal_request",
            memo=f"代理 {agent.code} 提现 {withdrawal.ref}",
            key=f"withdrawal:{withdrawal.ref}:request",
        )
        _record(withdrawal, "", actor=f"user:{agent.user_id}", reason="申请提现")
    return withdrawal


def _has_open(agent_id: int) -> bool:
    return Withdrawal.objects.filter(agent_id=agent_id, status__in=WITHDRAWAL_OPEN).exists()


def _create(agent: Agent, *, amount_fen: int, fee_fen: int, net_fen: int, now) -> Withdrawal:
    try:
        with transaction.atomic():
            return Withdrawal.objects.create(
                ref=new_withdrawal_ref(),
                agent=agent,
                amount_fen=amount_fen,
                fee_fen=fee_fen,
                net_fen=net_fen,
                status=WithdrawalStatus.REQUESTED,
                payee_channel=agent.payee_channel,
                payee_account=agent.payee_account,
                payee_name=agent.real_name,  # the payee name was checked to be the real name
                requested_at=now,
            )
    except IntegrityError as exc:  # the database's guard: one open withdrawal per agent
        if _has_open(agent.pk):
            raise WithdrawalInFlight() from exc
        raise


# ------------------------------------------------------------------------------ decide


def decide(
    *, ref: str, approve: bool, staff_id: int | None, note: str, now: dt.datetime
) -> Withdrawal:
    """Staff reject a REQUESTED withdrawal (the money goes back to the agent's withdrawable
    balance, the fee too) or approve it: it becomes PAYING (committed first), then the net
    is sent to the payout provider. Returns the withdrawal as it stands: PAID, FAILED
    (reversed), or still PAYING when the provider did not answer or is still processing
    (:func:`reconcile_paying` finishes it). Call it outside any transaction, so that PAYING
    is committed before the provider is asked to pay.

    Raises WithdrawalNotFound, WithdrawalAlreadyDecided (not REQUESTED: a repeat pays
    nothing), AgentNotActive (approving while the agent is frozen: reject it instead)."""
    target = WithdrawalStatus.PAYING if approve else WithdrawalStatus.REJECTED
    actor = f"staff:{staff_id}" if staff_id else "system"
    with transaction.atomic():
        withdrawal = _locked(ref)
        check_transition(current=withdrawal.status, target=target)
        if approve:
            status = Agent.objects.filter(pk=withdrawal.agent_id).values_list("status", flat=True)
            if status.first() != AgentStatus.APPROVED:
                raise AgentNotActive("代理账号已冻结，只能驳回该提现", ref=ref)
        withdrawal.decided_at = now
        withdrawal.decided_by_id = staff_id
        if approve:
            before, withdrawal.status = withdrawal.status, target
            withdrawal.save(update_fields=["status", "decided_at", "decided_by"])
            _record(withdrawal, before, actor=actor, reason=note or "审核通过")
        else:
            _reverse(withdrawal, to=target, reason=note or "审核驳回", actor=actor)
    if not approve:
        return withdrawal
    return _pay(withdrawal, now=now)


def _locked(ref: str) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_for_update().filter(ref=ref).first()
    if withdrawal is None:
        raise WithdrawalNotFound(ref=ref)
    return withdrawal


def _reverse(withdrawal: Withdrawal, *, to: WithdrawalStatus, reason: str, actor: str) -> None:
    """REJECTED or FAILED: the request's posting undone, the amount withdrawable again.
    Inside the caller's transaction, with the withdrawal locked."""
    check_transition(current=withdrawal.status, target=to)
    ledger.post(
        legs=[
            ledger.Leg(
                commission.account(withdrawal.agent_id, "withdrawable"), -withdrawal.amount_fen
            ),
            ledger.Leg(chart.AGENT_PAYOUTS, withdrawal.net_fen),
            ledger.Leg(chart.WITHDRAWAL_FEES, withdrawal.fee_fen),
        ],
        kind="distribution.withdrawal_reverse",
        memo=f"提现 {withdrawal.ref} {domain.WITHDRAWAL_LABELS[to]}：{reason}"[:300],
        key=f"withdrawal:{withdrawal.ref}:reverse",
    )
    before, withdrawal.status = withdrawal.status, to
    withdrawal.failure_reason = reason[:200]
    withdrawal.save(
        update_fields=["status", "decided_at", "decided_by", "provider_ref", "failure_reason"]
    )
    _record(withdrawal, before, actor=actor, reason=reason)


def _record(withdrawal: Withdrawal, before: str, *, actor: str, reason: str) -> None:
    """Who moved the withdrawal from ``before`` to its status, and why (no personal data)."""
    audit.record(
        actor=actor,
        action=f"withdrawal.{withdrawal.status.lower()}",
        object_type="distribution.withdrawal",
        object_id=withdrawal.ref,
        data={
            "agent_id": withdrawal.agent_id,
            "from": before,
            "to": withdrawal.status,
            "amount_fen": withdrawal.amount_fen,
            "reason": reason[:200],
        },
    )


# ------------------------------------------------------------------------------ payout


def _pay(withdrawal: Withdrawal, *, now: dt.datetime) -> Withdrawal:
    """Send the net amount (idempotent by ref at the provider) and record what it answered.
    No database transaction is open while waiting for the provider."""
    try:
        result = payouts.send_payout(
            ref=withdrawal.ref,
            amount_fen=withdrawal.net_fen,
            channel=withdrawal.payee_channel,
            payee_account=withdrawal.payee_account,
            payee_name=withdrawal.payee_name,
        )
    except payouts.PayoutUnavailable:
        log.warning("withdrawal_payout_unavailable", ref=withdrawal.ref)
        return Withdrawal.objects.get(pk=withdrawal.pk)
    except payouts.InvalidPayout as exc:  # nothing was sent, and never could be as it stands
        result = _refused("INVALID_PAYOUT", exc.message, **exc.details)
    except payouts.PayoutRejected as exc:
        if exc.provider_error != "invalid_request":
            # A bad signature or a ref conflict: ours to fix, and the payout may exist. It
            # stays PAYING (reconcile keeps asking) and staff see the error.
            log.error("withdrawal_payout_refused", ref=withdrawal.ref, error=exc.provider_error)
            return Withdrawal.objects.get(pk=withdrawal.pk)
        result = _refused("INVALID_REQUEST", "付款渠道拒绝了付款信息", **exc.details)
    return _apply(withdrawal.ref, result, now=now)


def _refused(code: str, message: str, **details) -> payouts.PayoutResult:
    """A refusal that created nothing at the provider, as a FAILED result."""
    field = details.get("field")
    reason = f"{message}（{field}）" if field else message
    return payouts.PayoutResult(status="FAILED", provider_ref="", reason_code=code, reason=reason)


def _apply(ref: str, result: payouts.PayoutResult, *, now: dt.datetime) -> Withdrawal:
    """Record the provider's answer about a PAYING withdrawal in one transaction: PAID,
    FAILED (reversed), or still PAYING. A withdrawal no longer PAYING (finished by another
    run) is left as it is."""
    with transaction.atomic():
        withdrawal = _locked(ref)
        if withdrawal.status != WithdrawalStatus.PAYING:
            return withdrawal
        if result.provider_ref:
            withdrawal.provider_ref = result.provider_ref[:64]
        if result.status == "SUCCEEDED":
            _paid(withdrawal, now=now)
        elif result.status == "FAILED":
            why = f"{result.reason_code}: {result.reason}" if result.reason else result.reason_code
            _reverse(
                withdrawal, to=WithdrawalStatus.FAILED, reason=why or "打款失败", actor="payout"
            )
        elif result.provider_ref:  # PROCESSING: remember the provider's id, ask again later
            withdrawal.save(update_fields=["provider_ref"])
    return withdrawal


def _paid(withdrawal: Withdrawal, *, now: dt.datetime) -> None:
    check_transition(current=withdrawal.status, target=WithdrawalStatus.PAID)
    ledger.post(
        legs=[
            ledger.Leg(chart.AGENT_PAYOUTS, withdrawal.net_fen),
            ledger.Leg(chart.PAYOUT_FUNDS, -withdrawal.net_fen),
        ],
        kind="distribution.withdrawal_paid",
        memo=f"提现 {withdrawal.ref} 已到账",
        key=f"withdrawal:{withdrawal.ref}:paid",
    )
    before, withdrawal.status = withdrawal.status, WithdrawalStatus.PAID
    withdrawal.paid_at = now
    withdrawal.save(update_fields=["status", "paid_at", "provider_ref"])
    _record(withdrawal, before, actor="payout", reason="付款渠道已付款")
    notices.notify(
        user_id=Agent.objects.values_list("user_id", flat=True).get(pk=withdrawal.agent_id),
        kind=Kind.WITHDRAWAL_PAID,
        key=f"withdrawal:{withdrawal.ref}:paid",
        values={
            "withdrawal_ref": withdrawal.ref,
            "amount_fen": withdrawal.amount_fen,
            "fee_fen": withdrawal.fee_fen,
            "net_fen": withdrawal.net_fen,
        },
        now=now,
    )


# ------------------------------------------------------------------------------ reconcile


def reconcile_paying(*, now: dt.datetime, limit: int = 100) -> dict[str, int]:
    """Finish withdrawals PAYING for longer than a minute: ask the provider, record PAID or
    FAILED, send again when it never saw the payout. Each withdrawal on its own; one that
    cannot be finished now stays PAYING. Returns counts by outcome: paid, failed, paying
    (still unknown or processing), errors (unexpected, logged)."""
    refs = list(
        Withdrawal.objects.filter(
            status=WithdrawalStatus.PAYING, decided_at__lte=now - PAYING_GRACE
        )
        .order_by("decided_at", "id")
        .values_list("ref", flat=True)[:limit]
    )
    counts = {"paid": 0, "failed": 0, "paying": 0, "errors": 0}
    for ref in refs:
        try:
            status = _reconcile_one(ref, now=now).status
        except Exception:  # one odd withdrawal must not hold up the others
            log.exception("withdrawal_reconcile_failed", ref=ref)
            counts["errors"] += 1
            continue
        key = {WithdrawalStatus.PAID: "paid", WithdrawalStatus.FAILED: "failed"}.get(status)
        counts[key or "paying"] += 1
    return counts


def _reconcile_one(ref: str, *, now: dt.datetime) -> Withdrawal:
    try:
        result = payouts.query_payout(ref=ref)
    except payouts.PayoutNotFound:  # never reached the provider: nothing paid, send it now
        return _pay(Withdrawal.objects.get(ref=ref), now=now)
    except (payouts.PayoutUnavailable, payouts.PayoutRejected) as exc:
        log.warning("withdrawal_payout_query_failed", ref=ref, error=exc.code)
        return Withdrawal.objects.get(ref=ref)
    return _apply(ref, result, now=now)
