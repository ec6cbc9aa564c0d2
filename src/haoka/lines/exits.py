"""How a line ends, as its owner asks online: closure (销户) and the 携号转网 authorization,
both held back by the contract lock (合约期).

Closure (the use case is ``charging.closure.close_line``: the wallet is charging's): open
charging sessions are released and allowances end, then :func:`close_ended` records it here:
the wallet's money moves to
``liability:refunds_due`` and goes back through the payment gateway (the line's paid
top-ups, then the order's payment, newest first, up to the balance); what no payment can
carry back is left for staff as a manual refund. The number cools for 90 days.
Gateway calls happen after the closing transaction has committed (payments must not run
inside a caller's transaction); a refund the gateway could not take yet is sent again by
:func:`send_closure_refunds`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import structlog
from django.db import transaction
from django.db.models import F

from haoka.core import accounts_chart as chart
from haoka.core import audit, clock, ledger, pii
from haoka.core.errors import Conflict, HaokaError, NotFound, ValidationError
from haoka.core.money import format_fen
from haoka.kyc import operations as kyc_ops
from haoka.kyc import ownership
from haoka.lines import domain, queries
from haoka.lines import operations as line_ops
from haoka.lines.domain import (
    CLOSURE_MACHINE,
    CLOSURE_REFUND_MACHINE,
    ClosureRefundState,
    ClosureState,
    LineState,
)
from haoka.lines.lifecycle import Caller, line_for, lock_line, tell_owner
from haoka.lines.models import ClosureRefund, Line, LineClosure, PortingCode
from haoka.numbers import operations as number_ops
from haoka.numbers import queries as number_queries
from haoka.payments import operations as payment_ops
from haoka.payments import queries as payment_queries

log = structlog.get_logger(__name__)

#: The customer's money of closed lines, until it is paid back.
REFUNDS_DUE = chart.REFUNDS_DUE
#: Where paid money waits for what it pays for (payments post refunds against it).
PREPAYMENTS = chart.CUSTOMER_PREPAYMENTS
#: Payment errors after which a refund is tried again later (the outcome is unknown).
RETRYABLE = frozenset({"payment_gateway_unavailable", "payment_busy"})


class ConfirmationRequired(ValidationError):
    code = "confirmation_required"
    message = "销户不可撤销，请确认后再提交"


class ContractLocked(Conflict):
    code = "contract_locked"
    message = "合约期内不能办理"


class InArrears(Conflict):
    code = "arrears"
    message = "线路欠费，请先结清欠费"


class NotEligibleToPort(Conflict):
    code = "porting_not_eligible"
    message = "暂不满足携号转网条件"


# ---------------------------------------------------------------- contract lock


def contract_end(*, line: Line) -> dt.date | None:
    """The first Beijing day the line is free of its contract (None without one): the
    order's contract months (the plan's or the vanity number's, whichever is longer, copied
    onto the line when it was opened) from activation; for a line opened by staff, its
    number's contract months in the pool."""
    months = 0
    if line.order_ref:
        months = line.contract_months
    else:
        try:
            months = number_queries.number_for_sale(msisdn=line.msisdn).contract_months
        except (NotFound, ValidationError):  # not a pool number
            months = 0
    activated = line.activated_at
    return domain.contract_end(
        activated_on=clock.beijing_date(activated) if activated else None, months=months
    )


# ---------------------------------------------------------------- closure (销户)


@dataclass(frozen=True)
class Closure:
    line: Line
    closure: LineClosure
    refunds: list[ClosureRefund]
    cooling_until: dt.datetime | None

    @property
    def pending_fen(self) -> int:
        return sum(r.amount_fen for r in self.refunds if r.state == ClosureRefundState.PLANNED)

    def summary(self) -> str:
        c = self.closure
        parts = [f"线路已销户，余额 {format_fen(c.refund_due_fen)}"]
        if c.refunded_fen:
            parts.append(f"{format_fen(c.refunded_fen)} 已原路退回")
        if self.pending_fen:
            parts.append(f"{format_fen(self.pending_fen)} 退款处理中")
        if c.manual_fen:
            parts.append(f"{format_fen(c.manual_fen)} 无法原路退回，将由客服人工退款")
        return "，".join(parts) + "。"


