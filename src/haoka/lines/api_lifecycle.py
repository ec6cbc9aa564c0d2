"""Self-service over a line's life: ``/api/v1/lines/{msisdn}/...`` (停机保号, 复机, 补换卡,
携号转网; plan change and 销户 are charging's: ``charging.api_lifecycle``). Only the line's
owner (someone else's number answers 404) or staff. POSTs accept an ``Idempotency-Key``
header.

停机保号, 补换卡 and 销户 want a step-up first (staff excepted): ``POST .../step-up/code``
sends an SMS code for one action to the account's phone, ``POST .../step-up/verify`` turns it
into a proof, and the action's request carries it in the ``Step-Up-Proof`` header (spent once,
5 minutes). Without it the action answers 403 ``step_up_required``."""

from __future__ import annotations

import datetime as dt

from ninja import Header, Router, Schema
from ninja.responses import Status

from haoka.accounts import queries as account_queries
from haoka.accounts import stepup
from haoka.accounts.auth import bearer
from haoka.core import clock, idempotency
from haoka.core.clientip import client_ip
from haoka.lines import exits, lifecycle
from haoka.lines.domain import LINE_MACHINE, Caller
from haoka.lines.queries import line_for

#: The header that carries a step-up proof (``POST .../step-up/verify``).
STEP_UP_HEADER = "Step-Up-Proof"
STEP_UP_HELP = "二次验证凭证（POST /lines/{msisdn}/step-up/verify 所得，一次有效）"

router = Router(tags=["lines"], auth=bearer)


def caller_of(request) -> Caller:
    """Who asks (owner or staff), from the request's bearer."""
    user = request.auth
    return Caller(user_id=user.pk, staff=account_queries.is_staff(user))


def _masked_iccid(iccid: str) -> str:
    return iccid[:6] + "*" * (len(iccid) - 10) + iccid[-4:]


class LineStateOut(Schema):
    msisdn: str
    status: str
    status_label: str
    suspend_reason: str
    plan_code: str
    pending_plan_code: str


def state_of(line) -> LineStateOut:
    return LineStateOut(
        msisdn=line.msisdn,
        status=line.status,
        status_label=LINE_MACHINE.label(line.status),
        suspend_reason=line.suspend_reason,
        plan_code=line.plan_code,
        pending_plan_code=line.pending_plan_code,
    )


# ---------------------------------------------------------------- step-up (二次验证)


class StepUpCodeIn(Schema):
    action: str


class StepUpCodeOut(Schema):
    action: str
    phone_masked: str
    expires_at: dt.datetime
    resend_after_seconds: int


class StepUpVerifyIn(Schema):
    action: str
    code: str


class StepUpProofOut(Schema):
    action: str
    proof: str
    expires_at: dt.datetime


@router.post("/lines/{msisdn}/step-up/code", response=StepUpCodeOut)
def step_up_code(request, msisdn: str, body: StepUpCodeIn):
    """Send an SMS code for ``action`` (``suspend``, ``sim-replacement``, ``closure``) on this
    line to the account's phone (one a minute, five an hour); a new code replaces the last."""
    line = line_for(msisdn=msisdn, caller=caller_of(request))
    sent = stepup.send_code(
        user_id=request.auth.pk,
        action=body.action,
        target=line.msisdn,
        client_ip=client_ip(request),
        now=clock.now(),
    )
    return StepUpCodeOut(**sent.__dict__)


@router.post("/lines/{msisdn}/step-up/verify", response={201: StepUpProofOut})
@idempotency.never_replayed  # the proof is shown once
def step_up_verify(request, msisdn: str, body: StepUpVerifyIn):
    """Check the code (five tries); the proof it returns goes in the action's
    ``Step-Up-Proof`` header, once, within 5 minutes. ``step_up_code_invalid`` otherwise."""
    line = line_for(msisdn=msisdn, caller=caller_of(request))
    proof = stepup.verify_code(
        user_id=request.auth.pk,
        action=body.action,
        target=line.msisdn,
        code=body.code,
        now=clock.now(),
    )
    return Status(201, StepUpProofOut(**proof.__dict__))


# ---------------------------------------------------------------- 停机保号 / 复机


@router.post("/lines/{msisdn}/suspend", response=LineStateOut)
def suspend(
    request,
    msisdn: str,
    proof: str = Header("", alias=STEP_UP_HEADER, description=STEP_UP_HELP),
):
    """停机保号 (the monthly 保号费 is charged by the cycle); an owner needs a step-up proof."""
    line = lifecycle.suspend(
        msisdn=msisdn, caller=caller_of(request), now=clock.now(), step_up=proof
    )
    return state_of(line)


@router.post("/lines/{msisdn}/resume", response=LineStateOut)
def resume(request, msisdn: str):
    """复机 after 停机保号 (a suspension for arrears ends with a top-up)."""
    return state_of(lifecycle.resume(msisdn=msisdn, caller=caller_of(request), now=clock.now()))


# ---------------------------------------------------------------- 补换卡


class SimReplacementIn(Schema):
    name: str = ""
    id_number: str = ""


class SimCardOut(Schema):
    iccid_masked: str
    status: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def _card(card) -> SimCardOut:
    return SimCardOut(
        iccid_masked=_masked_iccid(card.iccid),
        status=card.status,
        valid_from=card.valid_from,
        valid_to=card.valid_to,
    )


@router.post("/lines/{msisdn}/sim-replacement", response={201: SimCardOut})
def replace_sim(
    request,
    msisdn: str,
    body: SimReplacementIn,
    proof: str = Header("", alias=STEP_UP_HEADER, description=STEP_UP_HELP),
):
    """补换卡: a step-up proof, then the owner's name and ID number again (rate-limited); the
    old card dies."""
    card = lifecycle.replace_sim(
        msisdn=msisdn,
        caller=caller_of(request),
        name=body.name,
        id_number=body.id_number,
        now=clock.now(),
        step_up=proof,
    )
    return Status(201, _card(card))


@router.get("/lines/{msisdn}/sim-cards", response=list[SimCardOut])
def sim_cards(request, msisdn: str):
    """The line's cards, oldest first (ICCIDs masked)."""
    return [_card(c) for c in lifecycle.sim_cards(msisdn=msisdn, caller=caller_of(request))]


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
    result = exits.porting_eligibility(msisdn=msisdn, caller=caller_of(request), now=clock.now())
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
@idempotency.never_replayed  # the owner's code is shown once, never kept in clear
def porting_code(request, msisdn: str):
    """A 6-character 携号转网 authorization code, valid 30 days, shown this once; it
    replaces any earlier code. ``porting_not_eligible`` lists each failing rule."""
    issued = exits.issue_porting_code(msisdn=msisdn, caller=caller_of(request), now=clock.now())
    return Status(
        201,
        PortingCodeOut(msisdn=issued.line.msisdn, code=issued.code, expires_at=issued.expires_at),
    )
