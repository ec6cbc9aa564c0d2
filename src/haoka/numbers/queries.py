"""Reads of the number pool: search, 推荐 batches, suggestions, valuation of any number, tier
prices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, QuerySet

from haoka.catalog import domain as catalog_domain
from haoka.catalog import queries as catalog_queries
from haoka.core.errors import NotFound, ValidationError
from haoka.core.money import yuan_to_fen
from haoka.core.pagination import Page, paginate
from haoka.numbers import domain, recommend, store
from haoka.numbers.domain import NumberState
from haoka.numbers.models import PhoneNumber, TierCode, TierPrice

SORTS = {
    "tier": ("tier_rank", "price_fen", "id"),
    "price": ("price_fen", "id"),
    "-price": ("-price_fen", "-id"),
}
#: From this many digits on, a tail search goes through the reversed-number index.
SELECTIVE_TAIL = 3
LIST_FIELDS = (
    "id",
    "msisdn",
    "carrier_id",
    "province",
    "city",
    "tier",
    "tier_rank",
    "score",
    "pattern_mask",
    "price_fen",
    "min_monthly_fen",
    "contract_months",
)


class NumberNotFound(NotFound):
    code = "number_not_found"
    message = "号码不在号码池中"


class InvalidSearch(ValidationError):
    code = "invalid_number_search"
    message = "选号条件有误"


class NotMobileSegment(ValidationError):
    code = "unknown_segment"
    message = "无法识别该号段的运营商"


@dataclass(frozen=True)
class SearchFilters:
    carrier: str | None = None
    province: str | None = None
    city: str | None = None
    tail: str | None = None
    contains: str | None = None
    exclude_four: bool = False
    pattern: str | None = None
    tier: str | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    sort: str = "tier"

    @classmethod
    def from_query(
        cls, *, min_price: str | None = None, max_price: str | None = None, **fields
    ) -> SearchFilters:
        """Filters as a page or API receives them: blanks are "no filter", prices in yuan.
        Raises InvalidAmount for a bad price."""
        cleaned = {
            k: (v or None) if isinstance(v, str) and k != "sort" else v for k, v in fields.items()
        }
        return cls(
            **cleaned,
            min_price_fen=yuan_to_fen(min_price) if min_price else None,
            max_price_fen=yuan_to_fen(max_price) if max_price else None,
        )


_FIELD_NAMES = {"tail": "尾号", "contains": "包含数字"}


def _digits(value: str | None, *, field: str, max_len: int) -> str | None:
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit() and 1 <= len(value) <= max_len):
        raise InvalidSearch(
            f"{_FIELD_NAMES[field]}只能是 1-{max_len} 位数字", field=field, value=value[:20]
        )
    return value


def _rev_range(tail: str) -> tuple[str, str]:
    """Numbers ending in ``tail`` are those whose reversed form lies in [lo, hi)."""
    rev = tail[::-1]
    return rev, rev[:-1] + chr(ord(rev[-1]) + 1)


def search_queryset(filters: SearchFilters) -> QuerySet[PhoneNumber]:
    """Available numbers matching the filters. Raises InvalidSearch, UnknownCarrier."""
    if filters.sort not in SORTS:
        raise InvalidSearch(
            "排序方式只能是 tier、price 或 -price", field="sort", value=filters.sort
        )
    qs = PhoneNumber.objects.filter(status=NumberState.AVAILABLE).only(*LIST_FIELDS)
    if filters.carrier:
        catalog_queries.carrier_by_code(filters.carrier)
        qs = qs.filter(carrier_id=filters.carrier)
    if filters.province:
        # 归属地 are stored short ("广东"); a full name ("广东省") finds the same numbers
        qs = qs.filter(province=catalog_domain.province_key(filters.province))
    if filters.city:
        qs = qs.filter(city=filters.city.strip())
    tail = _digits(filters.tail, field="tail", max_len=8)
    if tail and len(tail) >= SELECTIVE_TAIL:
        lo, hi = _rev_range(tail)
        qs = qs.filter(msisdn_rev__gte=lo, msisdn_rev__lt=hi)
    elif tail:
        # One or two digits match 1-10% of the pool: walking the sort index and checking the
        # ending beats collecting every match through the reversed-number index and sorting.
        qs = qs.filter(msisdn__endswith=tail)
    contains = _digits(filters.contains, field="contains", max_len=8)
    if contains:
        qs = qs.filter(msisdn__contains=contains)
    if filters.exclude_four:
        qs = qs.filter(has_four=False)
    if filters.pattern:
        bit = domain.PATTERN_BITS.get(filters.pattern)
        if bit is None:
            raise InvalidSearch(
                "未知的靓号规则",
                field="pattern",
                value=filters.pattern,
                known=sorted(domain.PATTERN_BITS),
            )
        qs = qs.annotate(_pattern=F("pattern_mask").bitand(1 << bit)).exclude(_pattern=0)
    if filters.tier:
        if filters.tier not in TierCode.values:
            raise InvalidSearch("未知的靓号等级", field="tier", value=filters.tier)
        # By rank, the column the (status, tier_rank, price) index leads with.
        qs = qs.filter(tier_rank="SABCDN".index(filters.tier))
    for bound, op in ((filters.min_price_fen, "gte"), (filters.max_price_fen, "lte")):
        if bound is not None:
            if bound < 0:
                raise InvalidSearch("价格不能为负", field="price")
            qs = qs.filter(**{f"price_fen__{op}": bound})
    return qs


def search(*, filters: SearchFilters, limit: int | None = None, after: str | None = None) -> Page:
    """One page of available numbers. Two steps (a deferred join): the sort keys and ids of the
    page come from an index alone, then only the page's rows are read from the table.
    Raises InvalidSearch, UnknownCarrier, InvalidCursor."""
    qs = search_queryset(filters)
    order = SORTS[filters.sort]
    keys = qs.values(*(f.lstrip("-") for f in order))
    page = paginate(keys, order=order, limit=limit, after=after)
    rows = PhoneNumber.objects.only(*LIST_FIELDS).in_bulk([k["id"] for k in page.items])
    return Page(items=[rows[k["id"]] for k in page.items if k["id"] in rows], next=page.next)


def recommended(*, carrier: str | None, seed: int, batch: int) -> list[PhoneNumber]:
    """推荐: batch ``batch`` of the seed's candidates (:mod:`haoka.numbers.recommend`), read
    from the pool's available numbers of ``carrier`` (any when None) in two windows of the
    reversed-number index (affordable tiers, vanity tiers) starting where the seed says.
    Raises UnknownCarrier."""
    pool = search_queryset(SearchFilters(carrier=carrier))
    start = recommend.window_start(seed)
    cheap = _window(
        pool.filter(tier_rank__gte=recommend.AFFORDABLE_FROM_RANK),
        start=start,
        size=recommend.AFFORDABLE_WINDOW,
    )
    nice = _window(
        pool.filter(tier_rank__lt=recommend.AFFORDABLE_FROM_RANK),
        start=start,
        size=recommend.VANITY_WINDOW,
    )
    picked = recommend.batch(
        affordable=[n.msisdn for n in cheap], vanity=[n.msisdn for n in nice], seed=seed,
        number=batch,
    )  # fmt: skip
    by_msisdn = {n.msisdn: n for n in (*cheap, *nice)}
    return [by_msisdn[m] for m in picked]


def _window(qs: QuerySet[PhoneNumber], *, start: str, size: int) -> list[PhoneNumber]:
    """``size`` numbers from ``start`` on in the reversed-number order, going round."""
    rows = list(qs.filter(msisdn_rev__gte=start).order_by("msisdn_rev")[:size])
    if len(rows) < size:
        rows += qs.filter(msisdn_rev__lt=start).order_by("msisdn_rev")[: size - len(rows)]
    return rows


@dataclass(frozen=True)
class Suggestion:
    number: PhoneNumber
    reason: str


def suggestions(
    *,
    birthday: dt.date | None,
    favourite_digits: str | None,
    carrier: str | None = None,
    limit: int = 12,
) -> list[Suggestion]:
    """Available numbers built from a birthday or favourite digits, best reasons first.
    Raises InvalidSuggestionInput, UnknownCarrier."""
    picked: dict[str, Suggestion] = {}
    for wish in domain.suggestion_tails(birthday=birthday, favourite_digits=favourite_digits):
        filters = SearchFilters(
            carrier=carrier,
            tail=wish.tail if wish.at_end else None,
            contains=None if wish.at_end else wish.tail,
        )
        for number in search_queryset(filters).order_by(*SORTS["tier"])[: max(limit, 4)]:
            picked.setdefault(number.msisdn, Suggestion(number=number, reason=wish.reason))
        if len(picked) >= limit:
            break
    return list(picked.values())[:limit]


def price_table(*, carrier: str) -> dict:
    """The carrier's tier prices as domain TierPrice values (defaults where staff set none)."""
    table = dict(domain.DEFAULT_TIER_PRICES.get(carrier, {}))
    by_code = {t.value: t for t in table}
    for row in TierPrice.objects.filter(carrier_id=carrier).order_by("tier", "id"):
        tier = by_code.get(row.tier)
        if tier is None:
            continue
        table[tier] = domain.TierPrice(
            tier=tier,
            price_fen=row.price_fen,
            min_monthly_fen=row.min_monthly_fen,
            contract_months=row.contract_months,
        )
    return table


