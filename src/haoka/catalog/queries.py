"""Reads of the catalog for pages and the API."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from haoka.catalog.models import (
    Benefit,
    Carrier,
    Pack,
    PackKind,
    Plan,
    RatingGroup,
    SaleStatus,
    Tag,
)
from haoka.core.errors import NotFound, ValidationError
from haoka.core.pagination import Page, paginate

PLAN_ORDER = ("sort", "monthly_fee_fen", "id")


class UnknownCarrier(ValidationError):
    code = "unknown_carrier"
    message = "未知的运营商"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    message = "套餐不存在或未上架"


def carriers() -> list[Carrier]:
    return list(Carrier.objects.order_by("sort", "id"))


def carrier_codes() -> set[str]:
    return set(Carrier.objects.values_list("code", flat=True))


def carrier_by_code(code: str) -> Carrier:
    carrier = Carrier.objects.filter(code=code).first()
    if carrier is None:
        raise UnknownCarrier(carrier=code, known=sorted(carrier_codes()))
    return carrier


def _plans() -> QuerySet[Plan]:
    return Plan.objects.select_related("carrier").prefetch_related(
        "tags", Prefetch("benefits", queryset=Benefit.objects.order_by("code", "id"))
    )


def on_sale_plans(
    *, carrier: str | None = None, tag: str | None = None, max_fee_fen: int | None = None
) -> QuerySet[Plan]:
    """Plans on sale, filtered. Raises UnknownCarrier, ValidationError (negative fee)."""
    qs = _plans().filter(status=SaleStatus.ON_SALE)
    if carrier:
        carrier_by_code(carrier)
        qs = qs.filter(carrier__code=carrier)
    if tag:
        qs = qs.filter(tags__code=tag)
    if max_fee_fen is not None:
        if max_fee_fen < 0:
            raise ValidationError("月租上限不能为负", field="max_fee")
        qs = qs.filter(monthly_fee_fen__lte=max_fee_fen)
    return qs.distinct()


def plan_page(*, carrier=None, tag=None, max_fee_fen=None, limit=None, after=None) -> Page:
    qs = on_sale_plans(carrier=carrier, tag=tag, max_fee_fen=max_fee_fen)
    return paginate(qs, order=PLAN_ORDER, limit=limit, after=after)


def plan_detail(*, code: str, include_unlisted: bool = False) -> Plan:
    """A plan with everything for its page. Raises PlanNotFound (also for drafts)."""
    qs = _plans().prefetch_related(
        Prefetch("targeted_groups", queryset=RatingGroup.objects.order_by("number", "id")),
        Prefetch("zero_rated_groups", queryset=RatingGroup.objects.order_by("number", "id")),
    )
    if not include_unlisted:
        qs = qs.exclude(status=SaleStatus.DRAFT)
    plan = qs.filter(code=code).first()
    if plan is None:
        raise PlanNotFound(code=code)
    return plan


def plan_terms(*, code: str) -> Plan:
    """A listed plan with its carrier only (one query: for checkout, not for pages).
    Raises PlanNotFound (also for drafts)."""
    plan = (
        Plan.objects.select_related("carrier")
        .filter(code=code)
        .exclude(status=SaleStatus.DRAFT)
        .first()
    )
    if plan is None:
        raise PlanNotFound(code=code)
    return plan


def plans_by_codes(*, codes: list[str]) -> list[Plan]:
    """On-sale plans in the order asked, unknown codes dropped."""
    found = {p.code: p for p in on_sale_plans().filter(code__in=codes)}
    return [found[c] for c in codes if c in found]


def tags_in_use() -> list[tuple[str, str]]:
    return list(
        Tag.objects.filter(plans__status=SaleStatus.ON_SALE)
        .distinct()
        .order_by("code", "id")
        .values_list("code", "name")
    )


# ------------------------------------------------------------------ reads of charging


def plan_with_groups(*, code: str) -> Plan | None:
    """The plan (any status) with its zero-rated and targeted rating groups, for rating."""
    return (
        Plan.objects.prefetch_related("zero_rated_groups", "targeted_groups")
        .filter(code=code)
        .first()
    )


def plan_name_and_fee(*, code: str) -> tuple[str, int] | None:
    """(name, monthly fee in fen) of the plan (any status), None for an unknown code."""
    return Plan.objects.filter(code=code).values_list("name", "monthly_fee_fen").first()


def rating_group_numbers() -> frozenset[int]:
    """The numbers of every rating group the catalog lists (general traffic and app classes)."""
    return frozenset(RatingGroup.objects.values_list("number", flat=True))


def app_rating_groups() -> list[tuple[int, str]]:
    """The app classes (rating groups not of general traffic) as (number, name), by number:
    what a sponsor may zero-rate."""
    return list(
        RatingGroup.objects.filter(general=False).order_by("number").values_list("number", "name")
    )


def rating_group_names() -> dict[int, str]:
    """Every rating group's name, by number."""
    return dict(RatingGroup.objects.values_list("number", "name"))


def packs_on_sale(*, carrier_code: str) -> QuerySet[Pack]:
    """Add-on packs on sale for the carrier (packs for every carrier included), with their
    benefit and rating groups."""
    return (
        Pack.objects.filter(status=SaleStatus.ON_SALE)
        .filter(Q(carriers__isnull=True) | Q(carriers__code=carrier_code))
        .select_related("benefit")
        .prefetch_related("rating_groups")
        .distinct()
    )


def is_membership(pack: Pack) -> bool:
    """Whether the pack is a membership (a redeem code for a partner's benefit)."""
    return pack.kind == PackKind.MEMBERSHIP
