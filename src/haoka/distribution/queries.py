"""Reads of distribution for the agent console, the API and the public shop. Everything an
agent reads is scoped to that agent: their own sales, entries, withdrawals and team, with
customers masked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from haoka.catalog import queries as catalog_queries
from haoka.core import pii
from haoka.core.errors import PermissionDenied
from haoka.core.pagination import Page, paginate
from haoka.distribution import commission, domain, operations
from haoka.distribution.domain import (
    AgentStatus,
    EntryStatus,
    FraudStatus,
    SaleState,
    WithdrawalStatus,
)
from haoka.distribution.models import (
    Agent,
    AgentEvent,
    Course,
    Entry,
    FraudFlag,
    Material,
    Product,
    QuizAttempt,
    Sale,
    ShopItem,
    Withdrawal,
)
from haoka.kyc import queries as kyc_queries

#: The order's states once its card has left the carrier (the console's "shipped"; the sale
#: keeps its order's state, see ``operations.order_moved``).
SHIPPED_STATES = ("SHIPPED", "DELIVERED", "ACTIVATED")


class NotAnAgent(PermissionDenied):
    code = "not_an_agent"
    message = "您还不是代理，请先申请"


def agent_of(*, user_id: int) -> Agent | None:
    """The user's agent record (any status), or None."""
    return Agent.objects.select_related("parent").filter(user_id=user_id).first()


def require_agent(*, user_id: int) -> Agent:
    """The caller's approved (or frozen: they may still look) agent record.
    Raises NotAnAgent."""
    agent = agent_of(user_id=user_id)
    if agent is None or agent.status not in (AgentStatus.APPROVED, AgentStatus.FROZEN):
        raise NotAnAgent()
    return agent


@dataclass(frozen=True)
class Freeze:
    """Why the agent may not withdraw (or sell, or change the shop): staff's reason and since
    when, as the freeze was recorded."""

    reason: str
    since: dt.datetime | None


def freeze(*, agent: Agent) -> Freeze | None:
    """The agent's freeze, or None when they are not frozen."""
    if agent.status != AgentStatus.FROZEN:
        return None
    event = (
        AgentEvent.objects.filter(agent=agent, what="STATUS", to_value=AgentStatus.FROZEN)
        .order_by("-at", "-id")
        .values("reason", "at")
        .first()
    )
    if event is None:
        return Freeze(reason="", since=None)
    return Freeze(reason=event["reason"], since=event["at"])


def _today_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(domain.BEIJING)
    return dt.datetime(local.year, local.month, local.day, tzinfo=domain.BEIJING)


@dataclass(frozen=True)
class Overview:
    pending_fen: int
    settled_fen: int
    withdrawable_fen: int
    today_orders: int
    today_activated: int
    today_commission_fen: int
    funnel: dict[str, int]  # orders, shipped, activated, first_topup
    total_commission_fen: int
    clawed_back_fen: int


def overview(*, agent: Agent, now: dt.datetime) -> Overview:
    """Balances, today's sales and the funnel of the agent's own sales."""
    balances = commission.balances_fen(agent_id=agent.pk)
    start = _today_start(now)
    sales = Sale.objects.filter(agent=agent)
    counts = sales.aggregate(
        orders=Count("id"),
        activated=Count("id", filter=Q(activated_at__isnull=False)),
        first_topup=Count("id", filter=Q(first_topup_at__isnull=False)),
        today_orders=Count("id", filter=Q(created_at__gte=start)),
        today_activated=Count("id", filter=Q(activated_at__gte=start)),
        shipped_open=Count("id", filter=Q(status=SaleState.OPEN, order_state__in=SHIPPED_STATES)),
    )
    entries = Entry.objects.filter(agent=agent)
    sums = entries.aggregate(
        today=Sum("amount_fen", filter=Q(accrued_at__gte=start) & ~Q(status="CLAWED_BACK")),
        total=Sum("amount_fen", filter=~Q(status=EntryStatus.CLAWED_BACK)),
        clawed=Sum("amount_fen", filter=Q(status=EntryStatus.CLAWED_BACK)),
    )
    return Overview(
        pending_fen=balances["pending"],
        settled_fen=balances["settled"],
        withdrawable_fen=balances["withdrawable"],
        today_orders=counts["today_orders"],
        today_activated=counts["today_activated"],
        today_commission_fen=int(sums["today"] or 0),
        funnel={
            "orders": counts["orders"],
            "shipped": counts["activated"] + counts["shipped_open"],
            "activated": counts["activated"],
            "first_topup": counts["first_topup"],
        },
        total_commission_fen=int(sums["total"] or 0),
        clawed_back_fen=int(sums["clawed"] or 0),
    )