@dataclass(frozen=True)
class PoolValuation:
    valuation: domain.Valuation
    in_pool: bool
    status: str | None
    carrier: str


def valuation(*, msisdn: str) -> PoolValuation:
    """号码估价 of any valid mainland mobile number, in the pool or not. A pool number is priced
    with its pool carrier's table (own-brand numbers ride on a host network's segments).
    Raises InvalidMsisdn, NotMobileSegment."""
    msisdn = domain.parse_msisdn(msisdn)
    pooled = PhoneNumber.objects.filter(msisdn=msisdn).values_list("status", "carrier_id").first()
    carrier = pooled[1] if pooled else domain.locate(msisdn=msisdn).carrier_code
    if not carrier:
        raise NotMobileSegment(msisdn=msisdn)
    result = domain.valuate(msisdn=msisdn, prices=price_table(carrier=carrier))
    if pooled is None:
        return PoolValuation(valuation=result, in_pool=False, status=None, carrier=carrier)
    # Who holds or owns a number is nobody else's business: only "可选" or "不可选".
    shown = "AVAILABLE" if pooled[0] == NumberState.AVAILABLE else "UNAVAILABLE"
    return PoolValuation(valuation=result, in_pool=True, status=shown, carrier=carrier)


def number_for_sale(*, msisdn: str) -> PhoneNumber:
    msisdn = domain.parse_msisdn(msisdn)
    number = store.load_number(msisdn)
    if number is None:
        raise NumberNotFound(msisdn=msisdn)
    return number
