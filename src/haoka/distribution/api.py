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
from haoka.core import clock, links, pii
from haoka.core.errors import NotFound, ValidationError
from haoka.core.money import format_fen
from haoka.distribution import (
    domain,
    operations,
    poster,
    queries,
    schemas,
    training,
    withdrawals,
)
from haoka.distribution.domain import AgentStatus, EntryStatus, Tier, WithdrawalStatus
from haoka.distribution.models import (
    Agent,
    Entry,
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
    return links.absolute_url(f"/s/{agent.code}")


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


def _entry(e: Entry) -> dict:
    return {
        **_fields(e, "kind", "status", "memo", "accrued_at", "settle_after", "settled_at"),
        **_fields(e, "withdrawable_at", "clawed_back_at", "clawback_reason"),
        **_money(amount=e.amount_fen),
        "kind_label": domain.KIND_LABELS[domain.Kind(e.kind)],
        "status_label": domain.ENTRY_LABELS[EntryStatus(e.status)],
        "order_ref": e.sale.order_ref,
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
    label = dict(domain.SALE_MACHINE.choices())
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
