"""Pure rules of an order: its states, the transitions between them, what is due, and how
carrier events (which may arrive late, twice or out of order) move it.

No database, no clock: ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError

#: Unpaid orders are cancelled after this long (and give their number back).
UNPAID_TIMEOUT = dt.timedelta(minutes=30)
#: An order waiting for staff review of its real-name check is kept this long.
REVIEW_TIMEOUT = dt.timedelta(hours=24)
#: Real-name checks an order may fail for a cause the customer can fix (a typo) before it
#: ends as KYC_REJECTED: the first failures leave it in KYC_RETRY, the last one ends it.
KYC_ATTEMPTS = 3
#: Refusals of the real-name check caused by what was typed (the name or the ID number, a
#: birth date in it, does not match the register; the plan's photos were not given): the
#: customer may correct them while the number's hold lasts. Every other refusal (blacklist,
#: age, region, 一证五号, a staff review) ends the order at once.
CORRECTABLE_KYC_REASONS = frozenset({"identity_mismatch", "photos_required"})
#: Submission retries: exponential backoff from BASE, capped at CAP.
SUBMIT_BACKOFF_BASE = dt.timedelta(seconds=2)
SUBMIT_BACKOFF_CAP = dt.timedelta(minutes=10)
#: An order that has not moved at the carrier for this long is reconciled (queried).
STUCK_AFTER = {
    "SUBMITTED": dt.timedelta(minutes=10),
    "ACCEPTED": dt.timedelta(hours=12),
    "SHIPPED": dt.timedelta(days=3),
}


class State(StrEnum):
    CREATED = "CREATED"
    KYC_RETRY = "KYC_RETRY"
    KYC_REVIEW = "KYC_REVIEW"
    KYC_PASSED = "KYC_PASSED"
    SIGNED = "SIGNED"
    PAID = "PAID"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    ACTIVATED = "ACTIVATED"
    CANCELLED = "CANCELLED"
    KYC_REJECTED = "KYC_REJECTED"
    CARRIER_REJECTED = "CARRIER_REJECTED"


S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.CREATED: frozenset({S.KYC_PASSED, S.KYC_RETRY, S.KYC_REVIEW, S.KYC_REJECTED, S.CANCELLED}),
    # A correctable refusal: the customer re-enters; another one stays here (not a move).
    S.KYC_RETRY: frozenset({S.KYC_PASSED, S.KYC_REVIEW, S.KYC_REJECTED, S.CANCELLED}),
    S.KYC_REVIEW: frozenset({S.KYC_PASSED, S.KYC_REJECTED, S.CANCELLED}),
    S.KYC_PASSED: frozenset({S.SIGNED, S.CANCELLED}),
    # Nothing due: SIGNED goes straight to SUBMITTED (PAID is skipped).
    S.SIGNED: frozenset({S.PAID, S.SUBMITTED, S.CANCELLED}),
    S.PAID: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.CARRIER_REJECTED}),
    S.ACCEPTED: frozenset({S.SHIPPED, S.CARRIER_REJECTED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.ACTIVATED}),
    S.ACTIVATED: frozenset(),
    S.CANCELLED: frozenset(),
    S.KYC_REJECTED: frozenset(),
    S.CARRIER_REJECTED: frozenset(),
}
FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
#: Exits that give the number back and refund what was paid.
FAILED = frozenset({S.CANCELLED, S.KYC_REJECTED, S.CARRIER_REJECTED})
#: The user may cancel until the order is handed to the carrier.
CANCELLABLE = frozenset({S.CREATED, S.KYC_RETRY, S.KYC_REVIEW, S.KYC_PASSED, S.SIGNED, S.PAID})
#: States that time out when nobody pays.
UNPAID = frozenset({S.CREATED, S.KYC_RETRY, S.KYC_PASSED, S.SIGNED})
#: States in which no payment can have been started yet (paying needs a signed contract).
BEFORE_SIGNING = frozenset({S.CREATED, S.KYC_RETRY, S.KYC_REVIEW, S.KYC_PASSED, S.KYC_REJECTED})

LABELS = {
    S.CREATED: "待实名",
    S.KYC_RETRY: "实名待更正",
    S.KYC_REVIEW: "实名审核中",
    S.KYC_PASSED: "待签约",
    S.SIGNED: "待支付",
    S.PAID: "已支付",
    S.SUBMITTED: "运营商处理中",
    S.ACCEPTED: "已开卡，待发货",
    S.SHIPPED: "配送中",
    S.DELIVERED: "已签收，待激活",
    S.ACTIVATED: "已激活",
    S.CANCELLED: "已取消",
    S.KYC_REJECTED: "实名未通过",
    S.CARRIER_REJECTED: "运营商拒绝",
}

#: What the consumer does next, per state (None: nothing, haoka or the carrier is working).
NEXT_ACTION = {
    S.CREATED: "kyc",
    S.KYC_RETRY: "kyc",
    S.KYC_REVIEW: None,
    S.KYC_PASSED: "contract",
    S.SIGNED: "payment",
    S.PAID: None,
    S.SUBMITTED: None,
    S.ACCEPTED: None,
    S.SHIPPED: None,
    S.DELIVERED: "activate",
    S.ACTIVATED: None,
    S.CANCELLED: None,
    S.KYC_REJECTED: None,
    S.CARRIER_REJECTED: None,
}


class OrderStateConflict(IllegalTransition):
    code = "order_state_conflict"
    message = "订单当前状态不允许此操作"


#: The order's life, one table (``TRANSITIONS`` above); the model's choices derive from it.
MACHINE = states.Machine(State, TRANSITIONS, error=OrderStateConflict, labels=LABELS)


def check_transition(*, current: str, target: str) -> None:
    """Raises OrderStateConflict unless current -> target is in the table."""
    MACHINE.check(current=State(current), target=State(target))


class RefundState(StrEnum):
    """Whether the order owes the customer money back. NOT_DUE until a failed exit (or a
    payment that pays for nothing) makes a refund PENDING; the sweep then settles it as DONE
    (something was given back) or NONE (nothing had been paid). A payment arriving after
    that (late or duplicate) makes it PENDING again."""

    NOT_DUE = ""
    PENDING = "PENDING"
    DONE = "DONE"
    NONE = "NONE"


class RefundStateConflict(IllegalTransition):
    code = "order_refund_state_conflict"
    message = "订单退款状态不允许此操作"


R = RefundState
REFUND_MACHINE = states.Machine(
    RefundState,
    {
        R.NOT_DUE: {R.PENDING},
        R.PENDING: {R.DONE, R.NONE},
        R.DONE: {R.PENDING},
        R.NONE: {R.PENDING},
    },
    error=RefundStateConflict,
    labels={R.NOT_DUE: "无需退款", R.PENDING: "退款中", R.DONE: "已退款", R.NONE: "无可退款项"},
)


def kyc_target(*, status: str, reason_code: str, failures: int) -> State:
    """Where a real-name outcome takes an order that has already failed ``failures`` checks
    for a correctable cause: PASSED -> KYC_PASSED, FLAGGED -> KYC_REVIEW; a refusal in
    CORRECTABLE_KYC_REASONS -> KYC_RETRY while it is not the KYC_ATTEMPTS-th; any other
    refusal (or the last attempt's) -> KYC_REJECTED. Raises ValidationError for an unknown
    status."""
    if status == "PASSED":
        return S.KYC_PASSED
    if status == "FLAGGED":
        return S.KYC_REVIEW
    if status != "REJECTED":
        raise ValidationError("未知的实名结果", status=status)
    if reason_code in CORRECTABLE_KYC_REASONS and failures + 1 < KYC_ATTEMPTS:
        return S.KYC_RETRY
    return S.KYC_REJECTED


def kyc_attempts_left(*, failures: int) -> int:
    """Real-name checks the customer may still make (0 once the order can take no more)."""
    return max(KYC_ATTEMPTS - failures, 0)


def amount_due_fen(*, number_price_fen: int, first_topup_fen: int, markup_fen: int = 0) -> int:
    """What the consumer pays before the card is made: the number's price plus the plan's
    first top-up (首充, credited to the line's wallet on activation) plus the markup of the
    agent's shop the order came through (paid to the agent on activation)."""
    if number_price_fen < 0 or first_topup_fen < 0 or markup_fen < 0:
        raise ValidationError("金额不能为负")
    return number_price_fen + first_topup_fen + markup_fen


def new_order_ref() -> str:
    """Public, unguessable order id: HK + 16 base-32 characters."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "HK" + "".join(secrets.choice(alphabet) for _ in range(16))


def submit_backoff(*, attempts: int) -> dt.timedelta:
    """Delay before submission attempt ``attempts + 1`` (attempts already made)."""
    delay = SUBMIT_BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, SUBMIT_BACKOFF_CAP)


# --------------------------------------------------------------------------- carrier events

#: Carrier events move an order forward along this path; each event names the state it
#: proves. An event may arrive after a later one (out of order) or twice.
CARRIER_PATH = (S.SUBMITTED, S.ACCEPTED, S.SHIPPED, S.DELIVERED, S.ACTIVATED)
EVENT_STATE = {
    "order.accepted": S.ACCEPTED,
    "order.shipped": S.SHIPPED,
    "order.delivered": S.DELIVERED,
    "order.activated": S.ACTIVATED,
}


@dataclass(frozen=True)
class EventPlan:
    """How a carrier event applies to an order in ``current`` state."""

    steps: tuple[State, ...]  # states to pass through, in order (may be empty)
    merge_only: bool  # the event is older than the order: keep its data, move nothing
    anomaly: str = ""  # a reason to log/flag (e.g. an event for a failed order)


def plan_carrier_event(*, current: str, event_type: str) -> EventPlan:
    """Which transitions a carrier event implies. A later event proves the earlier steps
    (a "shipped" before "accepted" means it was accepted), so the order walks through them;
    an earlier event than the current state only contributes its data.

    Raises ValidationError for an unknown event type.
    """
    state = State(current)
    if event_type == "order.rejected":
        if state in (S.SUBMITTED, S.ACCEPTED):
            return EventPlan(steps=(S.CARRIER_REJECTED,), merge_only=False)
        if state == S.CARRIER_REJECTED:
            return EventPlan(steps=(), merge_only=True)
        return EventPlan(steps=(), merge_only=True, anomaly=f"rejection after {state}")
    target = EVENT_STATE.get(event_type)
    if target is None:
        raise ValidationError("未知的运营商事件", event_type=event_type)
    if state in FAILED:
        return EventPlan(steps=(), merge_only=True, anomaly=f"{event_type} for a {state} order")
    if state not in CARRIER_PATH:
        return EventPlan(steps=(), merge_only=True, anomaly=f"{event_type} before submission")
    here, there = CARRIER_PATH.index(state), CARRIER_PATH.index(target)
    if there <= here:
        return EventPlan(steps=(), merge_only=True)
    return EventPlan(steps=CARRIER_PATH[here + 1 : there + 1], merge_only=False)


def iccid_matches(*, iccid: str, last6: str) -> bool:
    """Proof of possession: the last six digits of the card's ICCID."""
    return len(last6) == 6 and last6.isascii() and last6.isdigit() and iccid.endswith(last6)
