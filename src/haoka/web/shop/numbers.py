"""选号 pages: 推荐 (the first view: affordable numbers with a few vanity ones, 换一批) and
全部号码 (search with filters and cursor paging), 号码估价, suggestions, reserve and release.

Thin like :mod:`haoka.web.common`: parse, one call into numbers queries/operations, render.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from haoka.catalog import queries as catalog_queries
from haoka.catalog.domain import PROVINCES
from haoka.core import clock
from haoka.core.errors import HaokaError, ValidationError
from haoka.numbers import operations as numbers_operations
from haoka.numbers import queries as numbers_queries
from haoka.numbers import recommend
from haoka.web.common import error_text, is_htmx, login_redirect, render_page, safe_next
from haoka.web.shop import presenters
from haoka.web.templatetags.haoka import spaced_msisdn

PAGE_SIZE = 20
TEXT_FIELDS = (
    "carrier",
    "province",
    "tail",
    "contains",
    "pattern",
    "tier",
    "min_price",
    "max_price",
    "sort",
    "plan",
)
SEARCH_FIELDS = (
    "carrier",
    "province",
    "tail",
    "contains",
    "exclude_four",
    "pattern",
    "tier",
    "min_price",
    "max_price",
    "sort",
)
TAKEN_MESSAGE = "该号码已被他人选走"
#: Filters that narrow the pool: any of them (or a sort other than the default) shows 全部号码.
NARROWING = ("province", "tail", "contains", "pattern", "tier", "min_price", "max_price")


def _params(query) -> dict:
    params = {name: query.get(name, "").strip() for name in TEXT_FIELDS}
    params["exclude_four"] = query.get("exclude_four", "") in ("1", "on", "true")
    params["sort"] = params["sort"] or "tier"
    return params


def _filters(params: dict) -> numbers_queries.SearchFilters:
    """Raises InvalidAmount for a bad price."""
    return numbers_queries.SearchFilters.from_query(**{k: params[k] for k in SEARCH_FIELDS})


def _search_error(exc: HaokaError) -> str:
    return error_text(exc)


def _carriers() -> dict:
    return {c.code: c for c in catalog_queries.carriers()}


def _plan_for(code: str):
    try:
        return catalog_queries.plan_detail(code=code) if code else None
    except HaokaError:
        return None


def _view(params: dict, query) -> str:
    """ "all" (全部号码, the search) when asked or when a filter narrows the pool; "rec"
    (推荐) otherwise: the picker opens on 推荐, for the carrier (and plan) it was opened for."""
    narrowed = any(params[k] for k in NARROWING) or params["exclude_four"]
    if query.get("view") == "all" or narrowed or params["sort"] != "tier":
        return "all"
    return "rec"


def _bounded(raw: str | None, limit: int) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and int(raw) < limit else None


def _kept(params: dict) -> dict:
    """What a tab or 换一批 keeps of the query: the carrier and the plan being chosen for."""
    return {k: params[k] for k in ("carrier", "plan") if params[k]}


def _tab_urls(params: dict) -> dict:
    keep = _kept(params)
    base = reverse("web:numbers")
    return {
        "rec_url": f"{base}?{urlencode(keep)}" if keep else base,
        "all_url": f"{base}?{urlencode({'view': 'all', **keep})}",
    }


def _recommended(request, params: dict):
    """推荐: batch ``batch`` of the visit's ``seed`` (a new seed for a new visit), and the
    URL of 换一批. A seed or batch out of range is treated as absent."""
    seed = _bounded(request.GET.get("seed"), recommend.SEED_LIMIT)
    seed = secrets.randbelow(recommend.SEED_LIMIT) if seed is None else seed
    batch = _bounded(request.GET.get("batch"), recommend.BATCH_LIMIT) or 0
    context = {"cards": [], "error": None, "seed": seed, "batch": batch, "next_url": ""}
    try:
        found = numbers_queries.recommended(
            carrier=params["carrier"] or None, seed=seed, batch=batch
        )
    except HaokaError as exc:
        context["error"] = _search_error(exc)
        return context
    context["cards"] = presenters.number_cards(found, carriers=_carriers())
    following = (batch + 1) % recommend.BATCH_LIMIT
    query = urlencode({**_kept(params), "seed": seed, "batch": following})
    context["next_url"] = f"{reverse('web:numbers')}?{query}"
    return context


def number_search(request):
    """选号: the filter page opening on 推荐 (换一批 swaps its batch in place), 全部号码 with
    its results fragment, and "加载更多" pages (``after``)."""
    params = _params(request.GET)
    view = _view(params, request.GET)
    if view == "rec":
        context = {**_recommended(request, params), "params": params, "nav": "numbers"}
        return _numbers_page(request, context, view=view)
    after = request.GET.get("after") or None
    cards, next_cursor, error = [], None, None
    try:
        filters = _filters(params)
        page = numbers_queries.search(filters=filters, limit=PAGE_SIZE, after=after)
        cards = presenters.number_cards(
            page.items, carriers=_carriers(), tail=filters.tail, contains=filters.contains
        )
        next_cursor = page.next
    except HaokaError as exc:
        error = _search_error(exc)
    query = {k: v for k, v in request.GET.items() if k != "after" and v}
    more_url = (
        f"{reverse('web:numbers')}?{urlencode({**query, 'after': next_cursor})}"
        if next_cursor
        else ""
    )
    context = {
        "cards": cards,
        "more_url": more_url,
        "error": error,
        "params": params,
        "after": after,
        "nav": "numbers",
    }
    if after and is_htmx(request):
        return render_page(
            request,
            "web/numbers/index.html",
            "web/numbers/_items.html",
            context,
            status=422 if error else 200,
        )
    return _numbers_page(request, context, view=view)


def _numbers_page(request, context: dict, *, view: str):
    """The whole page, or for htmx the results with the tabs swapped beside them."""
    params = context["params"]
    context.update(view=view, htmx=is_htmx(request), **_tab_urls(params))
    if not context["htmx"]:
        context.update(
            carriers=_carriers().values(),
            provinces=PROVINCES,
            patterns=presenters.pattern_choices(),
            tiers=presenters.TIER_CHOICES,
            sorts=presenters.SORT_CHOICES,
            plan=_plan_for(params["plan"]),
        )
    return render_page(
        request,
        "web/numbers/index.html",
        "web/numbers/_results.html",
        context,
        status=422 if context["error"] else 200,
    )


def _my_hold(request, msisdn: str):
    if not request.user.is_authenticated:
        return None
    holds = numbers_operations.active_holds(user_id=request.user.pk, now=clock.now())
    return next((h for h in holds if h.msisdn == msisdn), None)


def number_valuation(request):
    """号码估价 of any 11-digit number (in the pool or not), with 预占 when it is for sale.
    Without ``msisdn`` only the form shows; ``tool`` keeps the form in the sheet."""
    raw = request.GET.get("msisdn")
    context = {
        "msisdn": (raw or "").strip(),
        "plan_code": request.GET.get("plan", "").strip(),
        "show_form": bool(request.GET.get("tool")),
        "nav": "numbers",
        "error": None,
    }
    if raw is not None:
        try:
            if not raw.strip():
                raise ValidationError("请输入 11 位手机号码")
            result = numbers_queries.valuation(msisdn=raw)
            context.update(
                result=result, v=result.valuation, hold=_my_hold(request, result.valuation.msisdn)
            )
        except HaokaError as exc:
            context["error"] = error_text(exc)
    return render_page(
        request,
        "web/numbers/valuation.html",
        "web/numbers/_valuation_sheet.html",
        context,
        status=422 if context["error"] else 200,
    )


def _parse_birthday(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)  # 1995-05-20 or 19950520
    except ValueError:
        raise ValidationError("生日格式应为 年-月-日，例如 1995-05-20", field="birthday") from None


def number_suggestions(request):
    """生日/喜欢的数字选号: the form, and numbers once a birthday or digits are given."""
    birthday, digits = (
        request.GET.get("birthday", "").strip(),
        request.GET.get("digits", "").strip(),
    )
    carrier = request.GET.get("carrier", "").strip()
    asked = "birthday" in request.GET or "digits" in request.GET
    context = {
        "cards": [],
        "error": None,
        "nav": "numbers",
        "asked": asked,
        "birthday": birthday,
        "digits": digits,
        "carrier": carrier,
    }
    try:
        born = _parse_birthday(birthday)
        if asked and born is None and not digits:
            raise ValidationError("请填写生日或喜欢的数字")
        if asked:
            found = numbers_queries.suggestions(
                birthday=born, favourite_digits=digits or None, carrier=carrier or None
            )
            context["cards"] = presenters.number_cards(
                [s.number for s in found], carriers=_carriers(), reasons=[s.reason for s in found]
            )
    except HaokaError as exc:
        context["error"] = error_text(exc)
    return render_page(
        request,
        "web/numbers/suggestions.html",
        "web/numbers/_suggestions_sheet.html",
        context,
        status=422 if context["error"] else 200,
    )


def _valuation_url(msisdn: str, plan_code: str = "") -> str:
    query = {"msisdn": msisdn, **({"plan": plan_code} if plan_code else {})}
    return f"{reverse('web:number_valuation')}?{urlencode(query)}"


@require_POST
def number_reserve(request, msisdn: str):
    """预占 15 minutes, then 去下单 (with the plan being chosen for, if any).
    Anonymous -> login; taken -> 409 "该号码已被他人选走"."""
    plan_code = request.POST.get("plan", "").strip()
    if not request.user.is_authenticated:
        return login_redirect(request, _valuation_url(msisdn, plan_code))
    context = {"msisdn": msisdn, "nav": "numbers", "error": None, "plan_code": plan_code}
    try:
        hold = numbers_operations.reserve(user_id=request.user.pk, msisdn=msisdn, now=clock.now())
    except HaokaError as exc:
        context["error"] = TAKEN_MESSAGE if exc.code == "number_unavailable" else error_text(exc)
        return render_page(
            request, "web/numbers/hold.html", "web/numbers/_hold.html", context, status=exc.status
        )
    if not is_htmx(request):
        messages.success(
            request, f"已为您预占 {spaced_msisdn(hold.msisdn)}，请在 15 分钟内完成下单"
        )
        return redirect("web:me")
    context["hold"] = hold
    return render_page(request, "web/numbers/hold.html", "web/numbers/_hold.html", context)


@require_POST
def number_release(request, msisdn: str):
    """Give a hold back to the pool; htmx gets the "已释放" fragment, a form goes back."""
    if not request.user.is_authenticated:
        return login_redirect(request, reverse("web:me"))
    context = {"msisdn": msisdn, "nav": "numbers", "error": None, "released": True}
    try:
        numbers_operations.release(user_id=request.user.pk, msisdn=msisdn, now=clock.now())
    except HaokaError as exc:
        context.update(error=error_text(exc), released=False)
        if is_htmx(request):
            return render_page(
                request,
                "web/numbers/hold.html",
                "web/numbers/_hold.html",
                context,
                status=exc.status,
            )
        messages.error(request, context["error"])
        return redirect("web:me")
    if is_htmx(request):
        return render_page(request, "web/numbers/hold.html", "web/numbers/_hold.html", context)
    messages.success(request, f"已释放 {spaced_msisdn(msisdn)}")
    return redirect(safe_next(request, request.POST.get("next")) or reverse("web:me"))
