"""流量控 pages of a line: what can be given or banked right now and why, a gift of data to
another line (confirmed with the SMS code sent to this line's own number), the data bank
(deposit, withdraw, lots, statement) and the history of every movement.

Each POST makes one call into ``charging.gifts`` or ``charging.databank``. A form carries a
key made when the page was drawn, so a double tap or a reload is the same movement. Errors
are shown on the page, in Chinese, with what was typed; the operation changed nothing.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from haoka.charging import (
    conversions,
    databank,
    family,
    family_rules,
    family_view,
    flowctl,
    gifts,
    movements,
    points_shop,
)
from haoka.core import clock
from haoka.core.clientip import client_ip
from haoka.core.errors import HaokaError, ValidationError
from haoka.core.pii import mask_phone
from haoka.web.common import error_text, not_found
from haoka.web.line import views as pages

FORMS = ("to_msisdn", "megabytes", "bank_megabytes", "convert_megabytes", "member_msisdn", "cap_mb")


def _megabytes(text: str) -> int:
    """Megabytes typed in a form (whole numbers). Raises ValidationError."""
    text = (text or "").strip().upper().removesuffix("MB").strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationError("请填写流量（MB，整数）", field="megabytes")
    return int(text)


def _key(request) -> str:
    """The form's idempotency key (made when the page was drawn); never empty."""
    key = request.POST.get("key", "").strip()
    return key[:64] if key.isalnum() else ""


def _family(line, now):
    try:
        return family_view.family_of(line_id=line.pk, now=now)
    except family_rules.FamilyNotFound:
        return None


def page_response(
    request, line, *, error=None, bank_error=None, points_error=None, family_error=None,
    form=None, status=200,
):  # fmt: skip
    """The 流量控 page: the figures, the gift form, the bank and the history."""
    now = clock.now()
    group = _family(line, now)
    view = flowctl.overview(line_id=line.pk, user_id=line.user_id, status=line.status, now=now)
    context = {
        **pages.base_context(line, "data"),
        "view": view,
        "form": form or {},
        "error": error,
        "bank_error": bank_error,
        "points_error": points_error,
        "family": group,
        "family_members": [m for m in group.members if m.role != "MAIN"] if group else [],
        "family_error": family_error,
        "key": secrets.token_hex(16),
        "min_mb": movements.MIN_BYTES // movements.MB,
        "now": now,
    }
    return render(request, "web/lines/data.html", context, status=status)


@require_safe
@pages.owned_line()
def data_control(request, line):
    """流量控: GET the page."""
    return page_response(request, line)


@require_POST
@pages.owned_line(back="line_data")
def gift(request, line):
    """转赠, first step: check the gift and send the code to this line's number; then the
    confirmation page asks for it."""
    form = {k: request.POST.get(k, "") for k in FORMS}
    try:
        asked = gifts.ask(
            line_id=line.pk, user_id=request.user.pk, to_msisdn=form["to_msisdn"].strip(),
            megabytes=_megabytes(form["megabytes"]), client_ip=client_ip(request),
            now=clock.now(), request_key=_key(request),
        )  # fmt: skip
    except HaokaError as exc:
        return page_response(request, line, error=error_text(exc), form=form, status=exc.status)
    return redirect(pages.line_url("line_data_gift", line.msisdn, asked.pk))


def _gift_response(request, line, gift_id: int, *, error=None, status=200):
    try:
        found, to_msisdn = gifts.of_line(gift_id=gift_id, line_id=line.pk)
    except gifts.GiftNotFound:
        return not_found(request, "转赠记录不存在")
    context = {
        **pages.base_context(line, "data"),
        "gift": found,
        "data": movements.format_bytes(found.amount),
        "to_msisdn": mask_phone(to_msisdn),
        "state": movements.GiftState(found.state),
        "error": error,
        "now": clock.now(),
    }
    return render(request, "web/lines/data_gift.html", context, status=status)


@require_http_methods(["GET", "POST"])
@pages.owned_line(back="line_data")
def gift_page(request, line, gift_id: int):
    """GET: the gift's confirmation (code) page, or where the gift stands. POST: 转赠, second
    step: the code moves the data; back to 流量控 with a message."""
    if request.method == "GET":
        return _gift_response(request, line, gift_id)
    code = request.POST.get("code", "").strip()
    try:
        done = gifts.confirm(
            gift_id=gift_id, line_id=line.pk, user_id=request.user.pk, code=code, now=clock.now()
        )
    except gifts.GiftNotFound:
        return not_found(request, "转赠记录不存在")
    except HaokaError as exc:
        return _gift_response(request, line, gift_id, error=error_text(exc), status=exc.status)
    messages.success(request, f"已转赠 {movements.format_bytes(done.amount)}，对方已收到")
    return redirect(pages.line_url("line_data", line.msisdn))


