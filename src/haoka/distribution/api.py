"""Distribution over the API: applying as an agent, the agent's console (overview, sales,
commission ledger, team, shop, poster, withdrawals, training), the public shop, and the staff
side (applications, freezing, commission rules, products, withdrawals, fraud flags).

Everything under ``/agents/me`` is the caller's own: the agent record is found from the bearer
token, never from the request, so no id or ref in a path can reach another agent's data.
Customers and agents appear masked only. Staff endpoints need STAFF (or ``is_staff``).
"""

from __future__ import annotations

from django.http import HttpResponse
from ninja import Router
from ninja.responses import Status

from haoka.accounts.auth import StaffOrScope, bearer
from haoka.core import clock, pii
from haoka.core.errors import IllegalTransition, NotFound, ValidationError
from haoka.core.money import format_fen
from haoka.core.pagination import paginate
from haoka.distribution import (
    domain,
    fraud,
    operations,
    poster,
    queries,
    schemas,
    tasks,
    training,
    withdrawals,
)
from haoka.distribution.domain import AgentStatus, EntryStatus, Tier, WithdrawalStatus
from haoka.distribution.models import (
    Agent,
    CommissionRule,
    Course,
    Entry,
    FraudFlag,
    Product,
    SaleStatus,
    Withdrawal,
)

router = Router(tags=["distribution"], auth=bearer)
staff = StaffOrScope("distribution")
ME = "/agents/me"
POSTER_HEADLINE = "0月租起 · 大流量 · 包邮到家 · 在线激活"


class ShopNotFound(NotFound):
    code = "shop_not_found"
    message = "店铺不存在或已关闭"


def _me(request) -> Agent:
    """The caller's agent record (approved or frozen). Raises NotAnAgent, telling an
    applicant how their application stands."""
    try:
        return queries.require_agent(user_id=request.auth.pk)
    except queries.NotAnAgent:
        applied = queries.agent_of(user_id=request.auth.pk)
        raise queries.NotAnAgent(application_status=applied.status if applied else None) from None


def _choice(value: str | None, allowed, *, field: str) -> str | None:
    """An optional filter value, checked against the allowed set. Raises ValidationError."""
    if not value:
        return None
    if value not in {str(a) for a in allowed}:
        raise ValidationError(f"{field} 取值无效", field=field, allowed=sorted(map(str, allowed)))
    return value


def _shop_url(request, agent: Agent) -> str:
    return request.build_absolute_uri(f"/s/{agent.code}")


def _masked(value: str) -> str:
    """An account number or address kept to its first 3 and last 4 characters."""
    return pii.mask_id_number(value or "")


# ---------------------------------------------------------------- renderers


def _money(**amounts: int) -> dict:
    """``amount=1234`` -> ``{"amount_fen": 1234, "amount": "¥12.34"}``."""
    out: dict = {}
    for name, fen in amounts.items():
        out[f"{name}_fen"], out[name] = fen, format_fen(fen)
    return out


def _fields(obj, *names: str) -> dict:
    return {name: getattr(obj, name) for name in names}


def _withdrawal(w: Withdrawal) -> dict:
    return {
        **_fields(w, "ref", "status", "payee_channel", "requested_at", "decided_at", "paid_at"),
        **_fields(w, "failure_reason"),
        **_money(amount=w.amount_fen, fee=w.fee_fen, net=w.net_fen),
        "status_label": domain.WITHDRAWAL_LABELS[WithdrawalStatus(w.status)],
        "payee_account_masked": _masked(w.payee_account),
    }


def _staff_withdrawal(w: Withdrawal) -> dict:
    return {
        **_withdrawal(w),
        "agent_code": w.agent.code,
        "payee_name_masked": pii.mask_name(w.payee_name or ""),
        "provider_ref": w.provider_ref,
    }


