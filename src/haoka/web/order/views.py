"""Checkout and order pages: the wizard (号码 → 套餐 → 实名 → 签约 → 支付 → 完成), my orders,
an order's live page with cancel and 激活, and the signed contract's PDF.

Thin like :mod:`haoka.web.common`: parse, one call into the orders use cases (or the reads in
:mod:`haoka.web.order.reads`), render. A :class:`HaokaError` is shown with its Chinese message
on the page it came from; someone else's order is a 404 page.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from haoka.core import clock
from haoka.core.errors import HaokaError, ValidationError
from haoka.kyc import domain as kyc_domain
from haoka.logistics import addresses as logistics_addresses
from haoka.logistics import queries as logistics_queries
from haoka.orders import contract as orders_contract
from haoka.orders import operations as orders_operations
from haoka.orders import queries as orders_queries
from haoka.web.accounts import addresses as address_views
from haoka.web.common import PAYMENT_METHODS, error_text, login_redirect, not_found, render_page
from haoka.web.order import presenters
from haoka.web.order import reads as order_reads
from haoka.web.shop import agent_shop
from haoka.web.templatetags.haoka import spaced_msisdn

PAGE_SIZE = 20
PHOTO_FIELDS = ("photo_front", "photo_back", "photo_selfie")  # kyc.domain.PHOTO_KINDS order
_ADDRESS_NAMES = {
    "province": "省份",
    "city": "城市",
    "district": "区县",
    "detail": "详细地址",
    "receiver": "收件人",
    "phone": "手机号",
}


def _order_url(ref: str) -> str:
    return reverse("web:order_detail", args=[ref])


def order_login_required(view):
    """Anonymous visitors log in first and come back to the order's page (POSTs too)."""

    @wraps(view)
    def wrapped(request, ref: str, *args, **kwargs):
        if not request.user.is_authenticated:
            return login_redirect(request, _order_url(ref))
        return view(request, ref, *args, **kwargs)

    return wrapped


def _message(exc: HaokaError) -> str:
    """The Chinese message; an incomplete address names the missing fields."""
    missing = exc.details.get("missing") if exc.code == "invalid_address" else None
    if missing:
        return "收货地址不完整，请填写" + "、".join(_ADDRESS_NAMES.get(f, f) for f in missing)
    return error_text(exc)


# ---------------------------------------------------------------- checkout: 号码 + 套餐 + 地址


def _checkout_form(request, saved: list) -> dict:
    """What the address part of the checkout holds: a saved address (``address_id``, the
    default one at first) or "new" with the fields of a new one (kept in the book when
    ``save_address``)."""
    values = address_views.entry_form(request.POST)
    if request.method == "POST":
        values["address_id"] = request.POST.get("address_id", "new" if not saved else "")
        values["save_address"] = request.POST.get("save_address", "")
    else:
        values["phone"] = getattr(request.user, "phone", "") or ""
        values["address_id"] = str(saved[0].id) if saved else "new"
        values["save_address"] = "1"
    return values


@login_required
def checkout(request):
    """Steps 号码 and 套餐: the held number (with its countdown) and the plan — or the
    carrier's plans to choose from — and the shipping address. POST creates the order."""
    source = request.POST if request.method == "POST" else request.GET
    msisdn, plan_code = source.get("msisdn", "").strip(), source.get("plan", "").strip()
    if not msisdn:
        query = f"?{urlencode({'plan': plan_code})}" if plan_code else ""
        return redirect(reverse("web:numbers") + query)
    existing = order_reads.open_order_ref(user_id=request.user.pk, msisdn=msisdn)
    if existing:
        return redirect(_order_url(existing))
    saved = logistics_queries.address_book(user_id=request.user.pk)
    form = _checkout_form(request, saved)
    context = {
        "nav": "numbers",
        "msisdn": msisdn,
        "plan_code": plan_code,
        "form": form,
        "saved": saved,
        **address_views.division_choices(form),
        "steps": presenters.checkout_steps(current=1),
        "error": None,
        "offer": None,
    }
    try:
        context["offer"] = order_reads.checkout_offer(
            user_id=request.user.pk,
            msisdn=msisdn,
            plan_code=plan_code,
            agent_code=agent_shop.referral_code(request),
            now=clock.now(),
        )
    except HaokaError as exc:
        context["error"] = _message(exc)
        return render(request, "web/orders/checkout.html", context, status=exc.status)
    if request.method == "POST":
        return _place_order(request, context)
    return render(request, "web/orders/checkout.html", context)


