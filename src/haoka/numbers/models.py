"""The number pool: numbers, their transitions, per-carrier tier prices, import batches."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.numbers.domain import MACHINE, NumberState


class TierCode(models.TextChoices):
    S = "S", "S 级"
    A = "A", "A 级"
    B = "B", "B 级"
    C = "C", "C 级"
    D = "D", "D 级"
    N = "N", "普通号"


class PhoneNumber(models.Model):
    msisdn = models.CharField(max_length=11, unique=True, verbose_name="号码")
    # The number reversed: "ends with 8888" becomes an index range scan on a prefix.
    msisdn_rev = models.CharField(max_length=11, verbose_name="号码倒序")
    # No index of its own: every search index leads with (status, carrier) or covers it.
    carrier = models.ForeignKey(
        "catalog.Carrier",
        to_field="code",
        db_column="carrier_code",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name="运营商",
    )
    segment = models.CharField(max_length=3, verbose_name="号段")
    province = models.CharField(max_length=16, blank=True, verbose_name="省份")
    city = models.CharField(max_length=24, blank=True, verbose_name="城市")
    status = models.CharField(
        max_length=12, choices=MACHINE.choices(), default=NumberState.AVAILABLE, verbose_name="状态"
    )
    tier = models.CharField(
        max_length=1, choices=TierCode.choices, default=TierCode.N, verbose_name="等级"
    )
    tier_rank = models.PositiveSmallIntegerField(
        default=5, verbose_name="等级排序"
    )  # 0 = S (best) .. 5 = normal
    score = models.IntegerField(default=0, verbose_name="分数")
    pattern_mask = models.BigIntegerField(default=0, verbose_name="靓号模式掩码")
    has_four = models.BooleanField(default=False, verbose_name="含数字 4")
    price_fen = models.BigIntegerField(default=0, verbose_name="价格")
    min_monthly_fen = models.BigIntegerField(default=0, verbose_name="最低月消费")  # 最低消费
    contract_months = models.PositiveSmallIntegerField(default=0, verbose_name="合约月数")
    price_locked = models.BooleanField(
        default=False, verbose_name="价格锁定"
    )  # staff set the price by hand: reprice skips it
    reserved_by = models.ForeignKey(  # indexed by num_holder (reserved_by, status)
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name="预留人",
    )
    reserved_until = models.DateTimeField(null=True, blank=True, verbose_name="预留截止")
    order_ref = models.CharField(
        max_length=24, blank=True, verbose_name="订单号"
    )  # the order holding or owning it
    status_changed_at = models.DateTimeField(null=True, blank=True, verbose_name="状态变更时间")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        verbose_name = "号码"
        verbose_name_plural = "号码"
        ordering = ["tier_rank", "price_fen", "id"]
        indexes = [
            # Search reads ids in sort order from these indexes, then fetches the page's rows
            # (a deferred join). msisdn and has_four trail the default-order index so that
            # "contains" and "no 4" filters are checked inside it (an index-only scan).
            models.Index(
                fields=["status", "tier_rank", "price_fen", "id", "msisdn", "has_four"],
                name="num_status_tier",
            ),
            models.Index(fields=["status", "price_fen", "id"], name="num_status_price"),
            models.Index(
                fields=["status", "carrier", "tier_rank", "price_fen", "id"],
                name="num_status_carrier",
            ),
            models.Index(
                fields=["status", "carrier", "price_fen", "id"], name="num_status_carrier_price"
            ),
            # City is filtered inside the province's rows: ordering stays index-driven.
            models.Index(
                fields=["status", "province", "tier_rank", "price_fen", "id"],
                name="num_status_region",
            ),
            models.Index(fields=["msisdn_rev"], name="num_rev"),
            models.Index(fields=["reserved_by", "status"], name="num_holder"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in NumberState]),
                name="number_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=[t.value for t in TierCode]), name="number_tier_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(price_fen__gte=0, min_monthly_fen__gte=0),
                name="number_price_nonneg",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="RESERVED")
                | (models.Q(reserved_by__isnull=False) & models.Q(reserved_until__isnull=False)),
                name="number_reserved_has_holder",
            ),
        ]

    def __str__(self) -> str:
        return self.msisdn


class NumberEvent(models.Model):
    """Every status transition of a number: who, when, why."""

    number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="events", verbose_name="号码"
    )
    from_status = models.CharField(max_length=12, verbose_name="原状态")
    to_status = models.CharField(max_length=12, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "号码事件"
        verbose_name_plural = "号码事件"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["number", "at"])]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class TierPrice(models.Model):
    """Price, minimum monthly spend and contract of a vanity tier, per carrier (staff edit)."""

    carrier = models.ForeignKey(
        "catalog.Carrier",
        to_field="code",
        db_column="carrier_code",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="运营商",
    )
    tier = models.CharField(max_length=1, choices=TierCode.choices, verbose_name="等级")
    price_fen = models.BigIntegerField(verbose_name="价格")
    min_monthly_fen = models.BigIntegerField(default=0, verbose_name="最低月消费")
    contract_months = models.PositiveSmallIntegerField(default=0, verbose_name="合约月数")
    updated_at = models.DateTimeField(default=clock.now, verbose_name="更新时间")

    class Meta:
        verbose_name = "靓号等级价格"
        verbose_name_plural = "靓号等级价格"
        ordering = ["carrier", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tier"], name="tier_price_unique"),
            models.CheckConstraint(
                condition=models.Q(price_fen__gte=0, min_monthly_fen__gte=0),
                name="tier_price_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_id} {self.tier}"


class NumberImport(models.Model):
    """One run of an import (CSV or generator), with its counts and rejected rows."""

    source = models.CharField(max_length=300, verbose_name="来源文件")
    sha256 = models.CharField(max_length=64, blank=True, verbose_name="SHA-256 摘要")
    started_at = models.DateTimeField(verbose_name="开始时间")
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name="完成时间")
    rows = models.PositiveIntegerField(default=0, verbose_name="行数")
    imported = models.PositiveIntegerField(default=0, verbose_name="已导入")
    already_present = models.PositiveIntegerField(default=0, verbose_name="已存在")
    rejected = models.PositiveIntegerField(default=0, verbose_name="已拒绝")
    errors = models.JSONField(
        default=list, verbose_name="错误"
    )  # first 1,000 rejected rows: {line, value, code, reason}

    class Meta:
        verbose_name = "号码导入"
        verbose_name_plural = "号码导入"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"导入 #{self.pk} {self.source}"
