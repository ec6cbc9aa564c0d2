"""What the line pages' forms do: top up (to the gateway's cashier), auto top-up, buy a pack,
change plan, 停机保号 / 复机, 补换卡, 携号转网 code, 销户. 停机保号, 补换卡 and 销户 come from
their confirmation sheet with a fresh SMS code (``web.line.stepup``).

Each POST makes one call into the lines or charging use cases. Success redirects (with a
message) so a reload repeats nothing; an operation's named error is shown, in Chinese, on
the page the form is on, with what was typed — the operation changed nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from haoka.accounts.domain import StepUpAction
from haoka.charging import closure, packs, plans, topups
from haoka.charging import queries as charging_queries
from haoka.core import clock
from haoka.core.errors import HaokaError, ValidationError
from haoka.core.money import format_fen, yuan_to_fen
from haoka.lines import exits, lifecycle
from haoka.lines.domain import PlanTiming
from haoka.web.common import error_text
from haoka.web.line import presenters as lp
from haoka.web.line import stepup as sheets
from haoka.web.line import views as pages
from haoka.web.templatetags.haoka import spaced_msisdn

_GET_POST = require_http_methods(["GET", "POST"])


def _yuan(text: str, what: str) -> int:
    """Yuan typed in a form -> fen. Raises InvalidAmount, ValidationError (empty)."""
    text = (text or "").strip().removeprefix("¥").strip()
    if not text:
        raise ValidationError(f"请填写{what}", field=what)
    return yuan_to_fen(text)


# ---------------------------------------------------------------- 充值


@_GET_POST
@pages.owned_line()
def topup(request, line):
    """充值: GET the page; POST starts the top-up (as the API does) and sends the browser to
    the gateway's cashier."""
    if request.method == "GET":
        return pages.topup_response(request, line)
    form = {k: request.POST.get(k, "") for k in ("amount", "custom", "method")}
    try:
        amount = _yuan(form["custom"] or form["amount"], "充值金额")
        started = topups.start_topup(
            line_id=line.pk, amount_fen=amount, method=form["method"], now=clock.now()
        )
    except HaokaError as exc:
        return pages.topup_response(
            request, line, error=error_text(exc), form=form, status=exc.status
        )
    if not started.pay_url:
        messages.info(request, f"充值 {format_fen(started.amount_fen)} 已发起，请稍后查看到账情况")
        return redirect(pages.line_url("line_topup", line.msisdn))
    return redirect(started.pay_url)


@require_POST
@pages.owned_line(back="line_topup")
def auto_topup(request, line):
    """自动充值: on or off, threshold and amount (yuan), method."""
    auto = {
        "enabled": request.POST.get("enabled") in ("1", "on", "true"),
        "threshold": request.POST.get("threshold", ""),
        "amount": request.POST.get("amount", ""),
        "method": request.POST.get("method", ""),
    }
    try:
        setting = topups.set_auto_topup(
            line_id=line.pk,
            enabled=auto["enabled"],
            threshold_fen=_yuan(auto["threshold"], "触发余额"),
            amount_fen=_yuan(auto["amount"], "充值金额"),
            method=auto["method"],
            now=clock.now(),
        )
    except HaokaError as exc:
        return pages.topup_response(
            request, line, auto_error=error_text(exc), form={"auto": auto}, status=exc.status
        )
    if setting.enabled:
        messages.success(
            request,
            f"自动充值已开启：余额低于 {format_fen(setting.threshold_fen)} 时"
            f"发起 {format_fen(setting.amount_fen)} 充值",
        )
    else:
        messages.success(request, "自动充值已关闭")
    return redirect(pages.line_url("line_topup", line.msisdn))


# ---------------------------------------------------------------- 加油包


def _pack_error(exc: HaokaError) -> str:
    if exc.code == "insufficient_balance" and "price" in exc.details:
        return (
            f"余额不足：可用余额 {exc.details['available']}，该加油包需 {exc.details['price']}，"
            "请先充值"
        )
    return error_text(exc)


@_GET_POST
@pages.owned_line()
def pack_shop(request, line):
    """加油包: GET the shop; POST buys one from the balance, then the dashboard shows it."""
    if request.method == "GET":
        return pages.packs_response(request, line)
    try:
        bought = packs.buy(
            line_id=line.pk, pack_code=request.POST.get("pack_code", ""), now=clock.now()
        )
    except HaokaError as exc:
        return pages.packs_response(
            request, line, error=_pack_error(exc), error_code=exc.code, status=exc.status
        )
    note = f"已订购「{bought.pack_name}」，余额扣除 {format_fen(bought.price_fen)}"
    if bought.redeem_code:
        note += "，会员兑换码见加油包页面「我的加油包」"
    messages.success(request, note)
    return redirect(pages.line_url("line", line.msisdn))


# ---------------------------------------------------------------- 办理


