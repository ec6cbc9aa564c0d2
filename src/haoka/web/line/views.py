"""Line self-service pages (我的号卡): my lines, a line's dashboard, top-up, pack shop, bills
and 办理 (plan change, 停机保号, 补换卡, 携号转网, 销户). The forms post to
:mod:`haoka.web.line.actions`, which shows an operation's error on the page it came from.

Only the line's owner sees it: someone else's number is a 404 page (as the API answers),
and a visitor who is not signed in logs in first and comes back.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from haoka.catalog import queries as catalog_queries
from haoka.charging import bill_pdf, bills, cycle, packs
from haoka.charging import queries as charging_queries
from haoka.charging.domain import TOPUP_KIND_LABELS
from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.lines import domain as lines_domain
from haoka.lines import exits, lifecycle
from haoka.lines import queries as lines_queries
from haoka.web.common import PAYMENT_METHODS, is_htmx, login_redirect, not_found, render_page
from haoka.web.line import presenters as lp
from haoka.web.line import sponsored_card

NOTIFICATIONS = 5
RECENT = 10
NOT_FOUND = "线路不存在"
#: How long after starting a top-up the dashboard waits for its money, polling fast.
CONFIRMING = dt.timedelta(minutes=15)


def line_url(name: str, msisdn: str, *args) -> str:
    return reverse(f"web:{name}", args=[msisdn, *args])


def owned_line(back: str | None = None):
    """The view gets the caller's own line of ``msisdn``; visitors log in first (a POST
    comes back to the page ``back`` names), anyone else's number is a 404 page."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, msisdn: str, *args, **kwargs):
            if not request.user.is_authenticated:
                page = line_url(back, msisdn) if back else request.get_full_path()
                return login_redirect(request, page)
            if not (len(msisdn) == 11 and msisdn.isascii() and msisdn.isdigit()):
                return not_found(request, NOT_FOUND)
            try:
                line = charging_queries.line_for(
                    msisdn=msisdn, user_id=request.user.pk, staff=False
                )
            except charging_queries.LineNotFound:
                return not_found(request, NOT_FOUND)
            return view(request, line, *args, **kwargs)

        return wrapped

    return decorate


def keep_number_fee_fen() -> int:
    """保号费 a month (the setting the monthly cycle charges, as lines.lifecycle reads it)."""
    return lines_queries.keep_number_fee_fen()


def caller(request) -> lifecycle.Caller:
    """Pages act as the owner (staff use the admin and the API)."""
    return lifecycle.Caller(user_id=request.user.pk, staff=False)


def _carriers() -> dict:
    return {c.code: c for c in catalog_queries.carriers()}


def base_context(line, tab: str) -> dict:
    """What every page of a line shows at the top: number, carrier, plan, status, tabs."""
    plan = charging_queries.plan_of(code=line.plan_code)
    pending = (
        charging_queries.plan_of(code=line.pending_plan_code) if line.pending_plan_code else None
    )
    return {
        "nav": "me",
        "tab": tab,
        "line": line,
        "carrier": _carriers().get(line.carrier_code),
        "plan": plan,
        "pending_plan": pending,
        "status": lp.status(line),
        "live": line.status in ("ACTIVE", "SUSPENDED"),
    }


# ---------------------------------------------------------------- 我的号卡


@require_safe
def my_lines(request):
    """The signed-in user's lines: number, carrier, plan, status and balance."""
    if not request.user.is_authenticated:
        return login_redirect(request, reverse("web:my_lines"))
    carriers = _carriers()
    rows = [
        {
            "line": line,
            "carrier": carriers.get(line.carrier_code),
            "plan": charging_queries.plan_of(code=line.plan_code),
            "status": lp.status(line),
            "balance_fen": lines_queries.wallet_balance_fen(line=line),
        }
        for line in lines_queries.lines_of(user_id=request.user.pk)
    ]
    return render(request, "web/lines/list.html", {"rows": rows, "nav": "me"})


# ---------------------------------------------------------------- dashboard


def _confirming(line, now):
    """The owner's top-up started a moment ago and not paid yet (back from the cashier
    before the gateway's notice): the page says so and polls faster."""
    latest = next(
        iter(charging_queries.topups_of(line_id=line.pk, limit=1, after=None).items), None
    )
    waiting = latest is not None and latest.status == "PENDING" and latest.kind == "MANUAL"
    return latest if waiting and now - latest.created_at < CONFIRMING else None


