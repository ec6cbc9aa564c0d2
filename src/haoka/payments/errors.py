"""Named errors of the payments domain (the gateway's own are in ``gateway``)."""

from __future__ import annotations

from haoka.core.errors import Conflict, HaokaError, NotFound, ValidationError


class BadSignature(HaokaError):
    """A notification whose signature is missing, wrong, stale or malformed."""

    code = "bad_signature"
    status = 401
    message = "签名无效"


class PaymentMismatch(ValidationError):
    """A notification or gateway answer that does not match the stored payment."""

    code = "payment_mismatch"
    message = "支付信息与记录不符"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "支付单不存在"


class NotificationTooEarly(Conflict):
    """A refund notification for a payment not yet recorded as paid: the gateway retries it,
    and by then the payment notification has arrived."""

    code = "payment_not_yet_paid"
    message = "支付成功通知尚未到达，请稍后重试"


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    message = "已有一笔金额或支付方式不同的待支付订单，请先完成或关闭它"


class PaymentBusy(Conflict):
    code = "payment_busy"
    message = "支付单正在创建中，请稍后再试"


class PaymentAlreadyPaid(Conflict):
    code = "payment_already_paid"
    message = "该笔支付已成功，不能关闭"


class RefundIntentMismatch(Conflict):
    code = "refund_intent_mismatch"
    message = "同一退款原因已登记了不同的退款金额"


class RefundFailed(Conflict):
    code = "refund_failed"
    message = "支付网关拒绝了退款"


class InvalidReason(ValidationError):
    code = "invalid_refund_reason"
    message = "退款原因不能为空（最多 200 字）"


class UnmatchedRefundNotFound(NotFound):
    code = "unmatched_refund_not_found"
    message = "未匹配退款记录不存在"


class RefundStillUnmatched(Conflict):
    """Staff asked to take a parked refund back, and its owner still cannot (``reason_code``)."""

    code = "refund_still_unmatched"
    message = "仍无法从客户余额扣回该笔退款，请稍后重试或核销"
