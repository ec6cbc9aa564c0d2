"""Orders and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.core.pii import EncryptedTextField
from haoka.orders.domain import KYC_ATTEMPTS, MACHINE, REFUND_MACHINE, RefundState, State


class Order(models.Model):
    ref = models.CharField(max_length=24, unique=True, verbose_name="订单号")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="用户"
    )
    state = models.CharField(
        max_length=20, choices=MACHINE.choices(), default=State.CREATED, verbose_name="状态"
    )
    # What was bought, as it was when ordered (plans and prices change later).
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    carrier_code = models.CharField(max_length=16, verbose_name="运营商代码")
    plan_snapshot = models.JSONField(default=dict, verbose_name="套餐快照")
    msisdn = models.CharField(max_length=11, verbose_name="号码")
    number_price_fen = models.BigIntegerField(default=0, verbose_name="号码价格")
    min_monthly_fen = models.BigIntegerField(default=0, verbose_name="最低月消费")
    contract_months = models.PositiveSmallIntegerField(default=0, verbose_name="合约月数")
    first_topup_fen = models.BigIntegerField(default=0, verbose_name="首充金额")
    amount_due_fen = models.BigIntegerField(default=0, verbose_name="应付金额")
    agent_code = models.CharField(max_length=40, blank=True, verbose_name="代理编号")
    #: The markup of the agent's shop (part of the amount due; the agent's on activation).
    markup_fen = models.BigIntegerField(default=0, verbose_name="加价")
    # Delivery: the address (with the receiver's name and phone) is personal data.
    contact_phone = models.CharField(max_length=11, verbose_name="联系电话")
    ship_province = models.CharField(max_length=16, verbose_name="收货省份")
    ship_city = models.CharField(max_length=24, verbose_name="收货城市")
    shipping_address = EncryptedTextField(
        verbose_name="收货地址"
    )  # JSON: province, city, district, detail, receiver, phone
    # Contract (签约): the exact text is kept (encrypted: it names the customer) with its hash.
    contract_text = EncryptedTextField(blank=True, default="", verbose_name="合同正文")
    contract_sha256 = models.CharField(max_length=64, blank=True, verbose_name="合同 SHA-256")
    contract_signed_at = models.DateTimeField(null=True, blank=True, verbose_name="合同签署时间")
    # Carrier side.
    submit_attempts = models.PositiveIntegerField(default=0, verbose_name="提交次数")
    next_submit_at = models.DateTimeField(null=True, blank=True, verbose_name="下次提交时间")
    carrier_acked_at = models.DateTimeField(null=True, blank=True, verbose_name="运营商确认时间")
    carrier_order_id = models.CharField(max_length=64, blank=True, verbose_name="运营商订单号")
    last_error = models.CharField(max_length=300, blank=True, verbose_name="最近错误")
    iccid = models.CharField(
        max_length=20, blank=True, verbose_name="ICCID（SIM 卡号）"
    )  # never shown in full before activation
    imsi = models.CharField(max_length=15, blank=True, verbose_name="IMSI（用户识别码）")
    courier = models.CharField(max_length=40, blank=True, verbose_name="快递公司")
    tracking_no = models.CharField(max_length=40, blank=True, verbose_name="运单号")
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name="激活时间")
    failure_reason = models.CharField(max_length=300, blank=True, verbose_name="失败原因")
    #: Real-name checks refused for a cause the customer can correct (a typo): at
    #: ``domain.KYC_ATTEMPTS`` the order ends as KYC_REJECTED.
    kyc_failures = models.PositiveSmallIntegerField(default=0, verbose_name="实名更正次数")
    refund_state = models.CharField(
        max_length=12,
        blank=True,
        choices=REFUND_MACHINE.choices(),
        default=RefundState.NOT_DUE.value,
        verbose_name="退款状态",
    )
    # The payment attempt that paid for the order; any other paid attempt is refunded.
    payment_id = models.BigIntegerField(null=True, blank=True, verbose_name="支付单 ID")
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name="过期时间")
    state_changed_at = models.DateTimeField(default=clock.now, verbose_name="状态变更时间")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        verbose_name = "订单"
        verbose_name_plural = "订单"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_recent"),
            models.Index(fields=["state", "state_changed_at"], name="order_state_age"),
            models.Index(fields=["state", "next_submit_at"], name="order_submit_due"),
            models.Index(fields=["msisdn"], name="order_msisdn"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in State]), name="order_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount_due_fen__gte=0,
                    number_price_fen__gte=0,
                    first_topup_fen__gte=0,
                    markup_fen__gte=0,
                ),
                name="order_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(kyc_failures__lte=KYC_ATTEMPTS), name="order_kyc_failures_max"
            ),
            # One open order per number: a number can never be sold twice.
            models.UniqueConstraint(
                fields=["msisdn"],
                condition=~models.Q(state__in=["CANCELLED", "KYC_REJECTED", "CARRIER_REJECTED"]),
                name="order_one_live_order_per_number",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class OrderEvent(models.Model):
    """Every transition of an order, and notable facts (carrier data, retries): who, when, why."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", verbose_name="订单"
    )
    from_state = models.CharField(max_length=20, blank=True, verbose_name="原状态")
    to_state = models.CharField(max_length=20, blank=True, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=300, blank=True, verbose_name="原因")
    data = models.JSONField(default=dict, verbose_name="数据")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "订单事件"
        verbose_name_plural = "订单事件"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state} → {self.to_state}"