def live_context(line) -> dict:
    """The numbers that change while one looks: wallet, allowances, a top-up confirming."""
    now = clock.now()
    buckets = charging_queries.buckets_of(line_id=line.pk, now=now)
    return {
        "wallet": charging_queries.wallet_of(line_id=line.pk),
        "gauges": [lp.gauge(b) for b in buckets],
        "totals": lp.totals(buckets),
        "confirming": _confirming(line, now),
        "refreshed_at": now,
    }


@require_safe
@owned_line()
def dashboard(request, line):
    """Status, plan, balance, a gauge per allowance, 30 days of usage, latest notices; htmx
    polls refresh the wallet and the gauges alone."""
    context = {**base_context(line, "home"), **live_context(line)}
    if not is_htmx(request):
        now = clock.now()
        rows = charging_queries.usage_by_day(line_id=line.pk, days=lp.CHART_DAYS, now=now)
        notices = charging_queries.notifications_of(
            line_id=line.pk, limit=NOTIFICATIONS, after=None
        )
        context.update(
            chart=lp.usage_chart(rows, today=clock.beijing_date(now)),
            notifications=notices.items,
            month_charges=lp.month_charges(bills.month_so_far(line_id=line.pk, now=now)),
            first_month=charging_queries.first_month_of(
                line_id=line.pk, month=clock.beijing_date(now).replace(day=1)
            ),
            sponsored=sponsored_card.card(line, now=now),
        )
    return render_page(request, "web/lines/dashboard.html", "web/lines/_live.html", context)


# ---------------------------------------------------------------- top-up


def topup_response(request, line, *, error=None, auto_error=None, form=None, status=200):
    form = form or {}
    auto = charging_queries.auto_topup_of(line_id=line.pk)
    recent = charging_queries.topups_of(line_id=line.pk, limit=RECENT, after=None).items
    chosen = lp.TOPUP_PRESETS[1]  # ¥30 unless the form came back with another choice
    if "amount" in form or "custom" in form:
        amount = form.get("amount", "")
        chosen = int(amount) * 100 if amount.isdigit() and not form.get("custom") else None
    context = {
        **base_context(line, "topup"),
        "wallet": charging_queries.wallet_of(line_id=line.pk),
        "presets": lp.presets(chosen),
        "custom": form.get("custom", ""),
        "method": form.get("method", "wechat"),
        "methods": PAYMENT_METHODS,
        "topups": lp.topup_rows(recent),
        "auto": auto,
        "auto_form": form.get("auto") or _auto_form(auto),
        "error": error,
        "auto_error": auto_error,
        "rechargeable": line.status not in ("CLOSED", "PORTED_OUT"),
    }
    return render(request, "web/lines/topup.html", context, status=status)


def _auto_form(auto) -> dict:
    if auto is None:
        return {"enabled": False, "threshold": "10", "amount": "50", "method": "wechat"}
    return {
        "enabled": auto.enabled,
        "threshold": f"{auto.threshold_fen / 100:g}",
        "amount": f"{auto.amount_fen / 100:g}",
        "method": auto.method.lower(),
    }


# ---------------------------------------------------------------- packs


def packs_response(request, line, *, error=None, error_code="", status=200):
    wallet = charging_queries.wallet_of(line_id=line.pk)
    purchases = charging_queries.purchases_of(line_id=line.pk, limit=RECENT, after=None).items
    context = {
        **base_context(line, "packs"),
        "wallet": wallet,
        "cards": lp.pack_cards(
            packs.offers(carrier_code=line.carrier_code), available_fen=wallet.available_fen
        ),
        "purchases": purchases,
        "now": clock.now(),
        "error": error,
        "error_code": error_code,
        "can_buy": line.status == "ACTIVE",
    }
    return render(request, "web/lines/packs.html", context, status=status)


# ---------------------------------------------------------------- bills


@require_safe
@owned_line()
def bill_list(request, line):
    page = charging_queries.bills_of(line_id=line.pk, limit=24, after=None)
    rows = [{"bill": b, "spent": bills.spent(b)} for b in page.items]
    return render(request, "web/lines/bills.html", {**base_context(line, "bills"), "rows": rows})