def _entry(e: Entry) -> dict:
    return {
        **_fields(e, "kind", "status", "memo", "accrued_at", "settle_after", "settled_at"),
        **_fields(e, "withdrawable_at", "clawed_back_at", "clawback_reason"),
        **_money(amount=e.amount_fen),
        "kind_label": domain.KIND_LABELS[domain.Kind(e.kind)],
        "status_label": domain.ENTRY_LABELS[EntryStatus(e.status)],
        "order_ref": e.sale.order_ref,
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
        "status_label": FraudFlag.Status(f.status).label,
    }


def _shop(request, agent: Agent) -> dict:
    return {
        "code": agent.code,
        "shop_name": agent.shop_name,
        "shop_intro": agent.shop_intro,
        "shop_url": _shop_url(request, agent),
        "sells_vanity": agent.shop_sells_vanity,
        "vanity_allowed": operations.may_sell_vanity(agent),
        "products": [
            {**vars(p), "monthly_fee": format_fen(p.monthly_fee_fen)}
            for p in queries.shop_products(agent=agent)
        ],
    }


# ---------------------------------------------------------------- the agent


@router.post("/agents/apply", response={201: schemas.ApplicationOut})
def apply(request, body: schemas.ApplyIn):
    """Apply to become an agent (with a level-1 agent's invite code: their sub-agent).
    Staff review the application; the ID number is never echoed."""
    agent = operations.apply(
        user_id=request.auth.pk,
        real_name=body.real_name,
        id_number=body.id_number,
        payee_channel=body.payee_channel,
        payee_account=body.payee_account,
        payee_name=body.payee_name,
        address=body.address.dict() if body.address else None,
        invite_code=body.invite_code or "",
        device_id=request.headers.get("X-Device-Id", "")[:64],
        now=clock.now(),
    )
    label = domain.AGENT_LABELS[AgentStatus(agent.status)]
    return Status(201, {"status": agent.status, "status_label": label})


@router.get(ME, response=schemas.AgentMeOut)
def me(request):
    """The agent at a glance: codes, tier and why, shop link, balances, today, funnel."""
    agent = _me(request)
    o = queries.overview(agent=agent, now=clock.now())
    factors = agent.credit_factors
    if agent.credit_at is None:  # before the first daily run: the starting score, explained
        factors = domain.credit_score(domain.AgentStats()).as_json()
    return {
        "code": agent.code,
        "invite_code": agent.invite_code if agent.level == 1 else None,
        "level": agent.level,
        "status": agent.status,
        "status_label": domain.AGENT_LABELS[AgentStatus(agent.status)],
        "tier": agent.tier,
        "tier_label": domain.TIER_LABELS[Tier(agent.tier)],
        "credit_score": agent.credit_score,
        "credit_factors": factors,
        "shop_name": agent.shop_name,
        "shop_url": _shop_url(request, agent),
        "balances": _money(
            pending=o.pending_fen, settled=o.settled_fen, withdrawable=o.withdrawable_fen
        ),
        "today": {
            "orders": o.today_orders,
            "activated": o.today_activated,
            **_money(commission=o.today_commission_fen),
        },
        "funnel": o.funnel,
        "parent_code": agent.parent.code if agent.parent else None,
    }


@router.get(f"{ME}/orders", response=schemas.SalePage)
def my_orders(request, limit: int | None = None, after: str | None = None):
    """The agent's own sales, newest first, customers masked."""
    page = queries.sales_page(agent=_me(request), limit=limit, after=after)
    label = {s.value: s.label for s in SaleStatus}
    items = [
        {**s, "status_label": label[s["status"]], "earned": format_fen(s["earned_fen"])}
        for s in page.items
    ]
    return {"items": items, "next": page.next}


@router.get(f"{ME}/ledger", response=schemas.EntryPage)
def my_ledger(
    request, status: str | None = None, limit: int | None = None, after: str | None = None
):
    """The agent's commission entries, newest first (``status`` filters by state)."""
    status = _choice(status, EntryStatus, field="status")
    page = queries.entries_page(agent=_me(request), limit=limit, after=after, status=status)
    return {"items": [_entry(e) for e in page.items], "next": page.next}