def close_ended(
    *, line_id: int, balance: int, topup_refs: list[str], caller: Caller, now: dt.datetime
) -> dt.datetime | None:
    """The line's part of a closure, inside the closing transaction, after charging ended the
    line's usage (``balance``: the wallet's money then; ``topup_refs``: its paid top-ups,
    oldest first). Refused under contract (ContractLocked, with its end date) and in arrears
    (InArrears). The balance moves to refunds due and its refunds are planned, the line
    becomes CLOSED, its number COOLING (returned: until when), its 一证五号 slot and porting
    code free. Nothing happens (None) when the line is closed already.
    Raises LineStateConflict, ContractLocked, InArrears."""
    line = lock_line(line_id)
    if line.status == LineState.CLOSED and hasattr(line, "closure"):
        return None
    return _close_locked(line, balance=balance, topup_refs=topup_refs, caller=caller, now=now)


def _close_locked(
    line: Line, *, balance: int, topup_refs: list[str], caller: Caller, now: dt.datetime
) -> dt.datetime | None:
    domain.LINE_MACHINE.check(current=line.status, target=LineState.CLOSED)
    end = contract_end(line=line)
    if domain.contract_locked(end=end, today=clock.beijing_date(now)):
        raise ContractLocked(f"合约期至 {end.isoformat()}，到期后可办理销户", ends_on=end)
    if balance < 0:
        raise InArrears(f"线路欠费 {format_fen(-balance)}，请先充值结清", owed_fen=-balance)
    closure = _record_closure(
        line, balance=balance, topup_refs=topup_refs, actor=caller.actor, now=now
    )
    line_ops.change_status(
        line_id=line.pk,
        to=LineState.CLOSED,
        actor=caller.actor,
        reason="线上销户",
        now=now,
        closed_at=now,
        pending_plan_code="",
    )
    PortingCode.objects.filter(line=line, revoked_at__isnull=True).update(revoked_at=now)
    if line.order_ref:
        kyc_ops.release_claim(order_ref=line.order_ref, reason="线路销户", now=now)
    audit.record(
        actor=caller.actor,
        action="lines.closed",
        object_type="line",
        object_id=str(line.pk),
        data={"refund_due_fen": closure.refund_due_fen},
    )
    return _cool_down(line, now=now)


def _cool_down(line: Line, *, now: dt.datetime) -> dt.datetime | None:
    try:
        return number_ops.cool_down(msisdn=line.msisdn, now=now, actor=f"line:{line.pk}")
    except HaokaError as exc:  # not a pool number (a line brought over by staff)
        log.info("closed_line_number_not_cooled", line_id=line.pk, error=exc.code)
        return None


def _record_closure(
    line: Line, *, balance: int, topup_refs: list[str], actor: str, now: dt.datetime
) -> LineClosure:
    """Move the balance to refunds due and plan its refunds over the line's paid payments."""
    if balance > 0:
        ledger.post(
            legs=[
                ledger.Leg(chart.line_wallet(line_id=line.pk), balance),
                ledger.Leg(REFUNDS_DUE, -balance),
            ],
            kind="line.closure_refund_due",
            memo=f"线路 {line.msisdn} 销户余额待退",
            key=f"line.closure:{line.pk}",
        )
    closure = LineClosure.objects.create(
        line=line,
        refund_due_fen=balance,
        state=ClosureState.REFUNDING,
        actor=actor,
        closed_at=now,
        updated_at=now,
    )
    left = balance
    for purpose, view in _paid_payments(line, topup_refs=topup_refs):
        amount = min(left, view.amount_fen - view.refunded_fen)
        if amount <= 0:
            continue
        ClosureRefund.objects.create(
            closure=closure,
            purpose=purpose,
            reference=view.reference,
            payment_id=view.payment_id,
            amount_fen=amount,
            state=ClosureRefundState.PLANNED,
            updated_at=now,
        )
        left -= amount
        if left == 0:
            break
    if left:
        LineClosure.objects.filter(pk=closure.pk).update(manual_fen=left)
    return closure