def _bill(line, month: str):
    """Raises InvalidMonth, BillNotFound."""
    return charging_queries.bill_of(line_id=line.pk, month=bills.parse_month(month))


@require_safe
@owned_line()
def bill_detail(request, line, month: str):
    """A month's bill: money in and out, packs and top-ups, usage by day and by app."""
    try:
        bill = _bill(line, month)
    except HaokaError as exc:
        return not_found(request, exc.message)
    context = {
        **base_context(line, "bills"),
        "bill": bill,
        "month": month,
        "bill_plan": charging_queries.plan_of(code=bill.plan_code),
        "spent": bills.spent(bill),
        "money": lp.bill_money(
            bill, first_month=charging_queries.first_month_of(line_id=line.pk, month=bill.month)
        ),
        "days": lp.bill_days(bill.usage_by_day),
        "groups": lp.bill_groups(bill.usage_by_rating_group),
        "sponsored": sponsored_card.bill_rows(line, month=bill.month),
        "month_packs": bills.packs_bought(bill),
        "month_topups": [
            {**t, "kind": TOPUP_KIND_LABELS.get(t["kind"], t["kind"])}
            for t in bills.topups_paid(bill)
        ],
    }
    return render(request, "web/lines/bill.html", context)


@require_safe
@owned_line()
def bill_download(request, line, month: str):
    try:
        bill = _bill(line, month)
    except HaokaError as exc:
        return not_found(request, exc.message)
    response = HttpResponse(bill_pdf.pdf(bill=bill, msisdn=line.msisdn), "application/pdf")
    name = f"haoka-bill-{line.msisdn}-{bill.month:%Y-%m}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- 办理


def _plan_options(line, current) -> list[lp.PlanOption]:
    try:
        plans = list(catalog_queries.on_sale_plans(carrier=line.carrier_code))
    except HaokaError:
        return []
    fee = current.monthly_fee_fen if current else 0
    now = clock.now()
    return [
        lp.PlanOption(
            code=p.code,
            name=p.name,
            fee=lp.yuan(p.monthly_fee_fen),
            upgrade=p.monthly_fee_fen > fee,
            prorated=lp.yuan(cycle.prorate(old_fee_fen=fee, new_fee_fen=p.monthly_fee_fen, at=now)),
            summary=lp.plan_summary(p),
        )
        for p in plans
        if p.code != line.plan_code
    ]


def manage_response(request, line, *, errors=None, form=None, issued=None, status=200):
    """The 办理 page; ``errors`` per section (plan, suspend, sim, porting); ``issued``: a
    porting code just issued (shown this once)."""
    context = base_context(line, "manage")
    me = caller(request)
    eligibility = exits.porting_eligibility(msisdn=line.msisdn, caller=me, now=clock.now())
    cards = lifecycle.sim_cards(msisdn=line.msisdn, caller=me)
    current = next((c for c in cards if c.status == "ACTIVE"), None)
    context.update(
        options=_plan_options(line, context["plan"]),
        keep_fee=lp.yuan(keep_number_fee_fen()),
        checks=lp.porting_rows(eligibility.checks),
        eligible=eligibility.eligible,
        contract_end=eligibility.contract_end,
        iccid=lp.masked_iccid(current.iccid if current else line.iccid),
        errors=errors or {},
        form=form or {},
        issued=issued,
    )
    response = render(request, "web/lines/manage.html", context, status=status)
    if issued:
        response["Cache-Control"] = "no-store"  # the code is shown once
    return response


@require_safe
@owned_line()
def manage(request, line):
    return manage_response(request, line)


def close_response(request, line, *, error=None, status=200):
    """销户's confirm step: what happens to the money, the number and the allowances."""
    end = exits.contract_end(line=line)
    today = clock.beijing_date(clock.now())
    context = {
        **base_context(line, "manage"),
        "wallet": charging_queries.wallet_of(line_id=line.pk),
        "contract_end": end,
        "locked": lines_domain.contract_locked(end=end, today=today),
        "error": error,
    }
    return render(request, "web/lines/close.html", context, status=status)
