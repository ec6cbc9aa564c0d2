"""Consumer pages: plans, plan detail and compare, phone + OTP login, 我的.

Views stay thin: parse the request, make one call into the domains' operations or queries,
render. Expected failures are :class:`HaokaError` and are shown with their Chinese message.
Number pages live in :mod:`haoka.web.number_views`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from haoka.accounts import operations as accounts_operations
from haoka.catalog import queries as catalog_queries
from haoka.catalog.domain import MAX_COMPARE
from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.core.money import yuan_to_fen
from haoka.numbers import operations as numbers_operations
from haoka.web import presenters


def home(request):
    return redirect("web:plans")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


# ---------------------------------------------------------------- shared helpers


def is_htmx(request) -> bool:
    """An htmx request for a fragment (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(request, page: str, fragment: str, context: dict, *, status: int = 200):
    """The fragment for htmx, the whole page otherwise (the page includes the fragment)."""
    response = render(request, fragment if is_htmx(request) else page, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def error_text(exc: HaokaError) -> str:
    """The Chinese message of an error, with the wait for rate limits."""
    retry = exc.details.get("retry_after_seconds")
    return f"{exc.message}（请 {retry} 秒后再试）" if retry else exc.message


def not_found(request, message: str = "页面不存在"):
    return render(request, "web/404.html", {"message": message}, status=404)


def login_redirect(request, next_url: str):
    """Send an anonymous visitor to log in, coming back to ``next_url`` (htmx: HX-Redirect)."""
    url = f"{reverse('web:login')}?{urlencode({'next': next_url})}"
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


# ---------------------------------------------------------------- plans


def plan_list(request):
    """套餐列表, filtered by carrier, tag and 月租上限 (yuan)."""
    filters = {name: request.GET.get(name, "").strip() for name in ("carrier", "tag", "max_fee")}
    plans, error = [], None
    try:
        max_fee_fen = yuan_to_fen(filters["max_fee"]) if filters["max_fee"] else None
        plans = list(
            catalog_queries.on_sale_plans(
                carrier=filters["carrier"] or None,
                tag=filters["tag"] or None,
                max_fee_fen=max_fee_fen,
            )
        )
    except HaokaError as exc:
        error = error_text(exc)
    context = {
        "plans": plans,
        "error": error,
        "filters": filters,
        "carriers": catalog_queries.carriers(),
        "tags": catalog_queries.tags_in_use(),
        "max_fee_choices": presenters.MAX_FEE_CHOICES,
        "compare_max": MAX_COMPARE,
        "nav": "plans",
    }
    return render_page(
        request,
        "web/plans/list.html",
        "web/plans/_list.html",
        context,
        status=422 if error else 200,
    )


def plan_detail(request, code: str):
    try:
        plan = catalog_queries.plan_detail(code=code)
    except HaokaError as exc:
        return not_found(request, exc.message)
    return render(request, "web/plans/detail.html", {"plan": plan, "nav": "plans"})


def plan_compare(request):
    """Side by side, at most MAX_COMPARE plans; extra and unknown codes are named in a note."""
    asked = presenters.split_codes(request.GET.getlist("codes"))
    kept, ignored = asked[:MAX_COMPARE], asked[MAX_COMPARE:]
    plans = catalog_queries.plans_by_codes(codes=kept)
    found = {p.code for p in plans}
    ignored_names = {p.code: p.name for p in catalog_queries.plans_by_codes(codes=ignored)}
    context = {
        "plans": plans,
        "rows": presenters.compare_rows(plans),
        "ignored": [ignored_names.get(c, c) for c in ignored],
        "missing": [c for c in kept if c not in found],
        "compare_max": MAX_COMPARE,
        "nav": "plans",
    }
    return render(request, "web/plans/compare.html", context)


# ---------------------------------------------------------------- login and 我的


def login_view(request):
    """Step 1: phone -> request_otp. Step 2: code -> login_with_otp -> session login."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    context = {"next": next_url, "step": "phone", "phone": "", "error": None, "nav": "me"}
    if request.method == "POST":
        phone = request.POST.get("phone", "").strip()
        context["phone"] = phone
        try:
            if request.POST.get("action") == "verify":
                context["step"] = "code"
                return _verify(request, phone=phone, next_url=next_url)
            sent = accounts_operations.request_otp(
                phone=phone, client_ip=client_ip(request), now=clock.now()
            )
            context.update(step="code", phone=sent.phone, sent=sent)
        except HaokaError as exc:
            context["error"] = error_text(exc)
    return render(
        request, "web/accounts/login.html", context, status=422 if context["error"] else 200
    )


def _verify(request, *, phone: str, next_url: str):
    user = accounts_operations.verify_otp(
        phone=phone,
        code=request.POST.get("code", "").strip(),
        client_ip=client_ip(request),
        now=clock.now(),
    )
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(next_url or reverse("web:me"))


@require_POST
def logout_view(request):
    auth.logout(request)
    return redirect("web:plans")


@login_required
def me(request):
    """我的: the phone (masked) and the numbers held right now, with countdowns."""
    holds = numbers_operations.active_holds(user_id=request.user.pk, now=clock.now())
    return render(request, "web/accounts/me.html", {"holds": holds, "nav": "me"})
