from __future__ import annotations

from ninja import Router

from haoka.catalog import domain, queries
from haoka.catalog.models import Plan
from haoka.catalog.schemas import (
    BenefitOut,
    CarrierOut,
    PlanDetailOut,
    PlanOut,
    PlanPage,
    RatingGroupOut,
)
from haoka.core.money import format_fen, yuan_to_fen

router = Router(tags=["catalog"])


def _plan_fields(plan: Plan) -> dict:
    return {
        "code": plan.code,
        "name": plan.name,
        "slogan": plan.slogan,
        "carrier": plan.carrier.code,
        "carrier_name": plan.carrier.name,
        "status": plan.status,
        "monthly_fee_fen": plan.monthly_fee_fen,
        "monthly_fee": format_fen(plan.monthly_fee_fen),
        "general_data_bytes": plan.general_data_bytes,
        "targeted_data_bytes": plan.targeted_data_bytes,
        "total_data": domain.format_data(plan.general_data_bytes + plan.targeted_data_bytes),
        "voice_seconds": plan.voice_seconds,
        "sms_count": plan.sms_count,
        "daily_fee_fen": plan.daily_fee_fen,
        "daily_data_bytes": plan.daily_data_bytes,
        "contract_months": plan.contract_months,
        "first_topup_fen": plan.first_topup_fen,
        "tags": [t.code for t in plan.tags.all()],
        "benefits": [
            BenefitOut(code=b.code, name=b.name, value_fen=b.value_fen) for b in plan.benefits.all()
        ],
    }


def _groups(groups) -> list[RatingGroupOut]:
    return [RatingGroupOut(number=g.number, code=g.code, name=g.name) for g in groups]


@router.get("/carriers", response=list[CarrierOut])
def list_carriers(request):
    return [
        CarrierOut(
            code=c.code,
            name=c.name,
            short_name=c.short_name,
            is_virtual=c.is_virtual,
            color=c.color,
        )
        for c in queries.carriers()
    ]


@router.get("/plans", response=PlanPage)
def list_plans(
    request,
    carrier: str | None = None,
    tag: str | None = None,
    max_fee: str | None = None,
    limit: int | None = None,
    after: str | None = None,
):
    """On-sale plans. ``max_fee`` is in yuan (e.g. 29 or 29.9)."""
    max_fee_fen = yuan_to_fen(max_fee) if max_fee not in (None, "") else None
    page = queries.plan_page(
        carrier=carrier, tag=tag, max_fee_fen=max_fee_fen, limit=limit, after=after
    )
    return {"items": [PlanOut(**_plan_fields(p)) for p in page.items], "next": page.next}


@router.get("/plans/{code}", response=PlanDetailOut)
def get_plan(request, code: str):
    plan = queries.plan_detail(code=code)
    return PlanDetailOut(
        **_plan_fields(plan),
        targeted_groups=_groups(plan.targeted_groups.all()),
        zero_rated_groups=_groups(plan.zero_rated_groups.all()),
        payg_data_fen_per_mb=str(plan.payg_data_fen_per_mb),
        payg_voice_fen_per_minute=str(plan.payg_voice_fen_per_minute),
        payg_sms_fen=str(plan.payg_sms_fen),
        min_age=plan.min_age,
        max_age=plan.max_age,
        sale_regions=list(plan.sale_regions),
        forbidden_regions=list(plan.forbidden_regions),
        requires_photos=plan.requires_photos,
        description=plan.description,
    )
