"""Sponsor console (后向流量客户中心): campaigns with their budget gauges and a daily chart,
a campaign's page, the lines that opted in (masked), API tokens, the wallet and monthly
statements (page and PDF). The forms post to :mod:`haoka.web.sponsor.actions`.

Only a signed-in member of an APPROVED sponsor gets in (a visitor logs in first, anyone
else gets a 403 page). Every read is scoped to the caller's own sponsor: another sponsor's
campaign or statement is a 404 page, numbers are masked (138****8000), never a name."""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.sponsors import campaigns, console, queries, report, statement_pdf, wallet
from haoka.sponsors.domain import CAMPAIGN_MACHINE, CampaignStatus
from haoka.web.common import login_redirect, not_found
from haoka.web.sponsor import presenters as sp

CHART_DAYS = 30
NOT_A_SPONSOR = "仅已通过审核的后向客户（赞助方）可以使用赞助方中心"


def sponsor_page(view):
    """The view gets the caller's APPROVED sponsor. Visitors log in first; anyone else
    (a consumer, a member of a sponsor under review) sees a 403 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return login_redirect(request, request.get_full_path())
        sponsor = queries.approved_sponsor_of(user_id=request.user.pk)
        if sponsor is None:
            return render(request, "web/404.html", {"message": NOT_A_SPONSOR}, status=403)
        return view(request, sponsor, *args, **kwargs)

    return wrapped


def base_context(sponsor, tab: str, crumb: str = "") -> dict:
    """What every console page shows: the tabs, and where one is (``crumb``: the tab's
    label unless given; none on the overview)."""
    if not crumb and tab != "sponsor_console":
        crumb = next(label for name, label, _ in sp.SECTIONS if name == tab)
    return {"nav": "me", "tab": tab, "sponsor": sponsor, "sections": sp.SECTIONS, "crumb": crumb}


def wallet_figures(sponsor) -> dict:
    return {
        "balance_fen": wallet.balance_fen(sponsor_id=sponsor.sponsor_id),
        "held_fen": wallet.held_fen(sponsor_id=sponsor.sponsor_id),
    }


def campaign_cards(campaign_list) -> list[dict]:
    books = queries.books_of(campaigns=campaign_list)
    return [
        {
            "c": c,
            "status_label": CAMPAIGN_MACHINE.label(c.status),
            "apps": console.app_names(c.rating_groups),
            "eligibility": sp.eligibility_text(c.eligibility),
            "gauge": sp.gauge(
                budget_fen=c.budget_fen,
                available_fen=books[c.pk].available_fen,
                held_fen=books[c.pk].held_fen,
                spent_fen=books[c.pk].spent_fen,
            ),
        }
        for c in campaign_list
    ]


@require_safe
@sponsor_page
def home(request, sponsor):
    """Wallet, campaigns with their gauges, 30 days of bytes, lines reached and spend."""
    now = clock.now()
    campaign_list = list(queries.campaigns_of(sponsor=sponsor).order_by("-created_at", "-id")[:20])
    days = sp.days_back(clock.beijing_date(now), CHART_DAYS)
    series = {
        f"{c.name} · {console.app_names(c.rating_groups)}": report.campaign_by_day(
            campaign=c, start=days[0], end=days[-1]
        )
        for c in campaign_list
    }
    context = {
        **base_context(sponsor, "sponsor_console"),
        **wallet_figures(sponsor),
        "cards": campaign_cards(campaign_list),
        "chart": sp.chart(series, days=days),
        "month": f"{clock.beijing_date(now):%Y-%m}",
    }
    return render(request, "web/sponsor/console.html", context)


@require_safe
@sponsor_page
def campaign_detail(request, sponsor, campaign_id: str):
    return campaign_response(request, sponsor, campaign_id)


def campaign_response(request, sponsor, campaign_id: str, *, error=None, status=200):
    """A campaign: its figures, actions the state allows, its last 30 days, its opt-ins."""
    try:
        campaign = campaigns.campaign_of(sponsor=sponsor, campaign_id=campaign_id)
    except HaokaError as exc:
        return not_found(request, exc.message)
    now = clock.now()
    days = sp.days_back(clock.beijing_date(now), CHART_DAYS)
    rows = report.campaign_by_day(campaign=campaign, start=days[0], end=days[-1])
    status_now = CampaignStatus(campaign.status)
    context = {
        **base_context(sponsor, "sponsor_console", crumb=campaign.name),
        "card": campaign_cards([campaign])[0],
        "budget_yuan": sp.plain_yuan(campaign.budget_fen),
        "last_day": sp.last_day(campaign.valid_to).isoformat(),
        "days": sorted(rows, key=lambda r: r.date, reverse=True),
        "can": {
            "pause": CAMPAIGN_MACHINE.allows(current=status_now, target=CampaignStatus.PAUSED),
            "resume": status_now == CampaignStatus.PAUSED,
            "end": CAMPAIGN_MACHINE.allows(current=status_now, target=CampaignStatus.ENDED),
            "budget": status_now != CampaignStatus.ENDED,
        },
        "opt_ins": console.opted_in_lines(sponsor=sponsor, campaign=campaign),
        "error": error,
    }
    return render(request, "web/sponsor/campaign.html", context, status=status)


@require_safe
@sponsor_page
def opted_in(request, sponsor):
    """The numbers that opted in through the sponsor's apps: masked, with the campaign."""
    context = {
        **base_context(sponsor, "sponsor_lines"),
        "rows": console.opted_in_lines(sponsor=sponsor, limit=100),
    }
    return render(request, "web/sponsor/lines.html", context)


# ---------------------------------------------------------------- statements


def _statement(sponsor, month: str):
    day = sp.month_of(month)
    return None if day is None else console.statement(sponsor=sponsor, month=day)


@require_safe
@sponsor_page
def statement(request, sponsor, month: str):
    """对账单 of a Beijing month: usage and spend by campaign and app, top-ups."""
    found = _statement(sponsor, month)
    if found is None:
        return not_found(request, "月份格式应为 YYYY-MM")
    context = {
        **base_context(sponsor, "sponsor_wallet", crumb=f"{month} 对账单"),
        **wallet_figures(sponsor),
        "statement": found,
        "month": month,
    }
    return render(request, "web/sponsor/statement.html", context)


@require_safe
@sponsor_page
def statement_download(request, sponsor, month: str):
    found = _statement(sponsor, month)
    if found is None:
        return not_found(request, "月份格式应为 YYYY-MM")
    body = statement_pdf.pdf(found, sponsor=sponsor, **wallet_figures(sponsor))
    response = HttpResponse(body, "application/pdf")
    name = f"haoka-sponsor-{sponsor.sponsor_id}-{month}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
