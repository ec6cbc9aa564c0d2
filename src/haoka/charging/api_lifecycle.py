"""A line's plan change and closure over the API (charging's use cases, same URLs as the
rest of a line's self-service: ``/api/v1/lines/{msisdn}/plan-change`` and ``.../closure``).
Only the line's owner (someone else's number answers 404) or staff. POSTs accept an
``Idempotency-Key`` header."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Header, Router, Schema

from haoka.accounts.auth import bearer
from haoka.charging import closure, plans
from haoka.core import clock
from haoka.core.money import format_fen
from haoka.lines.api_lifecycle import (
    STEP_UP_HEADER,
    STEP_UP_HELP,
    LineStateOut,
    caller_of,
    state_of,
)

router = Router(tags=["lines"], auth=bearer)


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
    change = plans.change_plan(
        msisdn=msisdn,
        caller=caller_of(request),
        plan_code=body.plan_code,
        at_once=body.when == "now",
        now=clock.now(),
    )
    return PlanChangeOut(
        **state_of(change.line).model_dump(),
        timing=change.timing,
        effective_at=change.effective_at,
        charged_fen=change.charged_fen,
        charged=format_fen(change.charged_fen),
        granted=change.granted,
    )


@router.delete("/lines/{msisdn}/plan-change", response=LineStateOut)
def cancel_plan_change(request, msisdn: str):
    """Drop the pending (next-cycle) plan change."""
    line = plans.cancel_plan_change(msisdn=msisdn, caller=caller_of(request), now=clock.now())
    return state_of(line)


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
def close_line(
    request,
    msisdn: str,
    body: ClosureIn,
    proof: str = Header("", alias=STEP_UP_HEADER, description=STEP_UP_HELP),
):
    """销户: an owner needs a step-up proof (``step_up_required``); refused under contract
    (``contract_locked``) or in arrears (``arrears``); the balance goes back through the
    payments it came from (the rest by hand)."""
    done = closure.close_line(
        msisdn=msisdn,
        caller=caller_of(request),
        confirm=body.confirm,
        now=clock.now(),
        step_up=proof,
    )
    c = done.closure
    return ClosureOut(
        **state_of(done.line).model_dump(),
        closed_at=c.closed_at,
        refund_due_fen=c.refund_due_fen,
        refunded_fen=c.refunded_fen,
        pending_fen=done.pending_fen,
        manual_refund_fen=c.manual_fen,
        refund_state=c.state,
        number_cooling_until=done.cooling_until,
        message=done.summary(),
    )
