"""The confirmation sheet of a risky line action (停机保号, 补换卡, 销户): what will happen, a
fresh SMS code to the account's phone (获取验证码, then a 60 s countdown), 确认 / 取消.

With htmx the sheet opens over the 办理 page (``#sheet``) and answers there; without script
the same form is a page of its own. The action's POST (``web.line.actions``) verifies the code
into a proof (``accounts.stepup``) and hands it to the use case, which spends it in its own
transaction: a refused action (wrong ID number, say) leaves it unspent, and the sheet carries
it to the next try instead of asking for another code.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from haoka.accounts import stepup
from haoka.accounts.domain import StepUpAction
from haoka.charging import queries as charging_queries
from haoka.core import clock
from haoka.core.clientip import client_ip
from haoka.core.errors import HaokaError
from haoka.web.common import error_text, is_htmx, not_found, render_page, yuan
from haoka.web.line import views as pages


@dataclass(frozen=True)
class Sheet:
    """How one action's sheet reads and where its form goes."""

    title: str
    confirm: str
    post_url: str  # the action's URL name
    back_url: str  # 取消 (and after success, unless the action says otherwise)


SHEETS = {
    StepUpAction.SUSPEND: Sheet("停机保号", "确认停机", "line_suspend", "line_manage"),
    StepUpAction.SIM_REPLACEMENT: Sheet("补换卡", "确认补换", "line_sim", "line_manage"),
    StepUpAction.CLOSURE: Sheet("注销号码", "确认销户", "line_close", "line_close"),
}
#: What a page's form carries back into the sheet after a refusal (never the ID number).
KEPT_FIELDS = ("name", "confirm")
#: Errors after which the proof is of no more use (the sheet asks for a new code).
_PROOF_ERRORS = (stepup.StepUpRequired, stepup.StepUpCodeInvalid)


def sheet_response(request, line, action, *, error=None, proof="", sent=None, status=200):
    """The sheet (htmx) or its page: the action's consequences, its fields, the code step."""
    sheet = SHEETS[action]
    context = {
        **pages.base_context(line, "manage"),
        "action": action.value,
        "sheet": sheet,
        "post_url": pages.line_url(sheet.post_url, line.msisdn),
        "back_url": pages.line_url(sheet.back_url, line.msisdn),
        "code_url": pages.line_url("line_step_up_code", line.msisdn, action.value),
        "keep_fee": yuan(pages.keep_number_fee_fen()),
        "wallet": charging_queries.wallet_of(line_id=line.pk),
        "form": {k: request.POST.get(k, "") for k in KEPT_FIELDS},
        "error": error,
        "proof": proof,
        "sent": sent,
        "wait": sent.resend_after_seconds
        if sent
        else stepup.resend_wait_seconds(user_id=request.user.pk, now=clock.now()),
    }
    response = render_page(
        request, "web/lines/confirm.html", "web/lines/_confirm_sheet.html", context, status=status
    )
    if proof:
        response["Cache-Control"] = "no-store"  # the proof stays in this one sheet
    return response


def _action(value: str) -> StepUpAction | None:
    try:
        chosen = StepUpAction(value)
    except ValueError:
        return None
    return chosen if chosen in SHEETS else None


@require_safe
@pages.owned_line()
def confirm_sheet(request, line, action: str):
    """GET the sheet of ``action`` on the line (a page of its own without htmx)."""
    chosen = _action(action)
    if chosen is None or not pages.base_context(line, "manage")["live"]:
        return not_found(request, "页面不存在")
    return sheet_response(request, line, chosen)


@require_POST
@pages.owned_line(back="line_manage")
def send_code(request, line, action: str):
    """获取验证码: a code for this action on this line to the account's phone. htmx swaps the
    code step only (what was typed stays); without script the whole form comes back."""
    chosen = _action(action)
    if chosen is None:
        return not_found(request, "页面不存在")
    context = {"code_url": pages.line_url("line_step_up_code", line.msisdn, chosen.value)}
    try:
        sent = stepup.send_code(
            user_id=request.user.pk,
            action=chosen,
            target=line.msisdn,
            client_ip=client_ip(request),
            now=clock.now(),
        )
    except HaokaError as exc:
        wait = exc.details.get("retry_after_seconds") or 0
        if not is_htmx(request):
            return sheet_response(request, line, chosen, error=error_text(exc), status=exc.status)
        context.update(code_error=error_text(exc), wait=wait)
        return render(request, "web/lines/_step_up_code.html", context, status=exc.status)
    if not is_htmx(request):
        return sheet_response(request, line, chosen, sent=sent)
    context.update(sent=sent, wait=sent.resend_after_seconds)
    return render(request, "web/lines/_step_up_code.html", context)


def confirmed(request, line, action: StepUpAction, run, *, done_url: str):
    """POST of a risky action: the code typed (or the proof a refused try left) becomes a
    proof, ``run(proof)`` acts and returns the message for ``done_url``; any refusal shows
    in the sheet with what was typed."""
    proof = request.POST.get("step_up", "").strip()
    code = request.POST.get("code", "").strip()
    try:
        # No code at all: the use case still says first what stops it (state, contract...),
        # then StepUpRequired, having changed nothing.
        if not proof and code:
            proof = stepup.verify_code(
                user_id=request.user.pk,
                action=action,
                target=line.msisdn,
                code=code,
                now=clock.now(),
            ).proof
        note = run(proof)
    except HaokaError as exc:
        kept = "" if isinstance(exc, _PROOF_ERRORS) else proof
        return sheet_response(
            request, line, action, error=error_text(exc), proof=kept, status=exc.status
        )
    messages.success(request, note)
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = done_url
        return response
    return redirect(done_url)
