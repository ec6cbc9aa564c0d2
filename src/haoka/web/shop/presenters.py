"""What the pages show, shaped for templates: filter choices, compare rows, number cards.

Display only. Which plan is better, what a number is worth and which numbers match a search
are decided in the catalog and numbers domains; this module only lays their answers out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from haoka.catalog.domain import CompareCell, compare_row, format_data, format_minutes
from haoka.core.money import format_fen
from haoka.numbers import domain as numbers_domain

#: 月租上限 choices of the plan filter: (yuan, label).
MAX_FEE_CHOICES = (
    ("", "不限"),
    ("10", "10元以内"),
    ("20", "20元以内"),
    ("30", "30元以内"),
    ("50", "50元以内"),
)
TIER_CHOICES = (
    ("S", "S 级"),
    ("A", "A 级"),
    ("B", "B 级"),
    ("C", "C 级"),
    ("D", "D 级"),
    ("N", "普通号"),
)
SORT_CHOICES = (("tier", "靓号优先"), ("price", "价格从低到高"), ("-price", "价格从高到低"))
#: Rules a buyer would not search for (penalties).
_HIDDEN_PATTERNS = frozenset({"FOUR_IN_TAIL"})


def pattern_choices() -> list[tuple[str, str]]:
    """(code, Chinese label) of every searchable vanity pattern, in table order."""
    return [
        (rule.code, rule.label)
        for rule in numbers_domain.RULES
        if rule.code in numbers_domain.PATTERN_BITS and rule.code not in _HIDDEN_PATTERNS
    ]


def split_codes(values: Iterable[str]) -> list[str]:
    """``["A,B", "C", "A"]`` -> ``["A", "B", "C"]``: comma lists and repeats, in order, once."""
    seen: dict[str, None] = {}
    for value in values:
        for code in value.split(","):
            if code.strip():
                seen.setdefault(code.strip(), None)
    return list(seen)


# ---------------------------------------------------------------- plan compare


@dataclass(frozen=True)
class CompareRow:
    label: str
    cells: list[CompareCell]


def _or_none(value: int, text: Callable[[int], str]) -> str:
    return text(value) if value else "无"


def _months(months: int) -> str:
    return f"{months}个月" if months else "无合约"


def _benefit_value(plan) -> int:
    return sum(b.value_fen for b in plan.benefits.all())


def _benefits_text(plan) -> str:
    names = [b.name for b in plan.benefits.all()]
    return "、".join(names) if names else "无"


def _regions(regions: Sequence[str], empty: str) -> str:
    return "、".join(regions) if regions else empty


#: (label, value for ranking, text, higher is better); value None: a row of facts only.
_ROWS: tuple[tuple[str, Callable | None, Callable, bool], ...] = (
    ("运营商", None, lambda p: p.carrier.name, False),
    ("月租", lambda p: p.monthly_fee_fen, lambda p: f"{format_fen(p.monthly_fee_fen)}/月", False),
    (
        "总流量",
        lambda p: p.general_data_bytes + p.targeted_data_bytes,
        lambda p: _or_none(p.general_data_bytes + p.targeted_data_bytes, format_data),
        True,
    ),
    (
        "通用流量",
        lambda p: p.general_data_bytes,
        lambda p: _or_none(p.general_data_bytes, format_data),
        True,
    ),
    (
        "定向流量",
        lambda p: p.targeted_data_bytes,
        lambda p: _or_none(p.targeted_data_bytes, format_data),
        True,
    ),
    ("通话", lambda p: p.voice_seconds, lambda p: _or_none(p.voice_seconds, format_minutes), True),
    ("短信", lambda p: p.sms_count, lambda p: _or_none(p.sms_count, "{}条".format), True),
    ("会员权益", _benefit_value, _benefits_text, True),
    ("合约期", lambda p: p.contract_months, lambda p: _months(p.contract_months), False),
    (
        "首充",
        lambda p: p.first_topup_fen,
        lambda p: format_fen(p.first_topup_fen) if p.first_topup_fen else "无",
        False,
    ),
    ("年龄", None, lambda p: f"{p.min_age}-{p.max_age}周岁", False),
    ("销售地区", None, lambda p: _regions(p.sale_regions, "全国"), False),
    ("禁发区", None, lambda p: _regions(p.forbidden_regions, "无"), False),
)


def compare_rows(plans: Sequence) -> list[CompareRow]:
    """Rows of the compare table; the best value of each ranked row is marked."""
    rows = []
    for label, value, text, higher_is_better in _ROWS:
        if value is None:
            best = [False] * len(plans)
        else:
            best = compare_row([value(p) for p in plans], higher_is_better=higher_is_better)
        rows.append(
            CompareRow(label, [CompareCell(text(p), b) for p, b in zip(plans, best, strict=True)])
        )
    return rows


# ---------------------------------------------------------------- numbers


@dataclass(frozen=True)
class NumberCard:
    number: object  # numbers.models.PhoneNumber (list fields only)
    segments: list[tuple[str, bool]]  # (text, highlighted), spaces included
    carrier: object | None  # catalog.models.Carrier
    location: str
    reason: str = ""


def highlight_span(msisdn: str, *, tail: str | None, contains: str | None) -> tuple[int, int]:
    """(start, length) of the digits to highlight: the searched tail or digits, else the
    longest vanity pattern the number matched (as the numbers domain classified it)."""
    if tail:
        return 11 - len(tail), len(tail)
    if contains and contains in msisdn:
        return msisdn.rfind(contains), len(contains)
    matches = [m for m in numbers_domain.classify(msisdn).matches if m.score > 0 and m.length < 11]
    if not matches:
        return 0, 0
    best = max(matches, key=lambda m: m.length)
    return best.start, best.length


def segments(msisdn: str, start: int, length: int) -> list[tuple[str, bool]]:
    """``138 1234 5678`` as runs of (text, highlighted); spaces never highlighted."""
    runs: list[tuple[str, bool]] = []
    for i, digit in enumerate(msisdn):
        if i in (3, 7) and len(msisdn) == 11:
            runs.append((" ", False))
        marked = start <= i < start + length
        if runs and runs[-1][1] == marked and runs[-1][0] != " ":
            runs[-1] = (runs[-1][0] + digit, marked)
        else:
            runs.append((digit, marked))
    return runs


def location_text(province: str, city: str) -> str:
    if not province:
        return "归属地未知"
    return province if city in ("", province) else f"{province} {city}"


def number_cards(
    numbers: Iterable,
    *,
    carriers: dict,
    tail: str | None = None,
    contains: str | None = None,
    reasons: Sequence[str] | None = None,
) -> list[NumberCard]:
    cards = []
    for i, number in enumerate(numbers):
        start, length = highlight_span(number.msisdn, tail=tail, contains=contains)
        cards.append(
            NumberCard(
                number=number,
                segments=segments(number.msisdn, start, length),
                carrier=carriers.get(number.carrier_id),
                location=location_text(number.province, number.city),
                reason=reasons[i] if reasons else "",
            )
        )
    return cards