def _place_order(request, context: dict):
    """下单 → the order's page (its next step), or the form again with the error. The order
    goes to the agent whose shop the visitor came through last (the ``hk_ref`` cookie)."""
    form = context["form"]
    choice = form["address_id"]
    address_id = int(choice) if choice.isdigit() and len(choice) < 19 else None
    try:
        if address_id is None and choice != "new":
            raise ValidationError("请选择收货地址", field="address_id")
        order = orders_operations.create_order(
            user_id=request.user.pk,
            plan_code=context["plan_code"],
            msisdn=context["msisdn"],
            contact_phone=getattr(request.user, "phone", "") or form["phone"],
            shipping_address=None if address_id else form,
            address_id=address_id,
            agent_code=agent_shop.referral_code(request),
            device_id=agent_shop.device_id(request),
            now=clock.now(),
        )
    except HaokaError as exc:
        context["error"] = _message(exc)
        response = render(request, "web/orders/checkout.html", context, status=exc.status)
    else:
        if address_id is None and form["save_address"] == "1":
            _remember(request, form)
        response = redirect(_order_url(order.ref))
    agent_shop.keep_device(request, response)
    return response


def _remember(request, form: dict) -> None:
    """Keep a new address in the book for the next order; a full book is no reason to
    trouble the order that was just placed."""
    fields = {name: form[name] for name in address_views.ENTRY_FIELDS}
    try:
        logistics_addresses.add_address(user_id=request.user.pk, now=clock.now(), **fields)
    except HaokaError as exc:
        messages.info(request, f"收货地址未保存到地址簿：{error_text(exc)}")


# ---------------------------------------------------------------- my orders


@login_required
def order_list(request):
    after = request.GET.get("after") or None
    context = {"nav": "me", "rows": [], "more_url": "", "after": after, "error": None}
    try:
        page = orders_queries.my_orders(user_id=request.user.pk, limit=PAGE_SIZE, after=after)
        context["rows"] = order_reads.order_rows(page.items)
        if page.next:
            context["more_url"] = f"{reverse('web:orders')}?{urlencode({'after': page.next})}"
    except HaokaError as exc:
        context["error"] = error_text(exc)
    return render_page(
        request,
        "web/orders/list.html",
        "web/orders/_rows.html",
        context,
        status=422 if context["error"] else 200,
    )


# ---------------------------------------------------------------- an order's page


def _order_response(request, ref: str, *, errors=None, form=None, status: int = 200):
    """The order page (htmx polling: its live part), with a step's error when given."""
    try:
        order = orders_queries.order_for(ref=ref, user_id=request.user.pk)
        page = order_reads.order_page(order=order, user_id=request.user.pk, now=clock.now())
    except orders_queries.OrderNotFound as exc:
        return not_found(request, exc.message)
    errors = errors or {}
    # An error of a step the order is no longer on (it moved meanwhile) shows at the top.
    shown = {page.next_action, "cancel" if page.cancellable else None}
    context = {
        "nav": "me",
        "page": page,
        "order": page.order,
        "errors": {step: text for step, text in errors.items() if step in shown},
        "error": next((text for step, text in errors.items() if step not in shown), None),
        "form": form or {},
        "methods": PAYMENT_METHODS,
    }
    return render_page(
        request, "web/orders/detail.html", "web/orders/_live.html", context, status=status
    )


@order_login_required
def order_detail(request, ref: str):
    """The order's page; its live part alone for htmx polling (a poll after the session
    ended is sent to log in with HX-Redirect, not swapped in)."""
    return _order_response(request, ref)


