"""What every page area shares: rendering a page or its htmx fragment, error text, login
redirects, money as ¥12.34, and the health check (a site page of no area).

The pages are split by area: :mod:`haoka.web.shop` (plans, number picking, an agent's public
shop), :mod:`haoka.web.order` (checkout and order pages), :mod:`haoka.web.line` (a consumer's
lines), :mod:`haoka.web.agent` (代理中心) and :mod:`haoka.web.accounts` (login, 我的). Views stay
thin: parse the request, make one call into the domains' operations or queries, render.
Expected failures are :class:`HaokaError` and are shown with their Chinese message.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from haoka.core.errors import HaokaError
from haoka.core.money import format_fen
from haoka.payments.domain import METHOD_LABELS, Method


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
    """``value`` when it is a path here or a URL on the public base URL (never on whatever
    Host the request named), else ""."""
    public_host = urlsplit(settings.PUBLIC_BASE_URL).netloc
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={public_host}, require_https=request.is_secure()
    ):
        return value
    return ""


def yuan(fen: int) -> str:
    """¥12.34 (None counts as 0)."""
    return format_fen(int(fen or 0))


#: The payment methods the forms offer: (form value, label).
PAYMENT_METHODS = tuple((method.lower(), METHOD_LABELS[method]) for method in Method)


def method_label(method: str) -> str:
    """微信支付, 支付宝; 在线支付 when the method is not known (yet)."""
    return METHOD_LABELS.get((method or "").upper(), "在线支付")