@router.get(f"{ME}/team", response=schemas.TeamPage)
def my_team(request):
    """A level-1 agent's sub-agents, masked, with what they sold and earned the agent."""
    team = queries.team(agent=_me(request), now=clock.now())
    return {
        "items": [{**m, "override": format_fen(m["override_fen"])} for m in team],
        "next": None,
    }


@router.get(f"{ME}/shop", response=schemas.ShopOut)
def my_shop(request):
    """The shop's settings and every product with whether it may be sold, and its markup."""
    return _shop(request, _me(request))


@router.put(f"{ME}/shop", response=schemas.ShopOut)
def put_shop(request, body: schemas.ShopIn):
    """Replace the shop's settings and products (a frozen agent cannot)."""
    agent = operations.set_shop(
        agent_id=_me(request).pk,
        shop_name=body.shop_name,
        shop_intro=body.shop_intro,
        items=[(i.plan_code, i.markup_fen) for i in body.items],
        sells_vanity=body.sells_vanity,
    )
    return _shop(request, agent)


@router.get(f"{ME}/poster.png")
def my_poster(request):
    """The share poster (PNG) whose QR code opens the shop."""
    agent = _me(request)
    shop = queries.public_shop(code=agent.code or "")
    if shop is None:  # a frozen agent's shop is closed: nothing to share
        raise operations.AgentNotActive()
    png = poster.render_poster(
        shop_url=_shop_url(request, agent),
        shop_name=shop.name,
        agent_label=f"推荐人：{shop.agent_masked}",
        headline=POSTER_HEADLINE,
        products=[
            (i["plan"].name, f"{format_fen(i['plan'].monthly_fee_fen)}/月")
            for i in shop.items[: poster.MAX_PRODUCTS]
        ],
    )
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@router.get(f"{ME}/withdrawals", response=schemas.WithdrawalPage)
def my_withdrawals(request, limit: int | None = None, after: str | None = None):
    page = queries.withdrawals_page(agent=_me(request), limit=limit, after=after)
    return {"items": [_withdrawal(w) for w in page.items], "next": page.next}


@router.post(f"{ME}/withdrawals", response={201: schemas.WithdrawalOut})
def request_withdrawal(request, body: schemas.WithdrawalIn):
    """Withdraw from the withdrawable balance to the payee account (send an
    ``Idempotency-Key``: a repeat returns the first withdrawal)."""
    agent = _me(request)
    w = withdrawals.request(agent_id=agent.pk, amount_fen=body.amount_fen, now=clock.now())
    return Status(201, _withdrawal(w))


@router.get(f"{ME}/courses", response=schemas.CoursePage)
def my_courses(request):
    items = [
        {
            "code": c["course"].code,
            "title": c["course"].title,
            "summary": c["course"].summary,
            "pass_percent": c["course"].pass_percent,
            "unlocks_vanity": c["course"].unlocks_vanity,
            "passed": c["passed"],
            "best_percent": c["best_percent"],
        }
        for c in queries.courses(agent=_me(request))
    ]
    return {"items": items, "next": None}


@router.get(ME + "/courses/{code}", response=schemas.CourseDetailOut)
def my_course(request, code: str):
    """A course's content and its quiz questions (never the answers)."""
    _me(request)
    return training.course_view(course_code=code)


@router.post(ME + "/courses/{code}/quiz", response={201: schemas.QuizResultOut})
def submit_quiz(request, code: str, body: schemas.QuizIn):
    attempt = training.submit_quiz(
        agent_id=_me(request).pk, course_code=code, answers=body.answers, now=clock.now()
    )
    return Status(
        201,
        {
            "course_code": attempt.course.code,
            "score_percent": attempt.score_percent,
            "passed": attempt.passed,
            "pass_percent": attempt.course.pass_percent,
            "at": attempt.at,
        },
    )