def _manage(request, line, section: str, action):
    """Run one lifecycle use case; back to 办理 with its message, or the page with the
    section's error."""
    try:
        note = action()
    except HaokaError as exc:
        form = {
            k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "id_number")
        }
        return pages.manage_response(
            request, line, errors={section: error_text(exc)}, form=form, status=exc.status
        )
    messages.success(request, note)
    return redirect(pages.line_url("line_manage", line.msisdn))


@require_POST
@pages.owned_line(back="line_manage")
def change_plan(request, line):
    """套餐变更: next cycle, or now for an upgrade (this month's difference pro rata)."""

    def change():
        done = plans.change_plan(
            msisdn=line.msisdn,
            caller=pages.caller(request),
            plan_code=request.POST.get("plan_code", ""),
            at_once=request.POST.get("when") == "now",
            now=clock.now(),
        )
        plan = charging_queries.plan_of(code=request.POST.get("plan_code", ""))
        name = plan.name if plan else ""
        if done.timing == PlanTiming.NOW:
            return (
                f"已升级为「{name}」，已从余额扣除本月差价 {format_fen(done.charged_fen)}，"
                "本月额度已按剩余天数补足"
            )
        day = lp.beijing_day(done.effective_at)
        return f"已预约变更为「{name}」，{day:%Y年%m月%d日} 起生效"

    if not request.POST.get("plan_code"):
        return pages.manage_response(
            request, line, errors={"plan": "请选择要变更的套餐"}, status=422
        )
    return _manage(request, line, "plan", change)


@require_POST
@pages.owned_line(back="line_manage")
def cancel_plan_change(request, line):
    def cancel():
        plans.cancel_plan_change(msisdn=line.msisdn, caller=pages.caller(request), now=clock.now())
        return "已取消预约的套餐变更"

    return _manage(request, line, "plan", cancel)


@require_POST
@pages.owned_line(back="line_manage")
def suspend(request, line):
    """停机保号, confirmed in its sheet with an SMS code."""

    def run(proof):
        lifecycle.suspend(
            msisdn=line.msisdn, caller=pages.caller(request), now=clock.now(), step_up=proof
        )
        fee = format_fen(pages.keep_number_fee_fen())
        return f"已停机保号，停机期间每月收取保号费 {fee}，可随时复机"

    manage = pages.line_url("line_manage", line.msisdn)
    return sheets.confirmed(request, line, StepUpAction.SUSPEND, run, done_url=manage)


@require_POST
@pages.owned_line(back="line_manage")
def resume(request, line):
    def run():
        lifecycle.resume(msisdn=line.msisdn, caller=pages.caller(request), now=clock.now())
        return "已复机，号码恢复正常使用"

    return _manage(request, line, "suspend", run)


@require_POST
@pages.owned_line(back="line_manage")
def replace_sim(request, line):
    """补换卡: an SMS code, then the owner's name and ID number again (in the sheet); the old
    card stops working."""

    def run(proof):
        card = lifecycle.replace_sim(
            msisdn=line.msisdn,
            caller=pages.caller(request),
            name=request.POST.get("name", ""),
            id_number=request.POST.get("id_number", ""),
            now=clock.now(),
            step_up=proof,
        )
        return f"补换卡成功：新卡 {lp.masked_iccid(card.iccid)} 已启用，旧卡已失效"

    manage = pages.line_url("line_manage", line.msisdn)
    return sheets.confirmed(request, line, StepUpAction.SIM_REPLACEMENT, run, done_url=manage)


@require_POST
@pages.owned_line(back="line_manage")
def porting_code(request, line):
    """携号转网授权码: shown on the page this once (never stored in clear, never redirected)."""
    try:
        issued = exits.issue_porting_code(
            msisdn=line.msisdn, caller=pages.caller(request), now=clock.now()
        )
    except HaokaError as exc:
        return pages.manage_response(
            request, line, errors={"porting": error_text(exc)}, status=exc.status
        )
    return pages.manage_response(request, issued.line, issued=issued)


# ---------------------------------------------------------------- 销户


@_GET_POST
@pages.owned_line()
def close(request, line):
    """销户: GET what it means; POST (from its sheet: confirmed, with an SMS code) closes the
    line and refunds the balance."""
    if request.method == "GET":
        return pages.close_response(request, line)

    def run(proof):
        done = closure.close_line(
            msisdn=line.msisdn,
            caller=pages.caller(request),
            confirm=request.POST.get("confirm") in ("1", "on", "true"),
            now=clock.now(),
            step_up=proof,
        )
        note = done.summary()
        if done.cooling_until:
            note += f"号码 {spaced_msisdn(done.line.msisdn)} 将冷冻 90 天后再放号。"
        return note

    dashboard = pages.line_url("line", line.msisdn)
    return sheets.confirmed(request, line, StepUpAction.CLOSURE, run, done_url=dashboard)
