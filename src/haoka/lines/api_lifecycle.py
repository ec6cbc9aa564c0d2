"""Self-service over a line's life: ``/api/v1/lines/{msisdn}/...`` (plan change, 停机保号,
复机, 补换卡, 销户, 携号转网). Only the line's owner (someone else's number answers 404) or staff.
POSTs accept an ``Idempotency-Key`` header."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.accounts.models import Role
from haoka.core import clock
from haoka.core.money import format_fen
from haoka.lines import exits, lifecycle
from haoka.lines.domain import LABELS, LineState
from haoka.lines.models import Line, SimCard

router = Router(tags=["lines"], auth=bearer)


def _caller(request) -> lifecycle.Caller:
    user = request.auth
    return lifecycle.Caller(user_id=user.pk, staff=user.role == Role.STAFF or user.is_staff)


def _masked_iccid(iccid: str) -> str:
    return iccid[:6] + "*" * (len(iccid) - 10) + iccid[-4:]


class LineStateOut(Schema):
    msisdn: str
    status: str
    status_label: str
    suspend_reason: str
    plan_code: str
    pending_plan_code: str


def _state(line: Line) -> LineStateOut:
    return LineStateOut(
        msisdn=line.msisdn,
        status=line.status,
        status_label=LABELS[LineState(line.status)],
        suspend_reason=line.suspend_reason,
        plan_code=line.plan_code,
        pending_plan_code=line.pending_plan_code,
    )


# ---------------------------------------------------------------- plan change


class PlanChangeIn(Schema):
    plan_code: str
    when: Literal["next_cycle", "now"] = "next_cycle"


class PlanChangeOut(LineStateOut):
    timing: str
    effective_at: dt.datetime
    charged_fen: int
    charged: str
    granted: dict[str, int]


@router.post("/lines/{msisdn}/plan-change", response=PlanChangeOut)
def change_plan(request, msisdn: str, body: PlanChangeIn):
    """Change plan: next cycle by default; ``when: now`` for an upgrade (this month's fee
    difference pro rata from the wallet, allowances topped up pro rata)."""
    change = lifecycle.change_plan(
        msisdn=msisdn,
        caller=_caller(request),
        plan_code=body.plan_code,
        at_once=body.when == "now",
        now=clock.now(),
    )
    return PlanChangeOut(
        **_state(change.line).model_dump(),
        timing=change.timing,
        effective_at=change.effective_at,
        charged_fen=change.charged_fen,
        charged=format_fen(change.charged_fen),
        granted=change.granted,
    )


@router.delete("/lines/{msisdn}/plan-change", response=LineStateOut)
def cancel_plan_change(request, msisdn: str):
    """Drop the pending (next-cycle) plan change."""
    line = lifecycle.cancel_plan_change(msisdn=msisdn, caller=_caller(request), now=clock.now())
    return _state(line)


# ---------------------------------------------------------------- 停机保号 / 复机


@router.post("/lines/{msisdn}/suspend", response=LineStateOut)
def suspend(request, msisdn: str):
    """停机保号 (the monthly 保号费 is charged by the cycle)."""
    return _state(lifecycle.suspend(msisdn=msisdn, caller=_caller(request), now=clock.now()))


@router.post("/lines/{msisdn}/resume", response=LineStateOut)
def resume(request, msisdn: str):
    """复机 after 停机保号 (a suspension for arrears ends with a top-up)."""
    return _state(lifecycle.resume(msisdn=msisdn, caller=_caller(request), now=clock.now()))


# ---------------------------------------------------------------- 补换卡


class SimReplacementIn(Schema):
    name: str = ""
    id_number: str = ""


class SimCardOut(Schema):
    iccid_masked: str
    status: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def _card(card: SimCard) -> SimCardOut:
    return SimCardOut(
        iccid_masked=_masked_iccid(card.iccid),
        status=card.status,
        valid_from=card.valid_from,
        valid_to=card.valid_to,
    )


@router.post("/lines/{msisdn}/sim-replacement", response={201: SimCardOut})
def replace_sim(request, msisdn: str, body: SimReplacementIn):
    """补换卡: re-verify the owner's name and ID number (rate-limited); the old card dies."""
    card = lifecycle.replace_sim(
        msisdn=msisdn,
        caller=_caller(request),
        name=body.name,
        id_number=body.id_number,
        now=clock.now(),
    )
    return Status(201, _card(card))


@router.get("/lines/{msisdn}/sim-cards", response=list[SimCardOut])
def sim_cards(request, msisdn: str):
    """The line's cards, oldest first (ICCIDs masked)."""
    return [_card(c) for c in lifecycle.sim_cards(msisdn=msisdn, caller=_caller(request))]


# ---------------------------------------------------------------- 销户


class ClosureIn(Schema):
    confirm: bool = False


class ClosureOut(LineStateOut):
    closed_at: dt.datetime
    refund_due_fen: int
    refunded_fen: int
    pending_fen: int
    manual_refund_fen: int
    refund_state: str
    number_cooling_until: dt.datetime | None
    message: str


@router.post("/lines/{msisdn}/closure", response=ClosureOut)
def close_line(request, msisdn: str, body: ClosureIn):
    """销户: refused under contract (``contract_locked``) or in arrears (``arrears``); the
    balance goes back through the payments it came from (the rest by hand)."""
    done = exits.close_line(
        msisdn=msisdn, caller=_caller(request), confirm=body.confirm, now=clock.now()
    )
    c = done.closure
    return ClosureOut(
        **_state(done.line).model_dump(),
        closed_at=c.closed_at,
        refund_due_fen=c.refund_due_fen,
        refunded_fen=c.refunded_fen,
        pending_fen=done.pending_fen,
        manual_refund_fen=c.manual_fen,
        refund_state=c.state,
        number_cooling_until=done.cooling_until,
        message=done.summary(),
    )


# ---------------------------------------------------------------- 携号转网


class CheckOut(Schema):
    code: str
    passed: bool
    reason: str


class EligibilityOut(Schema):
    msisdn: str
    eligible: bool
    checks: list[CheckOut]
    contract_end_date: dt.date | None


class PortingCodeOut(Schema):
    msisdn: str
    code: str
    expires_at: dt.datetime


@router.get("/lines/{msisdn}/porting-eligibility", response=EligibilityOut)
def porting_eligibility(request, msisdn: str):
    """Each porting-out rule with its outcome (nothing is issued)."""
    result = exits.porting_eligibility(msisdn=msisdn, caller=_caller(request), now=clock.now())
    return EligibilityOut(
        msisdn=result.line.msisdn,
        eligible=result.eligible,
        checks=[
            CheckOut(code=c.code, passed=c.passed, reason="" if c.passed else c.reason)
            for c in result.checks
        ],
        contract_end_date=result.contract_end,
    )


@router.post("/lines/{msisdn}/porting-code", response={201: PortingCodeOut})
def porting_code(request, msisdn: str):
    """A 6-character 携号转网 authorization code, valid 30 days, shown this once; it
    replaces any earlier code. ``porting_not_eligible`` lists each failing rule."""
    issued = exits.issue_porting_code(msisdn=msisdn, caller=_caller(request), now=clock.now())
    return Status(
        201,
        PortingCodeOut(msisdn=issued.line.msisdn, code=issued.code, expires_at=issued.expires_at),
    )
