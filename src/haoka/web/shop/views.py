"""The shop's front: plans, plan detail and compare (number picking is in :mod:`.numbers`)."""

from __future__ import annotations

from django.shortcuts import redirect, render

from haoka.catalog import queries as catalog_queries
from haoka.catalog.domain import MAX_COMPARE
from haoka.core.errors import HaokaError
from haoka.core.money import yuan_to_fen
from haoka.web.common import error_text, not_found, render_page
from haoka.web.shop import presenters


def home(request):
    return redirect("web:plans")


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
