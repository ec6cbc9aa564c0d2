"""Sponsors (后向客户), their wallets' top-ups, campaigns and the budget slices lines take.

Lines and users are referred to by id (``line_id``, ``user_id``): no foreign key into
another domain's tables but the user model's, as elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core.pii import EncryptedTextField
from haoka.sponsors.domain import (
    LOW_BALANCE_DEFAULT_FEN,
    SPONSOR_MACHINE,
    TOPUP_MACHINE,
    SponsorKind,
    SponsorStatus,
    TopUpStatus,
)


class Sponsor(models.Model):
    """A company that funds its users' data. Its contact person's name and phone are personal
    data (encrypted); the company's name and USCC are public registration facts."""

    sponsor_id = models.CharField(max_length=12, unique=True, verbose_name="客户编号")
    company_name = models.CharField(max_length=100, verbose_name="企业名称")
    uscc = models.CharField(max_length=18, unique=True, verbose_name="统一社会信用代码")
    kind = models.CharField(max_length=12, choices=SponsorKind.choices, verbose_name="类型")
    contact_name = EncryptedTextField(verbose_name="联系人")
    contact_phone = EncryptedTextField(verbose_name="联系电话")
    status = models.CharField(
        max_length=10,
        choices=SPONSOR_MACHINE.choices(),
        default=SponsorStatus.PENDING,
        verbose_name="状态",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人",
    )
    applied_at = models.DateTimeField(verbose_name="申请时间")
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    decision_reason = models.CharField(max_length=200, blank=True, verbose_name="审核说明")
    low_balance_fen = models.BigIntegerField(
        default=LOW_BALANCE_DEFAULT_FEN, verbose_name="余额提醒阈值"
    )
    #: Whether the wallet is below the threshold and its members were told (once per crossing).
    low_balance_alerted = models.BooleanField(default=False, verbose_name="已发余额提醒")
    low_balance_alerts = models.PositiveIntegerField(default=0, verbose_name="余额提醒次数")

    class Meta:
        verbose_name = "后向客户"
        verbose_name_plural = "后向客户"
        ordering = ["-applied_at", "-id"]
        indexes = [models.Index(fields=["status", "applied_at", "id"], name="sponsor_queue")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SponsorStatus]),
                name="sponsor_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=SponsorKind.values), name="sponsor_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(low_balance_fen__gte=0), name="sponsor_low_balance_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name}（{self.sponsor_id}）"


class SponsorEvent(models.Model):
    """A move of a sponsor's status: who, when, why."""

    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.CASCADE, related_name="events", verbose_name="后向客户"
    )
    from_status = models.CharField(max_length=10, blank=True, verbose_name="原状态")
    to_status = models.CharField(max_length=10, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "后向客户状态变更"
        verbose_name_plural = "后向客户状态变更"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class SponsorMember(models.Model):
    """A person who acts for a sponsor (the applicant first). A person acts for one sponsor."""

    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.CASCADE, related_name="members", verbose_name="后向客户"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="用户",
    )
    added_at = models.DateTimeField(verbose_name="加入时间")

    class Meta:
        verbose_name = "后向客户成员"
        verbose_name_plural = "后向客户成员"
        ordering = ["sponsor", "added_at", "id"]

    def __str__(self) -> str:
        return f"{self.sponsor_id}:{self.user_id}"


class SponsorTopUp(models.Model):
    """Money a sponsor pays into its wallet through the gateway (payment purpose
    SPONSOR_TOPUP, ``ref`` its reference); credited once per paid payment."""

    ref = models.CharField(max_length=24, unique=True, verbose_name="充值单号")
    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.PROTECT, related_name="topups", verbose_name="后向客户"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    method = models.CharField(max_length=8, verbose_name="支付方式")
    status = models.CharField(
        max_length=8, choices=TOPUP_MACHINE.choices(), default=TopUpStatus.PENDING,
        verbose_name="状态",
    )  # fmt: skip
    payment_id = models.BigIntegerField(null=True, blank=True, verbose_name="支付单")
    pay_url = models.CharField(max_length=500, blank=True, verbose_name="支付链接")
    credited_fen = models.BigIntegerField(default=0, verbose_name="已入账金额")
    created_by_id = models.BigIntegerField(verbose_name="发起人")
    created_at = models.DateTimeField(verbose_name="创建时间")
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name="到账时间")

    class Meta:
        verbose_name = "后向客户充值"
        verbose_name_plural = "后向客户充值"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sponsor", "created_at", "id"], name="sponsor_topups")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="sponsor_topup_amount_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(credited_fen__gte=0), name="sponsor_topup_credited_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TopUpStatus]),
                name="sponsor_topup_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class WholesaleRate(models.Model):
    """What the operator pays upstream for a GB of a carrier's data from ``valid_from`` on
    (the latest one started is in force); set by staff, read when slices settle."""

    carrier_code = models.CharField(max_length=16, verbose_name="运营商代码")
    fen_per_gb = models.BigIntegerField(verbose_name="批发价（分/GB）")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    note = models.CharField(max_length=200, blank=True, verbose_name="备注")

    class Meta:
        verbose_name = "流量批发价"
        verbose_name_plural = "流量批发价"
        ordering = ["carrier_code", "-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier_code", "valid_from"], name="wholesale_rate_one_per_start"
            ),
            models.CheckConstraint(
                condition=models.Q(fen_per_gb__gte=0), name="wholesale_rate_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_code} {self.fen_per_gb} 分/GB"
