"""Agent pages (代理中心): the console with today's sales, the funnel, balances, a 30-day chart
and the credit score; the agent's orders, commission ledger, team, shop settings, share poster,
materials and courses. The public shop ``/s/<code>`` that consumers see is in
:mod:`haoka.web.shop.agent_shop`.

Only approved (or frozen: they may still look) agents see the console; a visitor logs in first,
a consumer is sent to apply (or to their application). Every read is scoped to the caller's own
agent record, with customers masked. The forms post to :mod:`haoka.web.agent.actions`.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from haoka.core import clock, links, pii
from haoka.core.errors import HaokaError
from haoka.distribution import domain, poster, training
from haoka.distribution import operations as dist_operations
from haoka.distribution import queries as dist_queries
from haoka.distribution.domain import AgentStatus
from haoka.web.agent import presenters as ap
from haoka.web.common import error_text, login_redirect, not_found

PAGE_SIZE = 20

# ---------------------------------------------------------------- access


def agent_page(view):
    """The view gets the caller's approved or frozen agent record. Visitors log in first;
    a consumer goes to apply, an applicant to their application's status."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return login_redirect(request, request.get_full_path())
        try:
            agent = dist_queries.require_agent(user_id=request.user.pk)
        except dist_queries.NotAnAgent:
            if dist_queries.agent_of(user_id=request.user.pk) is None:
                return redirect("web:agent_apply")
            return redirect("web:agent_application")
        return view(request, agent, *args, **kwargs)

    return wrapped


def base_context(agent, tab: str) -> dict:
    return {
        "nav": "me",
        "tab": tab,
        "agent": agent,
        "frozen": agent.status == AgentStatus.FROZEN,
        "freeze": dist_queries.freeze(agent=agent),
        "sections": ap.SECTIONS,
        "agent_name": _mask(agent.real_name),
        "tier_label": domain.TIER_LABELS[domain.Tier(agent.tier)],
    }


def _mask(name: str) -> str:
    return pii.mask_name(name or "")


def shop_url(request, agent) -> str:
    return links.absolute_url(reverse("web:shop", args=[agent.code]))


def invite_url(request, agent) -> str:
    query = urlencode({"invite": agent.invite_code or ""})
    return links.absolute_url(f"{reverse('web:agent_apply')}?{query}")


# ---------------------------------------------------------------- application status


@require_safe
def application(request):
    """我的代理申请: PENDING (waiting for review) or REJECTED (why, and apply again)."""
    if not request.user.is_authenticated:
        return login_redirect(request, reverse("web:agent_application"))
    agent = dist_queries.agent_of(user_id=request.user.pk)
    if agent is None:
        return redirect("web:agent_apply")
    if agent.status in (AgentStatus.APPROVED, AgentStatus.FROZEN):
        return redirect("web:agent_console")
    context = {
        "nav": "me",
        "agent": agent,
        "status_label": domain.AGENT_LABELS[AgentStatus(agent.status)],
        "name_masked": _mask(agent.real_name),
        "payee": ap.payee_text(agent),
        "parent_code": agent.parent.code if agent.parent else "",
    }
    return render(request, "web/agent/application.html", context)


# ---------------------------------------------------------------- console


@require_safe
@agent_page
def console(request, agent):
    """今日销售, the funnel, balances, 30 days of sales and commission, the credit score."""
    now = clock.now()
    overview = dist_queries.overview(agent=agent, now=now)
    context = {
        **base_context(agent, "agent_console"),
        "o": overview,
        "funnel": ap.funnel(overview.funnel),
        "chart": ap.chart(dist_queries.daily_series(agent=agent, now=now)),
        "credit": ap.credit(agent),
        "withdraw": ap.withdrawable(
            withdrawable_fen=overview.withdrawable_fen, frozen=agent.status == AgentStatus.FROZEN
        ),
        "shop_url": shop_url(request, agent),
    }
    return render(request, "web/agent/console.html", context)


def _more_url(name: str, after: str | None, **query) -> str:
    if not after:
        return ""
    return f"{reverse(f'web:{name}')}?{urlencode({**query, 'after': after})}"


@require_safe
@agent_page
def orders(request, agent):
    """我的订单: the agent's own sales, customers masked, what each earned."""
    context = {**base_context(agent, "agent_orders"), "rows": [], "more_url": "", "error": None}
    try:
        page = dist_queries.sales_page(
            agent=agent, limit=PAGE_SIZE, after=request.GET.get("after") or None
        )
    except HaokaError as exc:
        context["error"] = error_text(exc)
        return render(request, "web/agent/orders.html", context, status=exc.status)
    numbers = ap.masked_numbers(agent=agent, refs=[item["order_ref"] for item in page.items])
    context.update(
        rows=ap.sale_rows(page.items, masked_numbers=numbers),
        more_url=_more_url("agent_orders", page.next),
    )
    return render(request, "web/agent/orders.html", context)


@require_safe
@agent_page
def ledger(request, agent):
    """佣金明细 with tabs 全部 / 待结算 / 已结算 / 可提现 / 已追回."""
    status = request.GET.get("status", "")
    if status not in {value for value, _ in ap.LEDGER_TABS}:
        status = ""
    context = {
        **base_context(agent, "agent_ledger"),
        "status": status,
        "tabs": ap.LEDGER_TABS,
        "balances": dist_queries.overview(agent=agent, now=clock.now()),
        "rows": [],
        "more_url": "",
        "error": None,
    }
    try:
        page = dist_queries.entries_page(
            agent=agent,
            limit=PAGE_SIZE,
            after=request.GET.get("after") or None,
            status=status or None,
        )
    except HaokaError as exc:
        context["error"] = error_text(exc)
        return render(request, "web/agent/ledger.html", context, status=exc.status)
    extra = {"status": status} if status else {}
    context.update(
        rows=ap.entry_rows(page.items), more_url=_more_url("agent_ledger", page.next, **extra)
    )
    return render(request, "web/agent/ledger.html", context)