def daily_series(*, agent: Agent, now: dt.datetime, days: int = 30) -> list[dict]:
    """Per Beijing day over the last ``days``: orders, activations, commission earned."""
    start = _today_start(now) - dt.timedelta(days=days - 1)
    rows = {
        (start + dt.timedelta(days=i)).date(): {"orders": 0, "activated": 0, "commission_fen": 0}
        for i in range(days)
    }
    for created, activated in Sale.objects.filter(agent=agent, created_at__gte=start).values_list(
        "created_at", "activated_at"
    ):
        rows[created.astimezone(domain.BEIJING).date()]["orders"] += 1
        if activated is not None and activated >= start:
            day = activated.astimezone(domain.BEIJING).date()
            if day in rows:
                rows[day]["activated"] += 1
    for accrued, amount in (
        Entry.objects.filter(agent=agent, accrued_at__gte=start)
        .exclude(status=EntryStatus.CLAWED_BACK)
        .values_list("accrued_at", "amount_fen")
    ):
        rows[accrued.astimezone(domain.BEIJING).date()]["commission_fen"] += amount
    return [{"date": day, **values} for day, values in rows.items()]


def sales_page(*, agent: Agent, limit: int | None, after: str | None) -> Page:
    """The agent's own sales, newest first, each with the order masked and what it earned."""
    page = paginate(
        Sale.objects.filter(agent=agent), order=("-created_at", "-id"), limit=limit, after=after
    )
    refs = [s.order_ref for s in page.items]
    earned = dict(
        Entry.objects.filter(sale__order_ref__in=refs, agent=agent)
        .exclude(status=EntryStatus.CLAWED_BACK)
        .values("sale__order_ref")
        .annotate(s=Sum("amount_fen"))
        .values_list("sale__order_ref", "s")
    )
    items = []
    for sale in page.items:
        kyc = kyc_queries.record_for(order_ref=sale.order_ref)
        items.append(
            {
                "order_ref": sale.order_ref,
                "created_at": sale.created_at,
                "plan_code": sale.plan_code,
                "plan_name": sale.plan_name or sale.plan_code,
                "state": sale.order_state,
                "state_label": sale.order_state_label,
                "msisdn_masked": pii.mask_phone(sale.msisdn),
                "customer_masked": kyc.name_masked if kyc else "",
                "status": sale.status,
                "activated_at": sale.activated_at,
                "fraud_hold": sale.fraud_hold,
                "earned_fen": int(earned.get(sale.order_ref) or 0),
            }
        )
    return Page(items=items, next=page.next)


def entries_page(
    *, agent: Agent, limit: int | None, after: str | None, status: str | None = None
) -> Page:
    """The agent's commission entries (their ledger), newest first."""
    rows = Entry.objects.filter(agent=agent).select_related("sale")
    if status:
        rows = rows.filter(status=status)
    return paginate(rows, order=("-accrued_at", "-id"), limit=limit, after=after)


def withdrawals_page(*, agent: Agent, limit: int | None, after: str | None) -> Page:
    return paginate(
        Withdrawal.objects.filter(agent=agent),
        order=("-requested_at", "-id"),
        limit=limit,
        after=after,
    )


def team(*, agent: Agent, now: dt.datetime) -> list[dict]:
    """A level-1 agent's sub-agents (names masked): sales this month and the team reward
    they earned the agent. Sub-agents have no team."""
    month_start = _today_start(now).replace(day=1)
    out = []
    for child in Agent.objects.filter(parent=agent).order_by("-applied_at", "-id"):
        sales = Sale.objects.filter(agent=child)
        override = Entry.objects.filter(
            agent=agent, sale__agent=child, kind=domain.Kind.OVERRIDE
        ).exclude(status=EntryStatus.CLAWED_BACK)
        out.append(
            {
                "code": child.code or "",
                "name_masked": pii.mask_name(child.real_name),
                "status": child.status,
                "status_label": domain.AGENT_LABELS[AgentStatus(child.status)],
                "tier": child.tier,
                "joined_at": child.decided_at or child.applied_at,
                "sales_month": sales.filter(created_at__gte=month_start).count(),
                "activated_total": sales.filter(activated_at__isnull=False).count(),
                "override_fen": int(override.aggregate(s=Sum("amount_fen"))["s"] or 0),
            }
        )
    return out


@dataclass(frozen=True)
class ShopProduct:
    plan_code: str
    plan_name: str
    carrier_name: str
    monthly_fee_fen: int
    first_topup_fen: int
    margin_fen: int
    max_markup_fen: int
    markup_fen: int  # the agent's current markup (0 when not in the shop)
    in_shop: bool
    allowed: bool
    why_not: str