@require_POST
@pages.owned_line(back="line_data")
def bank(request, line, action: str):
    """流量银行: 存入 (``deposit``) or 取出 (``withdraw``)."""
    form = {k: request.POST.get(k, "") for k in FORMS}
    move = {"deposit": databank.deposit, "withdraw": databank.withdraw}.get(action)
    if move is None:
        return not_found(request)
    try:
        done = move(
            line_id=line.pk, megabytes=_megabytes(form["bank_megabytes"]), now=clock.now(),
            request_key=_key(request),
        )  # fmt: skip
    except HaokaError as exc:
        return page_response(
            request, line, bank_error=error_text(exc), form=form, status=exc.status
        )
    data = movements.format_bytes(done.amount)
    if action == "deposit":
        messages.success(request, f"已存入流量银行 {data}，12 个月内可取出")
    else:
        messages.success(request, f"已从流量银行取出 {data}，本月底前有效")
    return redirect(pages.line_url("line_data", line.msisdn))


@require_POST
@pages.owned_line(back="line_data")
def convert(request, line):
    """兑换积分: data of this line into points for its owner."""
    form = {k: request.POST.get(k, "") for k in FORMS}
    try:
        done = conversions.convert(
            line_id=line.pk, megabytes=_megabytes(form["convert_megabytes"]), now=clock.now(),
            request_key=_key(request),
        )  # fmt: skip
    except HaokaError as exc:
        return page_response(
            request, line, points_error=error_text(exc), form=form, status=exc.status
        )
    data = movements.format_bytes(done.amount)
    messages.success(request, f"已将 {data} 兑换为 {done.points} 积分，12 个月内有效")
    return redirect(pages.line_url("line_data", line.msisdn))


@require_POST
@pages.owned_line(back="line_data")
def redeem(request, line):
    """积分商城: spend points on an item, a pack or membership onto this line."""
    item = request.POST.get("item", "")[:40]
    key = f"{_key(request) or secrets.token_hex(16)}:{item}"  # one page's tap on one item
    try:
        done = points_shop.redeem(
            user_id=request.user.pk, item_code=item, line_id=line.pk,
            request_key=key, now=clock.now(),
        )  # fmt: skip
    except HaokaError as exc:
        return page_response(request, line, points_error=error_text(exc), status=exc.status)
    note = f"已用 {done.points} 积分兑换「{done.item.name}」"
    if done.coupon_code:
        note += f"，券码 {done.coupon_code}"
    messages.success(request, note)
    return redirect(pages.line_url("line_data", line.msisdn))


def _family_action(request, line, action: str, form: dict):
    """Run one family use case for the page; returns the message to show. Raises its errors."""
    now, member = clock.now(), request.POST.get("member", "")
    member_id = int(member) if member.isdigit() and len(member) < 12 else 0
    if action == "create":
        family.create(line_id=line.pk, user_id=request.user.pk, now=now)
        return "家庭共享已开通，邀请家人加入吧"
    if action == "invite":
        family.invite(
            line_id=line.pk, user_id=request.user.pk, msisdn=form["member_msisdn"].strip(),
            monthly_cap_mb=_megabytes(form["cap_mb"]), client_ip=client_ip(request), now=now,
        )  # fmt: skip
        return f"邀请已发送，请对方用发到 {mask_phone(form['member_msisdn'].strip())} 的验证码接受"
    if action == "accept":
        code = request.POST.get("code", "").strip()
        family.accept(member_id=member_id, line_id=line.pk, user_id=request.user.pk, code=code,
                      now=now)  # fmt: skip
        return "已加入家庭共享：自己的流量用完后使用家庭共享流量"
    if action == "cap":
        family.set_cap(line_id=line.pk, member_id=member_id,
                       monthly_cap_mb=_megabytes(form["cap_mb"]), now=now)  # fmt: skip
        return "每月上限已修改"
    if action == "remove":
        family.remove(line_id=line.pk, member_id=member_id, now=now)
        return "已移出家庭共享"
    if action == "leave":
        family.leave(line_id=line.pk, now=now)
        return "已退出家庭共享"
    family.dissolve(line_id=line.pk, now=now)
    return "家庭共享已解散"


FAMILY_ACTIONS = ("create", "invite", "accept", "cap", "remove", "leave", "dissolve")


@require_POST
@pages.owned_line(back="line_data")
def family_action(request, line, action: str):
    """家庭共享 from the page: create, invite, accept, change a cap, remove, leave, dissolve."""
    if action not in FAMILY_ACTIONS:
        return not_found(request)
    form = {k: request.POST.get(k, "") for k in FORMS}
    try:
        note = _family_action(request, line, action, form)
    except HaokaError as exc:
        return page_response(
            request, line, family_error=error_text(exc), form=form, status=exc.status
        )
    messages.success(request, note)
    return redirect(pages.line_url("line_data", line.msisdn) + "#family")