def withdrawals_response(request, agent, *, error=None, amount="", status=200):
    """提现: the withdrawable balance, the form (fee and minimum), the history."""
    balances = dist_queries.overview(agent=agent, now=clock.now())
    page = dist_queries.withdrawals_page(agent=agent, limit=PAGE_SIZE, after=None)
    context = {
        **base_context(agent, "agent_withdrawals"),
        "balances": balances,
        "withdraw": ap.withdrawable(
            withdrawable_fen=balances.withdrawable_fen, frozen=agent.status == AgentStatus.FROZEN
        ),
        "rows": ap.withdrawal_rows(page.items),
        "open": any(w.status in domain.WITHDRAWAL_OPEN for w in page.items),
        "payee": ap.payee_text(agent),
        "fee_rule": ap.fee_rule_text(),
        "example": ap.fee_example(balances.withdrawable_fen),
        "min_fen": domain.MIN_WITHDRAWAL_FEN,
        "fee_permille": domain.WITHDRAWAL_FEE_PERMILLE,
        "min_fee_fen": domain.MIN_WITHDRAWAL_FEE_FEN,
        "error": error,
        "amount": amount,
    }
    return render(request, "web/agent/withdrawals.html", context, status=status)


@require_safe
@agent_page
def team(request, agent):
    """我的团队: the invite code and link, sub-agents (masked) and their team reward; a
    sub-agent reads why they cannot recruit."""
    context = {**base_context(agent, "agent_team"), "members": [], "invite_url": ""}
    if agent.level == 1:
        context.update(
            members=dist_queries.team(agent=agent, now=clock.now()),
            invite_url=invite_url(request, agent),
        )
    return render(request, "web/agent/team.html", context)


def shop_response(request, agent, *, error=None, form=None, status=200):
    """我的店铺: name, intro, products with the allowed markup (and why some are locked)."""
    products = dist_queries.shop_products(agent=agent)
    context = {
        **base_context(agent, "agent_shop"),
        "rows": ap.shop_rows(products, form=form),
        "shop_name": form["shop_name"] if form else agent.shop_name,
        "shop_intro": form["shop_intro"] if form else agent.shop_intro,
        "sells_vanity": form["sells_vanity"] if form else agent.shop_sells_vanity,
        "vanity_allowed": dist_operations.may_sell_vanity(agent),
        "shop_url": shop_url(request, agent),
        "ceiling_fen": domain.MARKUP_CEILING_FEN,
        "error": error,
    }
    return render(request, "web/agent/shop.html", context, status=status)


@require_safe
@agent_page
def poster_page(request, agent):
    """分享海报: the poster image and its download."""
    context = {**base_context(agent, "agent_poster"), "shop_url": shop_url(request, agent)}
    return render(request, "web/agent/poster.html", context)


@require_safe
@agent_page
def poster_png(request, agent):
    """The poster: the shop's QR code (its absolute URL), products, 推荐人 masked."""
    shop = dist_queries.public_shop(code=agent.code)
    items = shop.items if shop else []
    image = poster.render_poster(
        shop_url=shop_url(request, agent),
        shop_name=agent.shop_name or "号卡小店",
        agent_label=f"推荐人：{_mask(agent.real_name)}",
        headline=agent.shop_intro or ap.POSTER_HEADLINE,
        products=ap.poster_products(items),
    )
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, max-age=60"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="haoka-poster-{agent.code}.png"'
    return response


@require_safe
@agent_page
def materials(request, agent):
    """推广素材: copy texts (one tap to copy) and poster ideas."""
    items = dist_queries.materials()
    context = {
        **base_context(agent, "agent_materials"),
        "copies": [m for m in items if m.kind == "COPY"],
        "posters": [m for m in items if m.kind == "POSTER"],
        "shop_url": shop_url(request, agent),
    }
    return render(request, "web/agent/materials.html", context)


@require_safe
@agent_page
def courses(request, agent):
    """培训课程: each published course with whether the agent passed and the best score."""
    context = {**base_context(agent, "agent_courses"), "rows": dist_queries.courses(agent=agent)}
    return render(request, "web/agent/courses.html", context)


def course_response(request, agent, code: str, *, error=None, answers=None, status=200):
    """A course: its content and the quiz (the answers the form sent back after an error)."""
    try:
        course = training.course_view(course_code=code)
    except HaokaError as exc:
        return not_found(request, exc.message)
    mine = next((r for r in dist_queries.courses(agent=agent) if r["course"].code == code), None)
    answers = answers or {}
    questions = [
        {**q, "number": n, "chosen": answers.get(q["id"])}
        for n, q in enumerate(course["questions"], start=1)
    ]
    context = {
        **base_context(agent, "agent_courses"),
        "course": course,
        "paragraphs": [p for p in course["content"].split("\n\n") if p.strip()],
        "questions": questions,
        "passed": bool(mine and mine["passed"]),
        "best_percent": mine["best_percent"] if mine else None,
        "error": error,
    }
    return render(request, "web/agent/course.html", context, status=status)
