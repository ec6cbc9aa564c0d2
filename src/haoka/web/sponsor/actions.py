"""What the sponsor console's forms do: create a campaign, pause / resume / end it or change
its budget, create and revoke API tokens, top up the wallet (to the gateway's cashier).

Each POST makes one call into the sponsors use cases, acting for the caller's own sponsor
(another sponsor's campaign or token is a 404). Success redirects with a message; a named
error is shown in Chinese on the page the form is on, with what was typed."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from haoka.catalog import queries as catalog_queries
from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.core.money import format_fen, yuan_to_fen
from haoka.sponsors import campaign_edit, campaigns, console, operations, wallet
from haoka.web.common import PAYMENT_METHODS, error_text, not_found
from haoka.web.sponsor import presenters as sp
from haoka.web.sponsor import views as pages

_GET_POST = require_http_methods(["GET", "POST"])
FIELDS = ("name", "budget", "valid_from", "valid_to", "cap_mb", "price", "eligibility",
          "eligibility_list")  # fmt: skip


def _actor(request) -> str:
    return f"user:{request.user.pk}"


def _campaign_form(request, sponsor, *, form: dict, error=None, status=200):
    context = {
        **pages.base_context(sponsor, "sponsor_campaign_new"),
        "form": form,
        "apps": catalog_queries.app_rating_groups(),
        "eligibility_choices": sp.ELIGIBILITY_CHOICES,
        "error": error,
        **pages.wallet_figures(sponsor),
    }
    return render(request, "web/sponsor/campaign_form.html", context, status=status)


@_GET_POST
@pages.sponsor_page
def campaign_new(request, sponsor):
    """新建定向免流活动: the budget leaves the wallet for the campaign when it is created."""
    if request.method == "GET":
        today = clock.beijing_date(clock.now())
        form = {**sp.FORM_DEFAULTS, "valid_from": today.isoformat(),
                "valid_to": today.replace(year=today.year + 1).isoformat()}  # fmt: skip
        return _campaign_form(request, sponsor, form=form)
    form = {k: request.POST.get(k, "") for k in FIELDS}
    form["apps"] = request.POST.getlist("apps")
    try:
        campaign = campaigns.create(
            sponsor=sponsor, actor=_actor(request), now=clock.now(), **sp.campaign_args(form)
        )
    except HaokaError as exc:
        return _campaign_form(request, sponsor, form=form, error=error_text(exc), status=exc.status)
    messages.success(
        request, f"活动“{campaign.name}”已创建，预算 {format_fen(campaign.budget_fen)}"
    )
    return redirect("web:sponsor_campaign", campaign.campaign_id)


@require_POST
@pages.sponsor_page
def campaign_change(request, sponsor, campaign_id: str):
    """暂停 / 恢复 / 结束, or a new budget (yuan)."""
    action = request.POST.get("action", "")
    try:
        budget = None
        if action == "budget":
            budget, action = yuan_to_fen(request.POST.get("budget", "").strip() or "0"), None
        campaigns.change(
            sponsor=sponsor, campaign_id=campaign_id, action=action or None, budget_fen=budget,
            actor=_actor(request), now=clock.now(),
        )  # fmt: skip
    except campaigns.CampaignNotFound as exc:
        return not_found(request, exc.message)
    except HaokaError as exc:
        return pages.campaign_response(
            request, sponsor, campaign_id, error=error_text(exc), status=exc.status
        )
    done = {"pause": "已暂停", "resume": "已恢复", "end": "已结束"}.get(action or "", "预算已调整")
    messages.success(request, f"活动{done}")
    return redirect("web:sponsor_campaign", campaign_id)


@require_POST
@pages.sponsor_page
def campaign_rename(request, sponsor, campaign_id: str):
    """修改活动: the name and the last day (Beijing, included)."""
    try:
        campaign_edit.edit(
            sponsor=sponsor, campaign_id=campaign_id, name=request.POST.get("name", ""),
            valid_to=sp.end_of(request.POST.get("valid_to", "")), actor=_actor(request),
            now=clock.now(),
        )  # fmt: skip
    except campaigns.CampaignNotFound as exc:
        return not_found(request, exc.message)
    except HaokaError as exc:
        return pages.campaign_response(
            request, sponsor, campaign_id, error=error_text(exc), status=exc.status
        )
    messages.success(request, "活动已修改")
    return redirect("web:sponsor_campaign", campaign_id)


# ---------------------------------------------------------------- API tokens


def _tokens_page(request, sponsor, *, created=None, error=None, status=200):
    context = {
        **pages.base_context(sponsor, "sponsor_tokens"),
        "tokens": operations.tokens(sponsor=sponsor),
        "created": created,
        "error": error,
    }
    response = render(request, "web/sponsor/tokens.html", context, status=status)
    if created:
        response["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@_GET_POST
@pages.sponsor_page
def tokens(request, sponsor):
    """API 令牌: GET lists them (prefix only); POST creates one and shows it once."""
    if request.method == "GET":
        return _tokens_page(request, sponsor)
    try:
        created = operations.create_token(
            sponsor=sponsor, user_id=request.user.pk, name=request.POST.get("name", "").strip(),
            now=clock.now(),
        )  # fmt: skip
    except HaokaError as exc:
        return _tokens_page(request, sponsor, error=error_text(exc), status=exc.status)
    return _tokens_page(request, sponsor, created=created)


@require_POST
@pages.sponsor_page
def token_revoke(request, sponsor, token_id: int):
    try:
        operations.revoke_token(
            sponsor=sponsor, token_id=token_id, user_id=request.user.pk, now=clock.now()
        )
    except HaokaError as exc:
        return not_found(request, exc.message)
    messages.success(request, "令牌已吊销")
    return redirect("web:sponsor_tokens")


# ---------------------------------------------------------------- wallet


def _wallet_page(request, sponsor, *, form=None, error=None, status=200):
    today = clock.beijing_date(clock.now())
    context = {
        **pages.base_context(sponsor, "sponsor_wallet"),
        **pages.wallet_figures(sponsor),
        "low_balance_fen": sponsor.low_balance_fen,
        "topups": console.topups_of(sponsor=sponsor),
        "methods": PAYMENT_METHODS,
        "form": form or {"amount": "1000", "method": "wechat"},
        "months": [f"{today:%Y-%m}", f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"],
        "error": error,
    }
    return render(request, "web/sponsor/wallet.html", context, status=status)


@_GET_POST
@pages.sponsor_page
def wallet_page(request, sponsor):
    """钱包: balance, held by campaigns, top-ups, statements; POST starts a top-up and sends
    the browser to the gateway's cashier."""
    if request.method == "GET":
        return _wallet_page(request, sponsor)
    form = {k: request.POST.get(k, "") for k in ("amount", "method")}
    try:
        topup = wallet.start_topup(
            sponsor=sponsor, user_id=request.user.pk,
            amount_fen=yuan_to_fen(form["amount"].strip().removeprefix("¥") or "0"),
            method=form["method"], now=clock.now(),
        )  # fmt: skip
    except HaokaError as exc:
        return _wallet_page(request, sponsor, form=form, error=error_text(exc), status=exc.status)
    if not topup.pay_url:
        messages.info(request, f"充值 {format_fen(topup.amount_fen)} 已发起")
        return redirect(reverse("web:sponsor_wallet"))
    return redirect(topup.pay_url)
