"""Phone + OTP login, logout and 我的."""

from __future__ import annotations

from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from haoka.accounts import domain as accounts_domain
from haoka.accounts import operations as accounts_operations
from haoka.core import clock
from haoka.core.clientip import client_ip
from haoka.core.errors import HaokaError
from haoka.numbers import operations as numbers_operations
from haoka.web.common import error_text, safe_next

#: The resend button waits this long after a code is sent (the accounts' per-phone limit).
RESEND_AFTER_SECONDS = int(accounts_domain.OTP_SEND_PER_PHONE_MINUTE[1].total_seconds())


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
            if request.POST.get("action") == "resend":
                # A resend stays on the code step whatever happens: the code sent before
                # can still be typed while the minute's limit runs out.
                context["step"] = "code"
            sent = accounts_operations.request_otp(
                phone=phone, client_ip=client_ip(request), now=clock.now()
            )
            context.update(step="code", phone=sent.phone, sent=sent, wait=RESEND_AFTER_SECONDS)
        except HaokaError as exc:
            context["error"] = error_text(exc)
            context["wait"] = exc.details.get("retry_after_seconds") or 0
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
