"""消息中心: the signed-in person's messages, newest first; tapping one marks it read and
opens its page; 全部已读. The unread count in the bottom bar is :mod:`haoka.web.context`'s."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.notices import operations as notices_operations
from haoka.notices import queries as notices_queries
from haoka.web.common import error_text, not_found, render_page

PAGE_SIZE = 20


@login_required
def message_list(request):
    after = request.GET.get("after") or None
    context = {"nav": "me", "rows": [], "more_url": "", "after": after, "error": None}
    try:
        page = notices_queries.page_of(user_id=request.user.pk, limit=PAGE_SIZE, after=after)
        context["rows"] = page.items
        if page.next:
            context["more_url"] = f"{reverse('web:messages')}?{urlencode({'after': page.next})}"
    except HaokaError as exc:
        context["error"] = error_text(exc)
    return render_page(
        request,
        "web/accounts/messages.html",
        "web/accounts/_message_rows.html",
        context,
        status=422 if context["error"] else 200,
    )


@login_required
@require_POST
def message_read(request, pk: int):
    """Mark the message read and open its page (a message of someone else's is not found)."""
    try:
        note = notices_operations.mark_read(
            user_id=request.user.pk, notification_id=pk, now=clock.now()
        )
    except HaokaError as exc:
        return not_found(request, exc.message)
    return redirect(_local(note.link) or reverse("web:messages"))


@login_required
@require_POST
def message_read_all(request):
    if notices_operations.mark_all_read(user_id=request.user.pk, now=clock.now()):
        flash.success(request, "已全部标为已读")
    return redirect("web:messages")


def _local(link: str) -> str:
    """A message's link when it is a path on this site ("" otherwise)."""
    return link if link.startswith("/") and not link.startswith("//") else ""
