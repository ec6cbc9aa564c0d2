"""An order's page shaped for templates: the checkout steps, state tones, the timeline.

Display only: the order's states and what may happen next are the orders domain's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from haoka.logistics import queries as logistics_queries
from haoka.web.common import method_label

#: The checkout wizard's steps, as the step indicator shows them.
CHECKOUT_STEPS = ("号码", "套餐", "实名", "签约", "支付", "完成")
#: Which step an order in each state is on (index into CHECKOUT_STEPS).
_STEP_OF_STATE = {
    "CREATED": 2,
    "KYC_RETRY": 2,
    "KYC_REVIEW": 2,
    "KYC_REJECTED": 2,
    "KYC_PASSED": 3,
    "SIGNED": 4,
}
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


#: A payment's state as the consumer reads it beside the method. Not the payments domain's
#: labels on purpose: to the payer a CREATED payment is as unpaid as a PENDING one.
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


#: What an order that times out unpaid is waiting for, by state (the deadline banner).
_AWAITING = {
    "CREATED": "完成实名认证",
    "KYC_RETRY": "更正实名信息",
    "KYC_PASSED": "签署入网协议",
    "SIGNED": "完成支付",
}


def awaiting_text(state: str, *, amount_due_fen: int) -> str:
    """What the consumer must do before the order's deadline: 完成实名认证, 签署入网协议,
    完成支付 (完成办理 when nothing is due)."""
    if state == "SIGNED" and not amount_due_fen:
        return "完成办理"
    return _AWAITING.get(state, "完成办理")


def duration_text(left: dt.timedelta) -> str:
    """A time left as people read it: 23 小时 59 分, 29 分 59 秒, 已过期 when none is left.
    (The page's script then ticks it down as H:MM:SS or MM:SS.)"""
    seconds = int(left.total_seconds())
    if seconds <= 0:
        return "已过期"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} 小时 {minutes} 分"
    return f"{minutes} 分 {seconds} 秒"


def courier_name(code: str) -> str:
    return logistics_queries.courier_name(code)


@dataclass(frozen=True)
class Milestone:
    label: str
    at: object  # datetime or None
    status: str  # done | current | todo | error
    note: str = ""


#: The order's way, as the timeline lists it: (state, label when reached).
#: A milestone not reached yet reads as in progress (current) or as what comes (todo):
#: never a past tense before it happened.
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
_CURRENT_LABELS = {
    "KYC_PASSED": "实名认证中",
    "SIGNED": "待签署入网协议",
    "PAID": "待支付",
    "SUBMITTED": "提交运营商中",
    "ACCEPTED": "运营商开卡中",
    "SHIPPED": "待发货",
    "DELIVERED": "配送中",
    "ACTIVATED": "待激活",
}
_TODO_LABELS = {
    "KYC_PASSED": "实名认证",
    "SIGNED": "签署入网协议",
    "PAID": "支付",
    "SUBMITTED": "提交运营商",
    "ACCEPTED": "运营商开卡",
    "SHIPPED": "发货",
    "DELIVERED": "签收",
    "ACTIVATED": "激活",
}
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
            status = "todo" if current_given else "current"
            labels = _TODO_LABELS if current_given else _CURRENT_LABELS
            out.append(Milestone(labels.get(code, label), None, status))
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
