"""What the pages show, shaped for templates: filter choices, compare rows, number cards.

Display only. Which plan is better, what a number is worth and which numbers match a search
are decided in the catalog and numbers domains; this module only lays their answers out.
"""

from __future__ import annotations

import re
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


# ---------------------------------------------------------------- orders

#: The checkout wizard's steps, as the step indicator shows them.
CHECKOUT_STEPS = ("号码", "套餐", "实名", "签约", "支付", "完成")
#: Which step an order in each state is on (index into CHECKOUT_STEPS).
_STEP_OF_STATE = {
    "CREATED": 2,
    "KYC_REVIEW": 2,
    "KYC_REJECTED": 2,
    "KYC_PASSED": 3,
    "SIGNED": 4,
}
PAYMENT_METHODS = (("wechat", "微信支付"), ("alipay", "支付宝"))
_METHOD_LABELS = {code.upper(): label for code, label in PAYMENT_METHODS}
_COURIERS = {"SIMEXPRESS": "模拟快递"}
#: States the consumer sees as "in progress at haoka or the carrier" (no action of theirs).
_TONES = {
    "ACTIVATED": "done",
    "CANCELLED": "failed",
    "KYC_REJECTED": "failed",
    "CARRIER_REJECTED": "failed",
}


@dataclass(frozen=True)
class Step:
    label: str
    status: str  # done | current | todo | error


def checkout_steps(*, current: int, failed: bool = False) -> list[Step]:
    """The six steps with the one at ``current`` highlighted (or marked failed)."""
    steps = []
    for i, label in enumerate(CHECKOUT_STEPS):
        if i < current:
            status = "done"
        elif i == current:
            status = "error" if failed else "current"
        else:
            status = "todo"
        steps.append(Step(label, status))
    return steps


def order_steps(state: str) -> list[Step]:
    """Steps of an order page: real-name, contract, payment, then 完成 for everything after."""
    failed = state in ("KYC_REJECTED", "CARRIER_REJECTED")
    index = _STEP_OF_STATE.get(state, len(CHECKOUT_STEPS) - 1)
    if state == "ACTIVATED":
        return [Step(label, "done") for label in CHECKOUT_STEPS]
    return checkout_steps(current=index, failed=failed)


def state_tone(state: str, next_action: str | None) -> str:
    """Colour of a state chip: action (the consumer's turn), moving, done, failed."""
    return _TONES.get(state) or ("action" if next_action else "moving")


def method_label(method: str) -> str:
    return _METHOD_LABELS.get((method or "").upper(), "在线支付")


_PAYMENT_STATUS = {
    "CREATED": "待支付",
    "PENDING": "待支付",
    "PAID": "已支付",
    "PARTIALLY_REFUNDED": "已部分退款",
    "REFUNDED": "已退款",
    "CLOSED": "已关闭",
}


def payment_text(payment) -> str:
    """微信支付 · 已支付"""
    return f"{method_label(payment.method)} · {_PAYMENT_STATUS.get(payment.status, '处理中')}"


def courier_name(code: str) -> str:
    return _COURIERS.get(code, code or "快递")


@dataclass(frozen=True)
class Milestone:
    label: str
    at: object  # datetime or None
    status: str  # done | current | todo | error
    note: str = ""


#: The order's way, as the timeline lists it: (state, label when reached).
_MILESTONES = (
    ("CREATED", "已下单，号码已锁定"),
    ("KYC_PASSED", "实名认证通过"),
    ("SIGNED", "已签署入网协议"),
    ("PAID", "支付成功"),
    ("SUBMITTED", "已提交运营商"),
    ("ACCEPTED", "运营商已开卡"),
    ("SHIPPED", "已发货"),
    ("DELIVERED", "已签收"),
    ("ACTIVATED", "已激活"),
)
_FAILED_LABELS = {
    "CANCELLED": "订单已取消",
    "KYC_REJECTED": "实名认证未通过",
    "CARRIER_REJECTED": "运营商未受理",
}


def milestones(*, state: str, events: Sequence, paid_step: bool) -> list[Milestone]:
    """The status timeline: reached milestones with their time, the next one current, the
    rest to come; a failed order ends with its exit. Notes (retries, late carrier data) are
    for staff and are left out."""
    reached: dict[str, object] = {}
    reasons: dict[str, str] = {}
    for event in events:
        if event.to_state and event.from_state != event.to_state:
            reached.setdefault(event.to_state, event.at)
            reasons.setdefault(event.to_state, event.reason)
    way = [(s, label) for s, label in _MILESTONES if paid_step or s != "PAID"]
    if "KYC_REVIEW" in reached:
        way.insert(1, ("KYC_REVIEW", "实名信息转人工审核"))
    out: list[Milestone] = []
    current_given = state in _FAILED_LABELS or state == "ACTIVATED"
    for code, label in way:
        if code in reached:
            out.append(Milestone(label, reached[code], "done"))
        elif state in _FAILED_LABELS:
            continue
        else:
            out.append(Milestone(label, None, "todo" if current_given else "current"))
            current_given = True
    if state in _FAILED_LABELS:
        note = plain_reason(reasons.get(state, ""))
        out.append(Milestone(_FAILED_LABELS[state], reached.get(state), "error", note))
    return out


def plain_reason(reason: str) -> str:
    """A reason fit for the consumer: Chinese text is kept; a technical tail (an error code
    after "：") is dropped."""
    head, sep, tail = reason.partition("：")
    if sep and re.search(r"[A-Za-z_]{3,}", tail):
        return head
    return "" if re.search(r"[A-Za-z_]{3,}", reason) else reason
