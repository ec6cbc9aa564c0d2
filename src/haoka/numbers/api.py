from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.core import clock
from haoka.core.errors import ValidationError
from haoka.core.money import format_fen
from haoka.numbers import domain, operations, queries
from haoka.numbers.models import PhoneNumber, TierCode
from haoka.numbers.schemas import (
    HoldOut,
    NumberPage,
    PatternOut,
    SuggestionOut,
    ValuationOut,
)

router = Router(tags=["numbers"])
TIER_LABELS = dict(TierCode.choices)


def number_out(number: PhoneNumber) -> dict:
    return {
        "msisdn": number.msisdn,
        "carrier": number.carrier_id,
        "province": number.province,
        "city": number.city,
        "tier": number.tier,
        "tier_label": TIER_LABELS.get(number.tier, number.tier),
        "patterns": domain.pattern_codes(number.pattern_mask),
        "price_fen": number.price_fen,
        "price": format_fen(number.price_fen),
        "min_monthly_fen": number.min_monthly_fen,
        "contract_months": number.contract_months,
    }


class SearchParams(Schema):
    carrier: str | None = None
    province: str | None = None
    city: str | None = None
    tail: str | None = None
    contains: str | None = None
    exclude_four: bool = False
    pattern: str | None = None
    tier: str | None = None
    min_price: str | None = None
    max_price: str | None = None
    sort: str = "tier"
    limit: int | None = None
    after: str | None = None


def filters_from(params: SearchParams) -> queries.SearchFilters:
    return queries.SearchFilters.from_query(**params.dict(exclude={"limit", "after"}))


@router.get("", response=NumberPage)
def search_numbers(request, params: Query[SearchParams]):
    """选号: available numbers; reserved and sold numbers never show. Prices in yuan."""
    page = queries.search(filters=filters_from(params), limit=params.limit, after=params.after)
    return {"items": [number_out(n) for n in page.items], "next": page.next}


@router.get("/suggestions", response=list[SuggestionOut])
def suggest_numbers(
    request, birthday: str | None = None, digits: str | None = None, carrier: str | None = None
):
    """Numbers from a birthday (YYYY-MM-DD) or favourite digits."""
    try:
        born = dt.date.fromisoformat(birthday) if birthday else None
    except ValueError:
        raise ValidationError("生日格式应为 YYYY-MM-DD", field="birthday") from None
    found = queries.suggestions(
        birthday=born, favourite_digits=digits or None, carrier=carrier or None
    )
    return [SuggestionOut(**number_out(s.number), reason=s.reason) for s in found]


@router.get("/{msisdn}/valuation", response=ValuationOut)
def valuate_number(request, msisdn: str):
    """号码估价 of any valid mainland mobile number, in the pool or not."""
    result = queries.valuation(msisdn=msisdn)
    v = result.valuation
    letter = v.classification.tier.value
    return ValuationOut(
        msisdn=v.msisdn,
        carrier=result.carrier,
        carrier_name=domain.CARRIER_NAMES.get(result.carrier, v.location.carrier_name),
        province=v.location.province,
        city=v.location.city,
        tier=letter,
        tier_label=TIER_LABELS.get(letter, letter),
        score=v.classification.score,
        patterns=[
            PatternOut(code=m.code, label=m.label, score=m.score) for m in v.classification.matches
        ],
        price_fen=v.price_fen,
        price=format_fen(v.price_fen),
        min_monthly_fen=v.min_monthly_fen,
        contract_months=v.contract_months,
        explanation=list(v.explanation),
        in_pool=result.in_pool,
        status=result.status,
    )


@router.post("/{msisdn}/reserve", response={201: HoldOut}, auth=bearer)
def reserve_number(request, msisdn: str):
    """Hold a number for 15 minutes (at most 3 at once). 409 number_unavailable if taken."""
    hold = operations.reserve(user_id=request.auth.pk, msisdn=msisdn, now=clock.now())
    return Status(201, HoldOut(msisdn=hold.msisdn, reserved_until=hold.reserved_until))


@router.delete("/{msisdn}/reserve", response={204: None}, auth=bearer)
def release_number(request, msisdn: str):
    operations.release(user_id=request.auth.pk, msisdn=msisdn, now=clock.now())
    return Status(204, None)


@router.get("/holds", response=list[HoldOut], auth=bearer)
def my_holds(request):
    return [
        HoldOut(msisdn=h.msisdn, reserved_until=h.reserved_until)
        for h in operations.active_holds(user_id=request.auth.pk, now=clock.now())
    ]
