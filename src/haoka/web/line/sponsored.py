"""赞助流量 on a line's pages: what sponsors paid for this month (by sponsor and app), which
sponsors know the number, and opting out of one (new slices stop at once: ``take_slice``
refuses a line that opted out).

Opting out has a confirmation step (GET shows what it means, POST does it); both are the
owner's only, as every line page (someone else's number is a 404 page)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.sponsors import campaigns as sponsor_campaigns
from haoka.sponsors import queries as sponsor_queries
from haoka.web.common import error_text, not_found
from haoka.web.line import views as pages


def _known(line, sponsor_id: str):
    return next(
        (
            k
            for k in sponsor_queries.sponsors_of_line(line_id=line.pk)
            if k.sponsor_id == sponsor_id
        ),
        None,
    )


@require_http_methods(["GET", "POST"])
@pages.owned_line()
def opt_out(request, line, sponsor_id: str):
    """GET: confirm opting out of a sponsor that knows the number; POST: opt out (idempotent)
    and back to the dashboard. A sponsor that does not know the line is a 404 page."""
    known = _known(line, sponsor_id)
    if known is None:
        return not_found(request, "赞助方不存在")
    error = None
    if request.method == "POST":
        try:
            sponsor_campaigns.opt_out(line_id=line.pk, sponsor_id=sponsor_id, now=clock.now())
        except HaokaError as exc:
            error = error_text(exc)
        else:
            messages.success(request, f"已拒绝 {known.company_name} 的流量赞助，新的赞助即刻停止")
            return redirect(pages.line_url("line", line.msisdn) + "#sponsored")
    context = {**pages.base_context(line, "home"), "known": known, "error": error}
    return render(request, "web/lines/sponsor_opt_out.html", context, status=422 if error else 200)
