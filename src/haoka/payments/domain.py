"""Payment rules: states and their transitions, haoka's ids, refund amounts, notifications.

Pure: no database, no clock, no I/O.

Decisions worth knowing:

- ``(purpose, reference)`` names one thing to be paid once: an order ref, or (for wallet
  top-ups) one top-up intent. Each try at paying it is an *attempt* with its own
  ``merchant_order_id`` ``<prefix>_<reference>_<attempt>``: the gateway is idempotent by that
  id, so a retried create never makes a second gateway payment, and after a CLOSED attempt a
  new attempt gets a new id (the gateway would otherwise answer with the closed one).
- A refund is identified by its *intent*: the payment plus the caller's ``reason`` (a stable
  reason key such as ``order_cancelled``). The first call for an intent numbers it
  (``rf_<payment pk>_<n>``, n = 1, 2, ... per payment); every later call with the same intent
  reuses that ``refund_id``, and the gateway is idempotent by it, so a retried refund never
  pays back twice. Two different refunds of one payment need two different reasons.
- Money the gateway says it received is never ignored: ``payment.succeeded`` moves CREATED,
  PENDING and even CLOSED attempts to PAID (a late success after a local close still took
  the payer's money). Nothing moves a paid payment back to CLOSED or PENDING.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError


class PaymentState(enum.StrEnum):
    CREATED = "CREATED"  # row written, gateway not (yet) asked: a crash here is resumable
    PENDING = "PENDING"  # the gateway has it; waiting for the payer
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CLOSED = "CLOSED"  # never paid; a new attempt may follow


class RefundState(enum.StrEnum):
    REQUESTED = "REQUESTED"  # row written; the gateway's answer is not known yet
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the gateway said no, definitively


class Purpose(enum.StrEnum):
    ORDER = "ORDER"
    TOPUP = "TOPUP"
    SPONSOR_TOPUP = "SPONSOR_TOPUP"  # a sponsor's wallet (后向流量)


class Method(enum.StrEnum):
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"


METHOD_LABELS = {Method.WECHAT: "微信支付", Method.ALIPAY: "支付宝"}
PURPOSE_LABELS = {
    Purpose.ORDER: "订单",
    Purpose.TOPUP: "充值",
    Purpose.SPONSOR_TOPUP: "后向客户充值",
}


_P = PaymentState
#: Allowed moves of a payment. PARTIALLY_REFUNDED -> PARTIALLY_REFUNDED is a further partial
#: refund. CREATED -> CLOSED is a creation the gateway refused. CREATED/CLOSED -> PAID is the
#: gateway's word that the money arrived (see the module docstring).
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    _P.CREATED: frozenset({_P.PENDING, _P.PAID, _P.CLOSED}),
    _P.PENDING: frozenset({_P.PAID, _P.CLOSED}),
    _P.PAID: frozenset({_P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.PARTIALLY_REFUNDED: frozenset({_P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.REFUNDED: frozenset(),
    _P.CLOSED: frozenset({_P.PAID}),
}
_R = RefundState
REFUND_TRANSITIONS: dict[RefundState, frozenset[RefundState]] = {
    _R.REQUESTED: frozenset({_R.SUCCEEDED, _R.FAILED}),
    _R.SUCCEEDED: frozenset(),
    _R.FAILED: frozenset(),
}

#: Attempts not yet settled either way: at most one per (purpose, reference).
OPEN_STATES = frozenset({_P.CREATED, _P.PENDING})
#: Money was received (and may since have been paid back, in part or in full).
PAID_STATES = frozenset({_P.PAID, _P.PARTIALLY_REFUNDED, _P.REFUNDED})
#: What the gateway reports for a payment it holds the money of (or held, before refunds).
GATEWAY_PAID = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})

MAX_AMOUNT_FEN = 10_000_000_00  # ¥10,000,000: far beyond any card or top-up; catches unit slips
MAX_REFERENCE_LENGTH = 64
PURPOSE_PREFIX = {Purpose.ORDER: "ord", Purpose.TOPUP: "top", Purpose.SPONSOR_TOPUP: "spt"}
#: Payments waiting this long without news are asked about at the gateway.
RECONCILE_AFTER_MINUTES = 10


class UnknownPaymentState(ValidationError):
    code = "unknown_payment_state"
    message = "未知的支付状态"


class InvalidAmount(ValidationError):
    code = "invalid_amount"
    message = "金额必须是正整数分"


class InvalidMethod(ValidationError):
    code = "invalid_payment_method"
    message = "不支持的支付方式"


class InvalidPurpose(ValidationError):
    code = "invalid_payment_purpose"
    message = "未知的支付用途"


class InvalidReference(ValidationError):
    code = "invalid_payment_reference"
    message = "支付对象编号不正确"


class RefundExceedsPayment(ValidationError):
    code = "refund_exceeds_payment"
    message = "退款金额不能超过可退金额"


class PaymentStateConflict(IllegalTransition):
    """A payment move not in ``TRANSITIONS`` (same code as before: ``illegal_transition``)."""

    message = "支付状态不允许此变更"


class RefundStateConflict(IllegalTransition):
    """A refund move not in ``REFUND_TRANSITIONS`` (code ``illegal_transition``)."""

    message = "退款状态不允许此变更"


MACHINE = states.Machine(
    PaymentState,
    TRANSITIONS,
    error=PaymentStateConflict,
    labels={
        _P.CREATED: "已创建",
        _P.PENDING: "待支付",
        _P.PAID: "已支付",
        _P.PARTIALLY_REFUNDED: "部分退款",
        _P.REFUNDED: "已退款",
        _P.CLOSED: "已关闭",
    },
)
REFUND_MACHINE = states.Machine(
    RefundState,
    REFUND_TRANSITIONS,
    error=RefundStateConflict,
    labels={_R.REQUESTED: "退款中", _R.SUCCEEDED: "退款成功", _R.FAILED: "退款失败"},
)


class UnmatchedRefundState(enum.StrEnum):
    """A refund the gateway made without haoka that no owner could take back (staff queue)."""

    OPEN = "OPEN"  # parked: the money sits in the suspense account until staff resolve it
    RESOLVED = "RESOLVED"


class UnmatchedRefundConflict(IllegalTransition):
    """A move of an unmatched refund not in its table (code ``illegal_transition``)."""

    message = "该未匹配退款已处理"


UNMATCHED_MACHINE = states.Machine(
    UnmatchedRefundState,
    {
        UnmatchedRefundState.OPEN: frozenset({UnmatchedRefundState.RESOLVED}),
        UnmatchedRefundState.RESOLVED: frozenset(),
    },
    error=UnmatchedRefundConflict,
    labels={UnmatchedRefundState.OPEN: "待处理", UnmatchedRefundState.RESOLVED: "已处理"},
)


class Resolution(enum.StrEnum):
    """How an unmatched refund left the suspense account."""

    TAKEN_BACK = "TAKEN_BACK"  # matched later: its owner took the money back (e.g. the wallet)
    WRITTEN_OFF = "WRITTEN_OFF"  # not recoverable: a loss


RESOLUTION_LABELS = {Resolution.TAKEN_BACK: "已从钱包等扣回", Resolution.WRITTEN_OFF: "核销为损失"}
#: What the owner of a payment's purpose answers (``signals.refund_unsolicited``) when it
#: took back what the refunded payment bought. Any other string is why it could not.
TAKEN_BACK = "taken_back"
#: Why a refund was parked when no owner answered, or its receiver failed.
NO_OWNER, OWNER_FAILED = "no_owner", "owner_failed"
#: Why a refund was parked, as staff read it: this domain's codes and the answers its owners
#: give (orders' and charging's receivers of ``refund_unsolicited``).
UNMATCHED_REASON_LABELS = {
    NO_OWNER: "无业务方认领",
    OWNER_FAILED: "业务方处理出错",
    "order_not_found": "找不到对应订单",
    "order_in_progress": "订单仍在办理中",
    "order_fulfilled": "订单已开通",
    "topup_not_found": "找不到对应充值",
    "topup_not_credited": "充值尚未到账",
    "line_closed": "号卡已销户",
    "insufficient_balance": "余额不足以扣回",
}


def check_transition(*, current: PaymentState | str, target: PaymentState | str) -> None:
    """Allow ``current -> target`` or raise. Raises UnknownPaymentState, PaymentStateConflict."""
    _check(MACHINE, current, target)


def check_refund_transition(*, current: RefundState | str, target: RefundState | str) -> None:
    """Allow a refund's ``current -> target`` or raise (UnknownPaymentState,
    RefundStateConflict)."""
    _check(REFUND_MACHINE, current, target)


def _check(machine: states.Machine, current: str, target: str) -> None:
    try:
        machine.states(current), machine.states(target)
    except ValueError:
        # An unknown value keeps the payments' own code (unknown_payment_state).
        raise UnknownPaymentState(current=str(current), target=str(target)) from None
    machine.check(current=current, target=target)


def validate_amount(amount_fen: object) -> int:
    """A payable amount: a positive integer of fen, at most MAX_AMOUNT_FEN. Raises InvalidAmount."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise InvalidAmount(amount_fen=repr(amount_fen))
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise InvalidAmount(amount_fen=amount_fen)
    return amount_fen