def _paid_payments(line: Line, *, topup_refs: list[str]) -> list:
    """(purpose, payment view) of every paid payment of the line, newest first: its
    top-ups and, for a line from an order, the order's payment (the first top-up came with
    it). Each was paid by the line's owner."""
    references = [("TOPUP", ref) for ref in topup_refs]
    if line.order_ref:
        references.append(("ORDER", line.order_ref))
    found = []
    for purpose, reference in references:
        for payment_id in payment_queries.paid_attempt_ids(purpose=purpose, reference=reference):
            view = payment_queries.payment_of_user(payment_id=payment_id, user_id=line.user_id)
            if view is not None and view.paid_at is not None:
                found.append((purpose, view))
    return sorted(found, key=lambda pv: (pv[1].paid_at, pv[1].payment_id), reverse=True)


def send_closure_refunds(*, line_id: int, now: dt.datetime) -> Closure:
    """Send the closure's planned refunds to the gateway (again: each refund's intent is
    ``line_closed:<line>``, so a repeat never pays back twice). A refused refund becomes a
    manual one; one the gateway could not take yet stays planned. Never call it inside a
    transaction. Raises LineClosure.DoesNotExist."""
    closure = LineClosure.objects.get(line_id=line_id)
    planned = ClosureRefund.objects.filter(closure=closure, state=ClosureRefundState.PLANNED)
    for row in planned.order_by("id"):
        try:
            result = payment_ops.refund(
                purpose=row.purpose,
                reference=row.reference,
                amount_fen=row.amount_fen,
                reason=f"line_closed:{line_id}",
                now=now,
                actor=f"line:{line_id}",
                payment_id=row.payment_id,
            )
        except HaokaError as exc:
            if exc.code not in RETRYABLE:
                _settle_row(row, sent=False, note=f"{exc.code}: {exc.message}"[:200], now=now)
            else:
                log.warning("closure_refund_delayed", line_id=line_id, error=exc.code)
            continue
        if result.refund_id is None:  # nothing was left to refund on that payment
            _settle_row(row, sent=False, note=f"nothing refundable: {result.status}", now=now)
        else:
            _settle_row(row, sent=True, refund_id=result.refund_id, now=now)
    return _finish(line_id=line_id, now=now)


def _settle_row(
    row: ClosureRefund, *, sent: bool, now: dt.datetime, refund_id: str = "", note: str = ""
) -> None:
    with transaction.atomic():
        state = ClosureRefundState.SENT if sent else ClosureRefundState.FAILED
        # Checked against the row as read; the update moves it only if still PLANNED.
        CLOSURE_REFUND_MACHINE.check(current=row.state, target=state)
        moved = ClosureRefund.objects.filter(pk=row.pk, state=ClosureRefundState.PLANNED).update(
            state=state, refund_id=refund_id, note=note, updated_at=now
        )
        if not moved:  # a concurrent sender got there first
            return
        counter = "refunded_fen" if sent else "manual_fen"
        LineClosure.objects.filter(pk=row.closure_id).update(
            **{counter: F(counter) + row.amount_fen}, updated_at=now
        )
        if sent:
            # The gateway refund debits prepayments (payments' posting): the money comes
            # from what the closed line is owed.
            ledger.post(
                legs=[
                    ledger.Leg(REFUNDS_DUE, row.amount_fen),
                    ledger.Leg(PREPAYMENTS, -row.amount_fen),
                ],
                kind="line.closure_refund",
                memo=f"销户退款 {refund_id}",
                key=f"line.closure_refund:{row.pk}",
            )


