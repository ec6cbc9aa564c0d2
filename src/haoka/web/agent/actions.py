"""What the agent pages' forms do: apply to become an agent, withdraw commission, save the
shop, take a course's quiz.

Each POST makes one call into distribution's use cases. Success redirects (with a message) so
a reload repeats nothing; a named error is shown, in Chinese, on the page the form is on, with
what was typed (never the ID number) — the use case changed nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from haoka.catalog.domain import PROVINCES
from haoka.core import clock
from haoka.core.errors import HaokaError, ValidationError
from haoka.core.money import format_fen, yuan_to_fen
from haoka.distribution import domain, training, withdrawals
from haoka.distribution import operations as dist_operations
from haoka.distribution import queries as dist_queries
from haoka.distribution.domain import AgentStatus
from haoka.web.agent import views as pages
from haoka.web.common import error_text, login_redirect
from haoka.web.shop import agent_shop

_GET_POST = require_http_methods(["GET", "POST"])
APPLY_FIELDS = ("real_name", "payee_channel", "payee_account", "payee_name", "invite_code")
ADDRESS_FIELDS = ("province", "city", "district", "detail")


def _yuan(text: str, what: str) -> int:
    """Yuan typed in a form -> fen. Raises InvalidAmount, ValidationError (empty)."""
    text = (text or "").strip().removeprefix("¥").strip()
    if not text:
        raise ValidationError(f"请填写{what}", field=what)
    return yuan_to_fen(text)


# ---------------------------------------------------------------- 申请成为代理


def _apply_page(request, *, form: dict, error=None, previous=None, status=200):
    context = {
        "nav": "me",
        "form": form,
        "error": error,
        "previous": previous,  # a rejected application: why
        "channels": domain.PAYEE_CHANNELS.items(),
        "provinces": PROVINCES,
    }
    return render(request, "web/agent/apply.html", context, status=status)


@_GET_POST
def apply(request):
    """申请成为代理: real name and ID (verified), payee account in that name, optional invite
    code (a level-1 agent's: the applicant becomes their sub-agent) and address."""
    if not request.user.is_authenticated:
        return login_redirect(request, request.get_full_path())
    existing = dist_queries.agent_of(user_id=request.user.pk)
    if existing is not None and existing.status != AgentStatus.REJECTED:
        if existing.status == AgentStatus.PENDING:
            return redirect("web:agent_application")
        return redirect("web:agent_console")
    if request.method == "GET":
        form = {"payee_channel": "ALIPAY", "invite_code": request.GET.get("invite", "").strip()}
        return _apply_page(request, form=form, previous=existing)
    form = {k: request.POST.get(k, "").strip() for k in (*APPLY_FIELDS, *ADDRESS_FIELDS)}
    address = {k: form[k] for k in ADDRESS_FIELDS}
    try:
        dist_operations.apply(
            user_id=request.user.pk,
            real_name=form["real_name"],
            id_number=request.POST.get("id_number", "").strip(),
            payee_channel=form["payee_channel"],
            payee_account=form["payee_account"],
            payee_name=form["payee_name"],
            address=address if any(address.values()) else None,
            invite_code=form["invite_code"],
            device_id=agent_shop.device_id(request),
            now=clock.now(),
        )
    except HaokaError as exc:
        response = _apply_page(
            request, form=form, error=error_text(exc), previous=existing, status=exc.status
        )
        agent_shop.keep_device(request, response)
        return response
    messages.success(request, "申请已提交，我们会尽快完成审核，审核结果将通过短信和消息中心通知您")
    response = redirect("web:agent_application")
    agent_shop.keep_device(request, response)
    return response


# ---------------------------------------------------------------- 提现


@_GET_POST
@pages.agent_page
def withdraw(request, agent):
    """提现: GET the page; POST asks to withdraw the amount (yuan) to the payee account."""
    if request.method == "GET":
        return pages.withdrawals_response(request, agent)
    amount = request.POST.get("amount", "").strip()
    try:
        done = withdrawals.request(
            agent_id=agent.pk, amount_fen=_yuan(amount, "提现金额"), now=clock.now()
        )
    except HaokaError as exc:
        return pages.withdrawals_response(
            request, agent, error=error_text(exc), amount=amount, status=exc.status
        )
    messages.success(
        request,
        f"提现申请已提交：{format_fen(done.amount_fen)}，手续费 {format_fen(done.fee_fen)}，"
        f"审核通过后 {format_fen(done.net_fen)} 将打入您的收款账户",
    )
    return redirect("web:agent_withdrawals")


# ---------------------------------------------------------------- 我的店铺


def _shop_form(request) -> dict:
    chosen = request.POST.getlist("items")
    return {
        "shop_name": request.POST.get("shop_name", "").strip(),
        "shop_intro": request.POST.get("shop_intro", "").strip(),
        "sells_vanity": request.POST.get("sells_vanity") in ("1", "on", "true"),
        "items": chosen,
        "markups": {
            key.removeprefix("markup_"): value.strip()
            for key, value in request.POST.items()
            if key.startswith("markup_")
        },
    }


def _items(form: dict) -> list[tuple[str, int]]:
    """(plan code, markup in fen) of the products ticked, in the page's order. Raises
    InvalidAmount."""
    items = []
    for code in form["items"]:
        text = form["markups"].get(code, "") or "0"
        try:
            items.append((code, _yuan(text, "加价")))
        except HaokaError as exc:
            raise type(exc)(f"加价金额有误：{exc.message}", plan_code=code) from None
    return items


@_GET_POST
@pages.agent_page
def shop_settings(request, agent):
    """我的店铺: GET the settings; POST replaces them (name, intro, products, markups,
    vanity numbers)."""
    if request.method == "GET":
        return pages.shop_response(request, agent)
    form = _shop_form(request)
    try:
        dist_operations.set_shop(
            agent_id=agent.pk,
            shop_name=form["shop_name"],
            shop_intro=form["shop_intro"],
            items=_items(form),
            sells_vanity=form["sells_vanity"],
        )
    except HaokaError as exc:
        return pages.shop_response(
            request, agent, error=error_text(exc), form=form, status=exc.status
        )
    messages.success(request, "店铺设置已保存，分享链接即可开始销售")
    return redirect("web:agent_shop")


# ---------------------------------------------------------------- 课程考试


def _answers(request, questions: list[dict]) -> tuple[list[int], dict[int, int]]:
    """The option chosen per question (in order); a question left blank raises."""
    chosen: dict[int, int] = {}
    for q in questions:
        value = request.POST.get(f"q_{q['id']}", "")
        if value.isdigit():
            chosen[q["id"]] = int(value)
    missing = [n for n, q in enumerate(questions, start=1) if q["id"] not in chosen]
    if missing:
        raise ValidationError(
            "请回答全部题目（未作答：第 " + "、".join(str(n) for n in missing) + " 题）"
        )
    return [chosen[q["id"]] for q in questions], chosen


@_GET_POST
@pages.agent_page
def course(request, agent, code: str):
    """A course: GET the content and quiz; POST grades the answers."""
    if request.method == "GET":
        return pages.course_response(request, agent, code)
    chosen: dict[int, int] = {}
    try:
        questions = training.course_view(course_code=code)["questions"]
        answers, chosen = _answers(request, questions)
        attempt = training.submit_quiz(
            agent_id=agent.pk, course_code=code, answers=answers, now=clock.now()
        )
    except HaokaError as exc:
        return pages.course_response(
            request, agent, code, error=error_text(exc), answers=chosen, status=exc.status
        )
    if attempt.passed:
        messages.success(request, f"恭喜，考试通过！得分 {attempt.score_percent} 分")
    else:
        messages.warning(
            request,
            f"未通过：得分 {attempt.score_percent} 分，请复习课程内容后再试",
        )
    return redirect("web:agent_course", code=code)