def parse_method(method: object) -> Method:
    """``WECHAT``/``ALIPAY`` in any case. Raises InvalidMethod."""
    try:
        return Method(str(method).strip().upper())
    except ValueError:
        raise InvalidMethod(method=str(method), allowed=[m.value for m in Method]) from None


def parse_purpose(purpose: object) -> Purpose:
    """Raises InvalidPurpose."""
    try:
        return Purpose(str(purpose).strip().upper())
    except ValueError:
        raise InvalidPurpose(purpose=str(purpose), allowed=[p.value for p in Purpose]) from None


def validate_reference(reference: object) -> str:
    """1-64 ASCII letters, digits, ``-`` or ``_`` (it becomes part of gateway ids).

    Raises InvalidReference."""
    text = str(reference) if isinstance(reference, str | int) else ""
    ok = 0 < len(text) <= MAX_REFERENCE_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in text
    )
    if not ok:
        raise InvalidReference(reference=str(reference)[:80])
    return text


def merchant_order_id(*, purpose: Purpose | str, reference: str, attempt: int) -> str:
    """haoka's id of one payment attempt at the gateway, e.g. ``ord_HK2603011234_1``."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    return f"{PURPOSE_PREFIX[Purpose(purpose)]}_{reference}_{attempt}"


def refund_id(*, payment_pk: int, n: int) -> str:
    """haoka's id of the n-th refund intent of a payment, e.g. ``rf_42_1``."""
    if n < 1:
        raise ValueError("refund numbers start at 1")
    return f"rf_{payment_pk}_{n}"