def _finish(*, line_id: int, now: dt.datetime) -> Closure:
    with transaction.atomic():
        closure = LineClosure.objects.select_for_update().get(line_id=line_id)
        refunds = list(ClosureRefund.objects.filter(closure=closure).order_by("id"))
        if any(r.state == ClosureRefundState.PLANNED for r in refunds):
            state = ClosureState.REFUNDING
        else:
            state = ClosureState.MANUAL if closure.manual_fen else ClosureState.DONE
        if state != closure.state:
            CLOSURE_MACHINE.check(current=closure.state, target=state)
            closure.state, closure.updated_at = state, now
            closure.save(update_fields=["state", "updated_at"])
    return Closure(Line.objects.get(pk=line_id), closure, refunds, None)


def retry_closure_refunds(*, now: dt.datetime, limit: int = 100) -> int:
    """Send again the refunds of closures still REFUNDING (worker). Returns closures tried."""
    ids = list(
        LineClosure.objects.filter(state=ClosureState.REFUNDING)
        .order_by("updated_at", "id")
        .values_list("line_id", flat=True)[:limit]
    )
    for line_id in ids:
        send_closure_refunds(line_id=line_id, now=now)
    return len(ids)


# ---------------------------------------------------------------- 携号转网 authorization


@dataclass(frozen=True)
class Eligibility:
    line: Line
    checks: list[domain.Check]
    contract_end: dt.date | None

    @property
    def eligible(self) -> bool:
        return not domain.failing(self.checks)


def porting_eligibility(*, msisdn: str, caller: Caller, now: dt.datetime) -> Eligibility:
    """Every porting-out rule with its outcome, without issuing anything.
    Raises LineNotFound."""
    line = line_for(msisdn=msisdn, caller=caller)
    return _eligibility(line, now=now)


def _eligibility(line: Line, *, now: dt.datetime) -> Eligibility:
    end = contract_end(line=line)
    checks = domain.porting_checks(
        status=line.status,
        verified=ownership.is_verified(order_ref=line.order_ref),
        activated_on=clock.beijing_date(line.activated_at) if line.activated_at else None,
        today=clock.beijing_date(now),
        wallet_fen=queries.wallet_balance_fen(line=line),
        contract_end_on=end,
    )
    return Eligibility(line, checks, end)


@dataclass(frozen=True)
class IssuedCode:
    line: Line
    code: str  # shown once, never stored in clear
    expires_at: dt.datetime


def porting_code_hash(*, msisdn: str, code: str) -> str:
    """The keyed hash a porting code is stored and checked by (bound to its number)."""
    return pii.lookup_hash(f"{msisdn}:{code}", purpose="porting_code")


def issue_porting_code(*, msisdn: str, caller: Caller, now: dt.datetime) -> IssuedCode:
    """A 6-character 携号转网 authorization code valid 30 days, when every rule passes; it
    replaces any earlier code. Raises LineNotFound, NotEligibleToPort (details list each
    failing rule and its reason)."""
    line = line_for(msisdn=msisdn, caller=caller)
    with transaction.atomic():
        line = lock_line(line.pk)
        failed = domain.failing(_eligibility(line, now=now).checks)
        if failed:
            raise NotEligibleToPort(
                "暂不满足携号转网条件：" + "；".join(c.reason for c in failed),
                failed=[{"code": c.code, "reason": c.reason} for c in failed],
            )
        PortingCode.objects.filter(line=line, revoked_at__isnull=True).update(revoked_at=now)
        code = "".join(
            secrets.choice(domain.PORTING_CODE_ALPHABET) for _ in range(domain.PORTING_CODE_LENGTH)
        )
        expires_at = now + dt.timedelta(days=domain.PORTING_CODE_DAYS)
        PortingCode.objects.create(
            line=line,
            code_hash=porting_code_hash(msisdn=line.msisdn, code=code),
            created_at=now,
            expires_at=expires_at,
        )
        audit.record(
            actor=caller.actor,
            action="lines.porting_code_issued",
            object_type="line",
            object_id=str(line.pk),
            data={"expires_at": expires_at.isoformat()},
        )
    tell_owner(
        line,
        "PORTING_CODE",
        "携号转网授权码已生成",
        f"授权码有效期至 {clock.beijing_date(expires_at)}，请勿告知他人。",
        now=now,
    )
    return IssuedCode(line, code, expires_at)
