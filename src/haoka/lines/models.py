"""Lines (subscriptions) and SIM cards."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.lines.domain import (
    CLOSURE_MACHINE,
    CLOSURE_REFUND_MACHINE,
    LINE_MACHINE,
    SIM_MACHINE,
    ClosureRefundState,
    ClosureState,
    LineState,
    SimStatus,
)


class Line(models.Model):
    msisdn = models.CharField(max_length=11, verbose_name="号码")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="用户"
    )
    carrier_code = models.CharField(max_length=16, verbose_name="运营商代码")
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    #: A plan change that takes effect at the start of the next cycle (applied by the cycle).
    pending_plan_code = models.CharField(max_length=40, blank=True, verbose_name="待生效套餐代码")
    status = models.CharField(max_length=20, choices=LINE_MACHINE.choices(), verbose_name="状态")
    suspend_reason = models.CharField(
        max_length=16, blank=True, verbose_name="停机原因"
    )  # ARREARS | USER_REQUEST | POLICY
    iccid = models.CharField(max_length=20, verbose_name="ICCID（SIM 卡号）")
    imsi = models.CharField(max_length=15, verbose_name="IMSI（用户识别码）")
    order_ref = models.CharField(
        max_length=24, unique=True, null=True, blank=True, verbose_name="订单号"
    )
    #: The order's contract months (合约期), copied when the line is opened from it (0: none).
    contract_months = models.PositiveSmallIntegerField(default=0, verbose_name="合约月数")
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name="激活时间")
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name="关闭时间")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        verbose_name = "号卡"
        verbose_name_plural = "号卡"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in LineState]),
                name="line_status_valid",
            ),
            # A number belongs to at most one line that is not closed or ported out.
            models.UniqueConstraint(
                fields=["msisdn"],
                condition=~models.Q(status__in=["CLOSED", "PORTED_OUT"]),
                name="line_one_live_line_per_number",
            ),
            models.UniqueConstraint(
                fields=["iccid"],
                condition=~models.Q(status__in=["CLOSED", "PORTED_OUT"]),
                name="line_one_live_line_per_iccid",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"], name="line_user_status")]

    def __str__(self) -> str:
        return self.msisdn


class LineEvent(models.Model):
    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="events", verbose_name="号卡"
    )
    from_status = models.CharField(max_length=20, blank=True, verbose_name="原状态")
    to_status = models.CharField(max_length=20, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "号卡事件"
        verbose_name_plural = "号卡事件"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.from_status} → {self.to_status}"


class Notification(models.Model):
    """A message in the line's notification centre (usage alerts, low balance, packs about to
    expire, bills). ``key`` makes each alert once-only (e.g. ``data80:<bucket>``)."""

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="notifications", verbose_name="号卡"
    )
    kind = models.CharField(
        max_length=24, verbose_name="通知类型"
    )  # DATA_80 DATA_100 LOW_BALANCE PACK_EXPIRING BILL ...
    key = models.CharField(max_length=80, unique=True, verbose_name="唯一键")
    title = models.CharField(max_length=60, verbose_name="标题")
    body = models.CharField(max_length=300, verbose_name="正文")
    sms_sent = models.BooleanField(default=False, verbose_name="已发短信")
    created_at = models.DateTimeField(verbose_name="创建时间")
    read_at = models.DateTimeField(null=True, blank=True, verbose_name="阅读时间")

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "-created_at"], name="notice_line_recent")]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.title}"


# ---------------------------------------------------------------- self-service


class SimCard(models.Model):
    """Every card a line has had, ``[valid_from, valid_to)``. A replacement retires the old
    card (its ICCID is dead for good) and the line goes on with its number, money and
    allowances on the new one."""

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="sim_cards", verbose_name="号卡"
    )
    iccid = models.CharField(max_length=20, unique=True, verbose_name="ICCID（SIM 卡号）")
    imsi = models.CharField(max_length=15, verbose_name="IMSI（用户识别码）")
    status = models.CharField(max_length=8, choices=SIM_MACHINE.choices(), verbose_name="状态")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    valid_to = models.DateTimeField(null=True, blank=True, verbose_name="失效时间")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")

    class Meta:
        verbose_name = "SIM 卡"
        verbose_name_plural = "SIM 卡"
        ordering = ["valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SimStatus]),
                name="sim_status_valid",
            ),
            models.UniqueConstraint(
                fields=["line"], condition=models.Q(status="ACTIVE"), name="sim_one_active_per_line"
            ),
            models.CheckConstraint(
                condition=models.Q(status="ACTIVE", valid_to__isnull=True)
                | models.Q(status="RETIRED", valid_to__isnull=False),
                name="sim_retired_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: …{self.iccid[-6:]} {self.status}"


class PortingCode(models.Model):
    """A 携号转网 authorization code: stored hashed (shown once), valid 30 days; a new request
    revokes the previous one."""

    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, related_name="porting_codes", verbose_name="号卡"
    )
    code_hash = models.CharField(
        max_length=64, db_index=True, verbose_name="验证码摘要"
    )  # keyed hash of number + code
    created_at = models.DateTimeField(verbose_name="创建时间")
    expires_at = models.DateTimeField(verbose_name="过期时间")
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name="撤销时间")

    class Meta:
        verbose_name = "携号转网授权码"
        verbose_name_plural = "携号转网授权码"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"],
                condition=models.Q(revoked_at__isnull=True),
                name="porting_one_live_code_per_line",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="porting_code_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: porting code until {self.expires_at:%Y-%m-%d}"


class LineClosure(models.Model):
    """An online closure (销户): what the wallet held (owed back to the customer, on
    ``liability:refunds_due``), what went back through the payment gateway and what is left
    for staff to pay back by hand."""

    line = models.OneToOneField(
        Line, on_delete=models.PROTECT, related_name="closure", verbose_name="号卡"
    )
    refund_due_fen = models.BigIntegerField(verbose_name="应退金额")
    refunded_fen = models.BigIntegerField(
        default=0, verbose_name="已退金额"
    )  # handed to the gateway
    manual_fen = models.BigIntegerField(
        default=0, verbose_name="人工处理金额"
    )  # nothing left to refund it through
    state = models.CharField(max_length=10, choices=CLOSURE_MACHINE.choices(), verbose_name="状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    closed_at = models.DateTimeField(verbose_name="关闭时间")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "销户"
        verbose_name_plural = "销户"
        ordering = ["-closed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in ClosureState]),
                name="closure_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(refund_due_fen__gte=0, refunded_fen__gte=0, manual_fen__gte=0)
                & models.Q(refund_due_fen__gte=models.F("refunded_fen") + models.F("manual_fen")),
                name="closure_refunds_within_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: closed {self.state}"


class ClosureRefund(models.Model):
    """One refund of a closure through the gateway: a paid payment of the line (a top-up, or
    the order), newest first, up to what the wallet held."""

    closure = models.ForeignKey(
        LineClosure, on_delete=models.CASCADE, related_name="refunds", verbose_name="销户"
    )
    purpose = models.CharField(max_length=8, verbose_name="用途")  # ORDER | TOPUP
    reference = models.CharField(max_length=64, verbose_name="业务编号")
    payment_id = models.BigIntegerField(verbose_name="支付单 ID")
    amount_fen = models.BigIntegerField(verbose_name="金额")
    state = models.CharField(
        max_length=8, choices=CLOSURE_REFUND_MACHINE.choices(), verbose_name="状态"
    )
    refund_id = models.CharField(max_length=40, blank=True, verbose_name="退款单号")
    note = models.CharField(max_length=200, blank=True, verbose_name="备注")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "销户退款"
        verbose_name_plural = "销户退款"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["closure", "payment_id"], name="closure_refund_once"),
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="closure_refund_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in ClosureRefundState]),
                name="closure_refund_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.closure_id}/{self.payment_id}: {self.amount_fen}"