def shop_products(*, agent: Agent) -> list[ShopProduct]:
    """Every distribution product with whether the agent may sell it and their markup."""
    items = {i.plan_code: i for i in ShopItem.objects.filter(agent=agent)}
    products = list(Product.objects.filter(enabled=True).order_by("sort", "id"))
    plans = {
        p.code: p for p in catalog_queries.plans_by_codes(codes=[p.plan_code for p in products])
    }
    out = []
    for product in products:
        plan = plans.get(product.plan_code)
        if plan is None or plan.status != "ON_SALE":
            continue
        allowed, why = operations.may_sell(agent, product)
        item = items.get(product.plan_code)
        out.append(
            ShopProduct(
                plan_code=plan.code,
                plan_name=plan.name,
                carrier_name=plan.carrier.name,
                monthly_fee_fen=plan.monthly_fee_fen,
                first_topup_fen=plan.first_topup_fen,
                margin_fen=product.margin_fen,
                max_markup_fen=min(product.max_markup_fen, domain.MARKUP_CEILING_FEN),
                markup_fen=item.markup_fen if item else 0,
                in_shop=item is not None,
                allowed=allowed,
                why_not=why,
            )
        )
    return out


def approved_by_code(code: str) -> Agent | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    return Agent.objects.filter(code=code, status=AgentStatus.APPROVED).first()


@dataclass(frozen=True)
class PublicShop:
    code: str
    name: str
    intro: str
    agent_masked: str
    sells_vanity: bool
    items: list[dict]


def public_shop(*, code: str) -> PublicShop | None:
    """The shop of an approved agent by code, with the products in its order and their
    prices (the plan's price plus the agent's markup, paid once at checkout); None when the
    code is unknown or the agent is not active."""
    agent = approved_by_code(code)
    if agent is None:
        return None
    items = list(ShopItem.objects.filter(agent=agent).order_by("sort", "id"))
    # Products the agent may no longer sell (a lower tier, a product withdrawn) are hidden.
    products = {p.plan_code: p for p in Product.objects.filter(enabled=True)}
    enabled = {code for code, p in products.items() if operations.may_sell(agent, p)[0]}
    plans = {p.code: p for p in catalog_queries.plans_by_codes(codes=[i.plan_code for i in items])}
    shown = []
    for item in items:
        plan = plans.get(item.plan_code)
        if plan is None or plan.status != "ON_SALE" or item.plan_code not in enabled:
            continue
        shown.append({"plan": plan, "markup_fen": item.markup_fen})
    return PublicShop(
        code=agent.code,
        name=agent.shop_name,
        intro=agent.shop_intro,
        agent_masked=pii.mask_name(agent.real_name),
        sells_vanity=agent.shop_sells_vanity,
        items=shown,
    )


def markup_for(*, agent_code: str, plan_code: str) -> int:
    """The markup an order of this plan through this agent would carry (for checkout pages
    to show the price before the order exists)."""
    agent = approved_by_code(agent_code)
    if agent is None:
        return 0
    item = ShopItem.objects.filter(agent=agent, plan_code=plan_code).first()
    product = Product.objects.filter(plan_code=plan_code, enabled=True).first()
    if item is None or product is None or not operations.may_sell(agent, product)[0]:
        return 0  # what attribute_order will charge: nothing for a product not open to them
    return min(item.markup_fen, product.max_markup_fen)


def materials() -> list[Material]:
    return list(Material.objects.filter(published=True).order_by("sort", "id"))


def courses(*, agent: Agent) -> list[dict]:
    """Published courses with whether the agent passed and their best score."""
    out = []
    for course in Course.objects.filter(published=True).order_by("sort", "id"):
        attempts = QuizAttempt.objects.filter(agent=agent, course=course)
        best = attempts.order_by("-score_percent").values_list("score_percent", flat=True).first()
        out.append(
            {
                "course": course,
                "passed": attempts.filter(passed=True).exists(),
                "best_percent": best,
            }
        )
    return out


def sale_numbers(*, agent: Agent, order_refs: list[str]) -> dict[str, str]:
    """The numbers of the agent's own sales among ``order_refs``: {order ref: msisdn}."""
    rows = Sale.objects.filter(agent=agent, order_ref__in=order_refs)
    return dict(rows.values_list("order_ref", "msisdn"))


def has_products() -> bool:
    """Whether staff have offered any plan to agents yet."""
    return Product.objects.exists()


def staff_queues() -> dict[str, int]:
    """What waits for staff in distribution: agent applications, withdrawals to approve and
    being paid, fraud flags not decided yet (the staff console's landing page)."""
    withdrawals = dict(
        Withdrawal.objects.filter(status__in=[WithdrawalStatus.REQUESTED, WithdrawalStatus.PAYING])
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "agents_pending": Agent.objects.filter(status=AgentStatus.PENDING).count(),
        "withdrawals_requested": withdrawals.get(WithdrawalStatus.REQUESTED, 0),
        "withdrawals_paying": withdrawals.get(WithdrawalStatus.PAYING, 0),
        "fraud_open": FraudFlag.objects.filter(status=FraudStatus.OPEN).count(),
    }
