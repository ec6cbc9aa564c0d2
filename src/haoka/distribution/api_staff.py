"""Distribution's staff API: applications, freezing, commission rules, products, withdrawal
approvals, the fraud queue and a sweep on demand. Staff users (role STAFF or ``is_staff``) or
integration tokens with the ``distribution`` scope."""

from __future__ import annotations

from ninja import Router
from ninja.responses import Status

from haoka.accounts.auth import StaffOrScope
from haoka.core import clock, pii
from haoka.core.errors import ValidationError
from haoka.core.pagination import paginate
from haoka.core.schema_types import Id
from haoka.distribution import domain, fraud, operations, schemas, tasks, withdrawals
from haoka.distribution.api import _choice, _fields, _masked, _money, _withdrawal
from haoka.distribution.domain import AgentStatus, WithdrawalStatus
from haoka.distribution.models import Agent, CommissionRule, FraudFlag, Withdrawal

staff = StaffOrScope("distribution")
router = Router(tags=["distribution staff"])


def _staff_withdrawal(w: Withdrawal) -> dict:
    return {
        **_withdrawal(w),
        "agent_code": w.agent.code,
        "payee_name_masked": pii.mask_name(w.payee_name or ""),
        "provider_ref": w.provider_ref,
    }


def _staff_agent(a: Agent) -> dict:
    return {
        **_fields(a, "code", "level", "status", "tier", "credit_score", "payee_channel"),
        **_fields(a, "shop_name", "applied_at", "decided_at", "decision_note"),
        "id": a.pk,
        "name_masked": pii.mask_name(a.real_name),
        "id_number_masked": pii.mask_id_number(a.id_number),
        "parent_code": a.parent.code if a.parent else None,
        "status_label": domain.AGENT_LABELS[AgentStatus(a.status)],
        "payee_account_masked": _masked(a.payee_account),
    }


def _rule(r: CommissionRule) -> dict:
    return {
        **_fields(r, "plan_code", "tier", "kind", "amount_fen", "rate_bp", "threshold_fen"),
        **_fields(r, "months", "valid_from", "valid_to", "note", "created_at"),
        "id": r.pk,
        "kind_label": domain.KIND_LABELS[domain.Kind(r.kind)],
    }


def _flag(f: FraudFlag) -> dict:
    return {
        **_fields(f, "kind", "detail", "status", "created_at", "decided_at", "note"),
        "id": f.pk,
        "agent_code": f.agent.code,
        "order_ref": f.sale.order_ref if f.sale else None,
        "kind_label": domain.FRAUD_LABELS[domain.FraudKind(f.kind)],
        "status_label": domain.FRAUD_MACHINE.label(f.status),
    }


# The staff lists page straight over the models: distribution's queries have no staff reads yet.


def _page(qs, *, order: tuple[str, ...], limit, after, render) -> dict:
    page = paginate(qs, order=order, limit=limit, after=after)
    return {"items": [render(x) for x in page.items], "next": page.next}


@router.get("/staff/agents", response=schemas.StaffAgentPage, auth=staff)
def staff_agents(
    request, status: str | None = None, limit: int | None = None, after: str | None = None
):
    """Applications and agents, newest application first (``status=PENDING``: the queue)."""
    qs = Agent.objects.select_related("parent")
    if status := _choice(status, AgentStatus, field="status"):
        qs = qs.filter(status=status)
    return _page(qs, order=("-applied_at", "-id"), limit=limit, after=after, render=_staff_agent)


@router.post("/staff/agents/{agent_id}/decision", response=schemas.StaffAgentOut, auth=staff)
def staff_decide_agent(request, agent_id: Id, body: schemas.DecisionIn):
    """Approve or reject a PENDING application (409 for anyone else: a frozen agent is
    unfrozen through ``/freeze``, never approved again, which would give it new codes)."""
    agent = operations.decide(
        agent_id=agent_id,
        approve=body.approve,
        staff_id=request.auth.pk,
        note=body.note,
        now=clock.now(),
    )
    return _staff_agent(agent)


@router.post("/staff/agents/{agent_id}/freeze", response=schemas.StaffAgentOut, auth=staff)
def staff_freeze_agent(request, agent_id: Id, body: schemas.FreezeIn):
    agent = operations.set_status(
        agent_id=agent_id,
        frozen=body.frozen,
        staff_id=request.auth.pk,
        reason=body.reason,
        now=clock.now(),
    )
    return _staff_agent(agent)