class NextStep(enum.StrEnum):
    NEW_ATTEMPT = "NEW_ATTEMPT"  # nothing yet, or the last attempt closed unpaid
    RESUME = "RESUME"  # an attempt exists but the gateway was not reached: ask it again
    RETURN = "RETURN"  # an attempt is pending or paid: give it back, create nothing


def next_step(latest: PaymentState | str | None) -> NextStep:
    """What ``start_payment`` does given the latest attempt's state (None: no attempt)."""
    if latest is None or PaymentState(latest) == _P.CLOSED:
        return NextStep.NEW_ATTEMPT
    if PaymentState(latest) == _P.CREATED:
        return NextStep.RESUME
    return NextStep.RETURN


def refundable_fen(*, amount_fen: int, refunded_fen: int, in_flight_fen: int) -> int:
    """What may still be refunded: paid, minus refunded, minus refunds awaiting an answer."""
    return max(0, amount_fen - refunded_fen - in_flight_fen)


def refund_amount(
    *, requested_fen: int | None, amount_fen: int, refunded_fen: int, in_flight_fen: int
) -> int:
    """The amount of a new refund: ``requested_fen``, or all that is left when None.

    Raises InvalidAmount (not a positive integer), RefundExceedsPayment (more than is left,
    including when nothing is left)."""
    left = refundable_fen(
        amount_fen=amount_fen, refunded_fen=refunded_fen, in_flight_fen=in_flight_fen
    )
    wanted = left if requested_fen is None else validate_amount(requested_fen)
    if wanted <= 0 or wanted > left:
        raise RefundExceedsPayment(requested_fen=requested_fen, refundable_fen=left)
    return wanted


def status_after_refund(*, amount_fen: int, refunded_fen: int) -> PaymentState:
    """PARTIALLY_REFUNDED or REFUNDED once ``refunded_fen`` (the new total) has gone back."""
    if not 0 < refunded_fen <= amount_fen:
        raise RefundExceedsPayment(refunded_fen=refunded_fen, amount_fen=amount_fen)
    return _P.REFUNDED if refunded_fen == amount_fen else _P.PARTIALLY_REFUNDED


# ---------------------------------------------------------------- notifications

NOTIFICATION_TYPES = frozenset({"payment.succeeded", "payment.closed", "refund.succeeded"})


class BadNotification(ValidationError):
    code = "bad_notification"
    message = "支付通知格式不正确"


@dataclass(frozen=True)
class Notification:
    event_id: str
    type: str
    gateway_payment_id: str
    merchant_order_id: str
    amount_fen: int
    refund_id: str | None
    paid_at: str | None
    occurred_at: str | None


def parse_notification(data: object) -> Notification:
    """Check the shape of a gateway notification (docs/integrations.md). Raises BadNotification."""
    if not isinstance(data, dict):
        raise BadNotification(reason="not_an_object")
    missing = [
        k
        for k in ("event_id", "type", "payment_id", "merchant_order_id", "amount_fen")
        if data.get(k) in (None, "")
    ]
    if missing:
        raise BadNotification(missing=missing)
    if data["type"] not in NOTIFICATION_TYPES:
        raise BadNotification(reason="unknown_type", type=str(data["type"])[:60])
    amount = data["amount_fen"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise BadNotification(reason="bad_amount")
    if data["type"] == "refund.succeeded" and not data.get("refund_id"):
        raise BadNotification(missing=["refund_id"])
    return Notification(
        event_id=str(data["event_id"])[:100],
        type=data["type"],
        gateway_payment_id=str(data["payment_id"])[:100],
        merchant_order_id=str(data["merchant_order_id"])[:100],
        amount_fen=amount,
        refund_id=str(data["refund_id"])[:100] if data.get("refund_id") else None,
        paid_at=str(data["paid_at"]) if data.get("paid_at") else None,
        occurred_at=str(data["occurred_at"]) if data.get("occurred_at") else None,
    )
