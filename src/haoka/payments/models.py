"""Tables of the payments domain: payment attempts, refunds, and every event of both."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.payments.domain import (
    MACHINE,
    METHOD_LABELS,
    PURPOSE_LABELS,
    REFUND_MACHINE,
    RESOLUTION_LABELS,
    UNMATCHED_MACHINE,
    Method,
    PaymentState,
    Purpose,
    RefundState,
    UnmatchedRefundState,
)

OPEN = [PaymentState.CREATED, PaymentState.PENDING]


class Payment(models.Model):
    """One attempt at paying for ``(purpose, reference)``; see ``domain`` for the id scheme."""

    merchant_order_id = models.CharField(max_length=100, unique=True, verbose_name="商户订单号")
    purpose = models.CharField(
        max_length=16, choices=list(PURPOSE_LABELS.items()), verbose_name="用途"
    )
    reference = models.CharField(max_length=64, verbose_name="业务编号")
    attempt = models.PositiveIntegerField(verbose_name="尝试次序")
    user = models.ForeignKey(  # the payer; indexed by pay_user (user, id)
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name="用户",
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    method = models.CharField(
        max_length=8, choices=list(METHOD_LABELS.items()), verbose_name="支付方式"
    )
    gateway = models.CharField(max_length=20, default="sandbox", verbose_name="支付网关")
    gateway_payment_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, verbose_name="网关支付单号"
    )
    pay_url = models.CharField(max_length=500, blank=True, verbose_name="支付链接")
    return_url = models.CharField(max_length=500, blank=True, verbose_name="返回链接")
    status = models.CharField(
        max_length=20, choices=MACHINE.choices(), default=PaymentState.CREATED, verbose_name="状态"
    )
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name="支付时间")
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name="关闭时间")
    refunded_fen = models.BigIntegerField(default=0, verbose_name="已退金额")
    created_at = models.DateTimeField(verbose_name="创建时间")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "支付单"
        verbose_name_plural = "支付单"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "updated_at", "id"], name="pay_status_updated"),
            models.Index(fields=["user", "id"], name="pay_user"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "reference", "attempt"], name="payment_attempt_unique"
            ),
            # At most one unsettled attempt per thing to pay: concurrent starts cannot fork.
            models.UniqueConstraint(
                fields=["purpose", "reference"],
                condition=models.Q(status__in=OPEN),
                name="payment_one_open_attempt",
            ),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="payment_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(refunded_fen__gte=0, refunded_fen__lte=models.F("amount_fen")),
                name="payment_refunded_within_amount",
            ),
            models.CheckConstraint(condition=models.Q(attempt__gte=1), name="payment_attempt_pos"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in PaymentState]),
                name="payment_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=[p.value for p in Purpose]),
                name="payment_purpose_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=[m.value for m in Method]),
                name="payment_method_valid",
            ),
            # Money received is recorded with its time; nothing refunded before it was paid.
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        PaymentState.PAID,
                        PaymentState.PARTIALLY_REFUNDED,
                        PaymentState.REFUNDED,
                    ],
                    paid_at__isnull=False,
                )
                | (
                    models.Q(
                        status__in=[
                            PaymentState.CREATED,
                            PaymentState.PENDING,
                            PaymentState.CLOSED,
                        ]
                    )
                    & models.Q(refunded_fen=0)
                ),
                name="payment_paid_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_order_id} {self.status}"


class Refund(models.Model):
    """Money going back to the payer. ``reason`` is the intent key: one refund per (payment,
    reason), so a retried refund finds its first row and its ``refund_id``."""

    refund_id = models.CharField(max_length=100, unique=True, verbose_name="退款单号")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name="支付单"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    reason = models.CharField(max_length=200, verbose_name="原因")
    status = models.CharField(
        max_length=12,
        choices=REFUND_MACHINE.choices(),
        default=RefundState.REQUESTED,
        verbose_name="状态",
    )
    #: False for a refund the gateway reported that haoka never asked for (merchant console).
    requested_by_haoka = models.BooleanField(default=True, verbose_name="平台发起")
    failure_code = models.CharField(max_length=60, blank=True, verbose_name="失败代码")
    created_at = models.DateTimeField(verbose_name="创建时间")
    updated_at = models.DateTimeField(verbose_name="更新时间")
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name="成功时间")

    class Meta:
        verbose_name = "退款"
        verbose_name_plural = "退款"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "reason"], name="refund_intent_unique"),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="refund_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in RefundState]),
                name="refund_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at", "id"], name="refund_status")]

    def __str__(self) -> str:
        return f"{self.refund_id} {self.status}"


class PaymentEvent(models.Model):
    """Every state change and every gateway notification: who or what, when, why.

    ``event_id`` is the gateway's id of a notification; UNIQUE, so a replay is refused."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", verbose_name="支付单"
    )
    refund = models.ForeignKey(
        Refund,
        on_delete=models.PROTECT,
        related_name="events",
        null=True,
        blank=True,
        verbose_name="退款",
    )
    event_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, verbose_name="事件 ID"
    )
    kind = models.CharField(
        max_length=40, verbose_name="事件类型"
    )  # e.g. payment.succeeded, created, reconciled
    from_status = models.CharField(max_length=20, blank=True, verbose_name="原状态")
    to_status = models.CharField(
        max_length=20, blank=True, verbose_name="新状态"
    )  # blank: no change
    actor = models.CharField(
        max_length=60, verbose_name="操作人"
    )  # user:<id>, gateway:sandbox, system, reconcile
    reason = models.CharField(max_length=300, blank=True, verbose_name="原因")
    data = models.JSONField(default=dict, blank=True, verbose_name="数据")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "支付事件"
        verbose_name_plural = "支付事件"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["payment", "at", "id"], name="payevent_payment")]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"


class UnmatchedRefund(models.Model):
    """未匹配退款: a refund the gateway made without haoka (unknown ``refund_id``) whose
    payment's owner could not take the money back (a wallet already spent, an order under
    way). Its money waits in ``asset:unmatched_refunds`` until staff resolve it. One per
    gateway refund (UNIQUE ``gateway_refund_id``)."""

    gateway_refund_id = models.CharField(
        max_length=100, unique=True, verbose_name="网关退款单号"
    )  # the gateway's refund_id
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, related_name="unmatched", verbose_name="退款"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="+", verbose_name="支付单"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    #: Why it was not taken back (the owner's answer, or no_owner / owner_failed).
    reason_code = models.CharField(max_length=60, verbose_name="原因")
    state = models.CharField(
        max_length=10,
        choices=UNMATCHED_MACHINE.choices(),
        default=UnmatchedRefundState.OPEN.value,
        verbose_name="状态",
    )
    resolution = models.CharField(
        max_length=12,
        choices=[(r.value, label) for r, label in RESOLUTION_LABELS.items()],
        blank=True,
        verbose_name="处理结果",
    )
    resolved_by = models.CharField(max_length=60, blank=True, verbose_name="处理人")
    note = models.CharField(max_length=300, blank=True, verbose_name="备注")
    created_at = models.DateTimeField(verbose_name="创建时间")
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name="处理时间")

    class Meta:
        verbose_name = verbose_name_plural = "未匹配退款"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="unmatched_refund_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="unmatched_refund_amount_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(state=UnmatchedRefundState.OPEN.value, resolution="")
                | models.Q(
                    state=UnmatchedRefundState.RESOLVED.value,
                    resolution__in=[r.value for r in RESOLUTION_LABELS],
                    resolved_at__isnull=False,
                ),
                name="unmatched_refund_resolved_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway_refund_id} {self.state}"
