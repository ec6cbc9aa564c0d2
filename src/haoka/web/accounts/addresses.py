"""我的收货地址: the address book's pages (list, add, edit, delete, default) and the 省/市/区
selects the checkout shares. Thin: parse, one call into ``logistics.addresses`` (or its
queries), render; someone else's address is a 404 page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.logistics import addresses, divisions
from haoka.logistics import queries as logistics_queries
from haoka.web.common import error_text, not_found, safe_next

#: What the address form sends (the selects send codes; the names come from the table).
ENTRY_FIELDS = ("receiver", "phone", "province_code", "city_code", "district_code", "detail")


def division_choices(form: dict) -> dict:
    """The options of the three selects for what ``form`` has chosen so far (a re-shown
    form keeps its choice; the page's script fills the next select on a change)."""
    choices = {"provinces": divisions.provinces(), "cities": (), "districts": ()}
    try:
        if form.get("province_code"):
            choices["cities"] = divisions.children(code=form["province_code"])
        if form.get("city_code") and any(c.code == form["city_code"] for c in choices["cities"]):
            choices["districts"] = divisions.children(code=form["city_code"])
    except divisions.InvalidDivision:
        pass  # a forged code: the selects start over, the submit says why
    return choices


def entry_form(post) -> dict:
    return {name: post.get(name, "").strip() for name in ENTRY_FIELDS}


@login_required
def address_book(request):
    rows = logistics_queries.address_book(user_id=request.user.pk)
    return render(request, "web/addresses/list.html", {"nav": "me", "rows": rows})


def _form_page(request, *, form: dict, address_id: int | None, error: str = "", status=200):
    context = {
        "nav": "me",
        "form": form,
        "address_id": address_id,
        "error": error,
        "next": _next_url(request),
        **division_choices(form),
    }
    return render(request, "web/addresses/form.html", context, status=status)


def _next_url(request) -> str:
    """Back to the checkout the visitor came from (this site only), else the list."""
    return safe_next(request, request.POST.get("next") or request.GET.get("next"))


@login_required
def address_new(request):
    if request.method != "POST":
        return _form_page(request, form={"phone": request.user.phone or ""}, address_id=None)
    form = entry_form(request.POST)
    try:
        addresses.add_address(
            user_id=request.user.pk,
            make_default=request.POST.get("is_default") == "1",
            now=clock.now(),
            **form,
        )
    except HaokaError as exc:
        return _form_page(
            request, form=form, address_id=None, error=error_text(exc), status=exc.status
        )
    messages.success(request, "收货地址已保存")
    return redirect(_next_url(request) or reverse("web:addresses"))


@login_required
def address_edit(request, address_id: int):
    try:
        saved = logistics_queries.address_of(user_id=request.user.pk, address_id=address_id)
    except logistics_queries.AddressNotFound as exc:
        return not_found(request, exc.message)
    if request.method != "POST":
        form = {name: getattr(saved, name) for name in ENTRY_FIELDS}
        form["is_default"] = saved.is_default
        return _form_page(request, form=form, address_id=address_id)
    form = entry_form(request.POST)
    try:
        addresses.edit_address(
            user_id=request.user.pk,
            address_id=address_id,
            make_default=request.POST.get("is_default") == "1",
            now=clock.now(),
            **form,
        )
    except HaokaError as exc:
        return _form_page(
            request, form=form, address_id=address_id, error=error_text(exc), status=exc.status
        )
    messages.success(request, "收货地址已更新")
    return redirect(reverse("web:addresses"))


@require_POST
@login_required
def address_delete(request, address_id: int):
    try:
        addresses.delete_address(user_id=request.user.pk, address_id=address_id)
    except logistics_queries.AddressNotFound as exc:
        return not_found(request, exc.message)
    messages.success(request, "收货地址已删除")
    return redirect(reverse("web:addresses"))


@require_POST
@login_required
def address_default(request, address_id: int):
    try:
        addresses.set_default(user_id=request.user.pk, address_id=address_id)
    except logistics_queries.AddressNotFound as exc:
        return not_found(request, exc.message)
    messages.success(request, "已设为默认地址")
    return redirect(reverse("web:addresses"))