# ---------------------------------------------------------------- public


@router.get("/shops/{code}", response=schemas.PublicShopOut, auth=None)
def public_shop(request, code: str):
    """An agent's shop: products with what a customer pays at checkout (the first top-up of
    a free number plus the agent's markup). 404 ``shop_not_found``."""
    shop = queries.public_shop(code=code)
    if shop is None:
        raise ShopNotFound()
    items = [
        {
            "plan_code": i["plan"].code,
            "plan_name": i["plan"].name,
            "carrier": i["plan"].carrier.code,
            "carrier_name": i["plan"].carrier.name,
            "first_topup_fen": i["plan"].first_topup_fen,
            "markup_fen": i["markup_fen"],
            **_money(
                monthly_fee=i["plan"].monthly_fee_fen,
                price=i["plan"].first_topup_fen + i["markup_fen"],
            ),
        }
        for i in shop.items
    ]
    return {**vars(shop), "items": items}


# ---------------------------------------------------------------- staff


def _check_pending(agent_id: int) -> None:
    """Raises AgentNotFound, IllegalTransition (not a PENDING application).

    ``operations.decide`` lets APPROVED follow FROZEN (the transition table allows it for
    unfreezing) and would then assign new codes and reset the tier; guarded here until the
    use case checks it under its lock."""
    status = Agent.objects.filter(pk=agent_id).values_list("status", flat=True).first()
    if status is None:
        raise operations.AgentNotFound(agent_id=agent_id)
    if status != AgentStatus.PENDING:
        label = domain.AGENT_LABELS[AgentStatus(status)]
        raise IllegalTransition(f"只能审核待审核的申请（当前：{label}）", current=status)


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
def staff_decide_agent(request, agent_id: int, body: schemas.DecisionIn):
    """Approve or reject a PENDING application (409 for anyone else: a frozen agent is
    unfrozen through ``/freeze``, never approved again, which would give it new codes)."""
    _check_pending(agent_id)
    agent = operations.decide(
        agent_id=agent_id,
        approve=body.approve,
        staff_id=request.auth.pk,
        note=body.note,
        now=clock.now(),
    )
    return _staff_agent(agent)


@router.post("/staff/agents/{agent_id}/freeze", response=schemas.StaffAgentOut, auth=staff)
def staff_freeze_agent(request, agent_id: int, body: schemas.FreezeIn):
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
    from haoka.catalog import queries as catalog_queries

    catalog_queries.plan_detail(code=plan_code, include_unlisted=True)  # PlanNotFound
    if body.min_tier not in Tier.__members__:
        raise ValidationError("最低等级只能是 A、B、C、D", field="min_tier")
    if body.max_markup_fen > domain.MARKUP_CEILING_FEN:
        ceiling = format_fen(domain.MARKUP_CEILING_FEN)
        raise ValidationError(f"加价上限不能超过 {ceiling}", field="max_markup_fen")
    course = None
    if body.course_code:
        course = Course.objects.filter(code=body.course_code).first()
        if course is None:
            raise training.CourseNotFound("课程不存在", course_code=body.course_code)
    product, _ = Product.objects.update_or_create(
        plan_code=plan_code,
        defaults={
            "enabled": body.enabled,
            "margin_fen": body.margin_fen,
            "max_markup_fen": body.max_markup_fen,
            "min_tier": body.min_tier,
            "course": course,
        },
    )
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
    if status := _choice(status, FraudFlag.Status.values, field="status"):
        qs = qs.filter(status=status)
    return _page(qs, order=("-created_at", "-id"), limit=limit, after=after, render=_flag)


@router.post("/staff/fraud-flags/{flag_id}/decision", response=schemas.FlagOut, auth=staff)
def staff_decide_flag(request, flag_id: int, body: schemas.FlagDecisionIn):
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