@router.get("/staff/commission-rules", response=schemas.RulePage, auth=staff)
def staff_rules(request, limit: int | None = None, after: str | None = None):
    order = ("plan_code", "tier", "kind", "-valid_from", "-id")
    qs = CommissionRule.objects.all()
    return _page(qs, order=order, limit=limit, after=after, render=_rule)


@router.post("/staff/commission-rules", response={201: schemas.RuleOut}, auth=staff)
def staff_add_rule(request, body: schemas.RuleIn):
    """Add a rule (422 ``commission_rule_invalid`` when it could not apply as written).
    Rules change what new orders earn; existing orders keep their terms."""
    now = clock.now()
    for name in ("valid_from", "valid_to"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise ValidationError("时间须带时区（如 +08:00）", field=name)
    rule = operations.save_rule(
        rule=CommissionRule(
            plan_code=body.plan_code.strip() or "*",
            tier=body.tier.strip().upper(),
            kind=body.kind.strip().upper(),
            amount_fen=body.amount_fen,
            rate_bp=body.rate_bp,
            threshold_fen=body.threshold_fen,
            months=body.months,
            valid_from=body.valid_from or now,
            valid_to=body.valid_to,
            note=body.note,
            created_at=now,
        )
    )
    return Status(201, _rule(rule))


@router.put("/staff/products/{plan_code}", response=schemas.ProductOut, auth=staff)
def staff_put_product(request, plan_code: str, body: schemas.ProductIn):
    """Offer a plan to agents (or change the offer): the commission margin, the markup
    agents may add, the least tier and an optional course to pass first."""
    product = operations.save_product(
        plan_code=plan_code,
        enabled=body.enabled,
        margin_fen=body.margin_fen,
        max_markup_fen=body.max_markup_fen,
        min_tier=body.min_tier,
        course_code=body.course_code or "",
    )
    course = product.course
    return {
        **_fields(product, "plan_code", "enabled", "min_tier"),
        **_money(margin=product.margin_fen, max_markup=product.max_markup_fen),
        "course_code": course.code if course else None,
    }


@router.get("/staff/withdrawals", response=schemas.StaffWithdrawalPage, auth=staff)
def staff_withdrawals(
    request, status: str | None = None, limit: int | None = None, after: str | None = None
):
    qs = Withdrawal.objects.select_related("agent")
    if status := _choice(status, WithdrawalStatus, field="status"):
        qs = qs.filter(status=status)
    order = ("-requested_at", "-id")
    return _page(qs, order=order, limit=limit, after=after, render=_staff_withdrawal)


@router.post("/staff/withdrawals/{ref}/decision", response=schemas.StaffWithdrawalOut, auth=staff)
def staff_decide_withdrawal(request, ref: str, body: schemas.DecisionIn):
    w = withdrawals.decide(
        ref=ref, approve=body.approve, staff_id=request.auth.pk, note=body.note, now=clock.now()
    )
    return _staff_withdrawal(w)


@router.get("/staff/fraud-flags", response=schemas.FlagPage, auth=staff)
def staff_flags(
    request, status: str | None = None, limit: int | None = None, after: str | None = None
):
    qs = FraudFlag.objects.select_related("agent", "sale")
    if status := _choice(status, [s.value for s in domain.FraudStatus], field="status"):
        qs = qs.filter(status=status)
    return _page(qs, order=("-created_at", "-id"), limit=limit, after=after, render=_flag)


@router.post("/staff/fraud-flags/{flag_id}/decision", response=schemas.FlagOut, auth=staff)
def staff_decide_flag(request, flag_id: Id, body: schemas.FlagDecisionIn):
    """Confirmed: the sale's commission is clawed back and the agent frozen; dismissed: the
    hold on the sale is lifted."""
    item = fraud.decide(
        flag_id=flag_id,
        confirmed=body.confirmed,
        staff_id=request.auth.pk,
        note=body.note,
        now=clock.now(),
    )
    return _flag(item)


@router.post("/staff/distribution/sweep", response=schemas.SweepOut, auth=staff)
def staff_sweep(request):
    """Run the commission sweep now: unprocessed facts, settlement, release."""
    return tasks.sweep.call()