def _after(request, ref: str, step: str, action):
    """Run one use case; back to the order page on success, the page with the step's
    error (and what was typed) otherwise."""
    try:
        result = action()
    except orders_queries.OrderNotFound as exc:
        return not_found(request, exc.message)
    except HaokaError as exc:
        form = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        return _order_response(
            request, ref, errors={step: _message(exc)}, form=form, status=exc.status
        )
    return result if isinstance(result, HttpResponse) else redirect(_order_url(ref))


def _photos(request, ref: str) -> list[bytes] | None:
    """The three ID photos, in order, when the plan asks for them. Raises ValidationError
    (some missing), PhotoTooLarge."""
    uploads = [request.FILES.get(name) for name in PHOTO_FIELDS]
    if not any(uploads):
        order = orders_queries.order_for(ref=ref, user_id=request.user.pk)
        if order.plan_snapshot.get("requires_photos"):
            raise ValidationError("请上传身份证人像面、国徽面和手持身份证照片", field="photos")
        return None
    if not all(uploads):
        raise ValidationError("请上传身份证人像面、国徽面和手持身份证照片", field="photos")
    for upload in uploads:
        if upload.size > kyc_domain.MAX_PHOTO_BYTES:
            raise kyc_domain.PhotoTooLarge(size=upload.size)
    return [upload.read() for upload in uploads]


@require_POST
@order_login_required
def order_kyc(request, ref: str):
    """实名: name + ID number (and photos when the plan asks for them)."""
    return _after(
        request,
        ref,
        "kyc",
        lambda: orders_operations.submit_kyc(
            ref=ref,
            user_id=request.user.pk,
            name=request.POST.get("name", ""),
            id_number=request.POST.get("id_number", ""),
            photos=_photos(request, ref),
            now=clock.now(),
        ),
    )


@require_POST
@order_login_required
def order_sign(request, ref: str):
    """签约: 我已阅读并同意 + the signature (the verified name)."""
    return _after(
        request,
        ref,
        "contract",
        lambda: orders_operations.sign_contract(
            ref=ref,
            user_id=request.user.pk,
            accept=request.POST.get("accept") in ("1", "on", "true"),
            signature_name=request.POST.get("signature_name", ""),
            now=clock.now(),
        ),
    )


@require_POST
@order_login_required
def order_pay(request, ref: str):
    """支付: start (or resume) the payment and send the browser to the gateway's cashier."""

    def start():
        started = orders_operations.start_payment(
            ref=ref,
            user_id=request.user.pk,
            method=request.POST.get("method", ""),
            now=clock.now(),
        )
        return redirect(started.pay_url) if started.pay_url else None

    return _after(request, ref, "payment", start)


@require_POST
@order_login_required
def order_cancel(request, ref: str):
    def cancel():
        order = orders_operations.cancel(
            ref=ref, user_id=request.user.pk, reason="用户取消", now=clock.now()
        )
        messages.success(request, f"订单已取消，号码 {spaced_msisdn(order.msisdn)} 已释放")

    return _after(request, ref, "cancel", cancel)


@require_POST
@order_login_required
def order_activate(request, ref: str):
    """激活: the last six digits of the card's ICCID."""
    return _after(
        request,
        ref,
        "activate",
        lambda: orders_operations.activate(
            ref=ref,
            user_id=request.user.pk,
            iccid_last6=request.POST.get("iccid_last6", ""),
            now=clock.now(),
        ),
    )


@login_required
def order_contract_pdf(request, ref: str):
    """The signed agreement as a PDF download."""
    try:
        signed = orders_queries.contract_for(ref=ref, user_id=request.user.pk)
    except orders_queries.OrderNotFound as exc:
        return not_found(request, exc.message)
    except HaokaError as exc:
        return not_found(request, error_text(exc))
    if signed.signed_at is None:
        return not_found(request, "协议尚未签署")
    response = HttpResponse(
        orders_contract.pdf(contract=signed, order_ref=ref), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="haoka-contract-{ref}.pdf"'
    return response
