"""Carriers, plans, add-on packs, rating groups (app classes), tags and benefits."""

from __future__ import annotations

from django.db import models

from haoka.catalog.domain import FIRST_MONTH_LABELS, PACK_KIND_LABELS, FirstMonth
from haoka.core import clock

GB = 1024**3
MB = 1024**2


class Carrier(models.Model):
    code = models.CharField(
        max_length=16, unique=True, verbose_name="代码"
    )  # CMCC CUCC CTCC CBN HAOKA
    name = models.CharField(max_length=40, verbose_name="名称")
    short_name = models.CharField(max_length=10, verbose_name="简称")
    mnc = models.JSONField(
        default=list, verbose_name="移动网络代码"
    )  # IMSI network codes, e.g. ["00", "02"]
    is_virtual = models.BooleanField(default=False, verbose_name="虚拟运营商")
    color = models.CharField(max_length=7, default="#1677ff", verbose_name="颜色")
    sort = models.PositiveSmallIntegerField(default=0, verbose_name="排序")

    class Meta:
        verbose_name = "运营商"
        verbose_name_plural = "运营商"
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class RatingGroup(models.Model):
    """A 3GPP rating group the network reports traffic under: an app class for targeted /
    zero-rated traffic, or (``general``) general traffic, paid by general allowances. Online
    charging rates only the groups listed here: any other gets RATING_FAILED."""

    number = models.PositiveIntegerField(unique=True, verbose_name="费率组编号")
    code = models.CharField(max_length=40, unique=True, verbose_name="代码")
    name = models.CharField(max_length=40, verbose_name="名称")
    general = models.BooleanField(
        default=False, verbose_name="通用流量", help_text="通用上网流量（非定向应用）的费率组"
    )

    class Meta:
        verbose_name = "费率组"
        verbose_name_plural = "费率组"
        ordering = ["number", "id"]

    def __str__(self) -> str:
        return self.name


class Benefit(models.Model):
    """A membership or perk bundled with a plan or pack (e.g. 腾讯视频 VIP 月卡)."""

    code = models.CharField(max_length=40, unique=True, verbose_name="代码")
    name = models.CharField(max_length=60, verbose_name="名称")
    value_fen = models.BigIntegerField(default=0, verbose_name="价值")
    description = models.CharField(max_length=200, blank=True, verbose_name="说明")

    class Meta:
        verbose_name = "权益"
        verbose_name_plural = "权益"
        ordering = ["code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value_fen__gte=0), name="benefit_value_nonneg"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    code = models.CharField(max_length=40, unique=True, verbose_name="代码")
    name = models.CharField(max_length=40, verbose_name="名称")

    class Meta:
        verbose_name = "标签"
        verbose_name_plural = "标签"
        ordering = ["code", "id"]

    def __str__(self) -> str:
        return self.name


class SaleStatus(models.TextChoices):
    DRAFT = "DRAFT", "草稿"
    ON_SALE = "ON_SALE", "在售"
    RETIRED = "RETIRED", "已下架"


class Plan(models.Model):
    code = models.CharField(max_length=40, unique=True, verbose_name="代码")
    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="plans", verbose_name="运营商"
    )
    name = models.CharField(max_length=60, verbose_name="名称")
    slogan = models.CharField(max_length=120, blank=True, verbose_name="宣传语")
    status = models.CharField(
        max_length=10, choices=SaleStatus.choices, default=SaleStatus.DRAFT, verbose_name="上架状态"
    )
    monthly_fee_fen = models.BigIntegerField(default=0, verbose_name="月租")
    general_data_bytes = models.BigIntegerField(default=0, verbose_name="通用流量（字节）")
    targeted_data_bytes = models.BigIntegerField(default=0, verbose_name="定向流量（字节）")
    targeted_groups = models.ManyToManyField(
        RatingGroup, blank=True, related_name="targeted_in", verbose_name="定向费率组"
    )
    zero_rated_groups = models.ManyToManyField(
        RatingGroup, blank=True, related_name="zero_rated_in", verbose_name="免流费率组"
    )
    voice_seconds = models.BigIntegerField(default=0, verbose_name="语音（秒）")
    sms_count = models.IntegerField(default=0, verbose_name="短信条数")
    # 日租: charged on the first data use of a Beijing day, allowance valid until midnight.
    daily_fee_fen = models.BigIntegerField(default=0, verbose_name="日租费")
    daily_data_bytes = models.BigIntegerField(default=0, verbose_name="每日流量（字节）")
    # Pay-as-you-go rates, in fen (Decimal: sub-fen per-unit rates are real, e.g. 0.03 fen/KB).
    payg_data_fen_per_mb = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, verbose_name="超套流量单价（分/MB）"
    )
    payg_voice_fen_per_minute = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, verbose_name="超套语音单价（每分钟）"
    )
    payg_sms_fen = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, verbose_name="超套短信单价"
    )
    contract_months = models.PositiveSmallIntegerField(default=0, verbose_name="合约月数")
    first_topup_fen = models.BigIntegerField(default=0, verbose_name="首充金额")  # 首充
    # 首月: how the activation month is charged and granted (charging.domain.first_month).
    first_month = models.CharField(
        max_length=12,
        choices=[(m.value, label) for m, label in FIRST_MONTH_LABELS.items()],
        default=FirstMonth.PRORATED.value,
        verbose_name="首月计费方式",
    )
    min_age = models.PositiveSmallIntegerField(default=16, verbose_name="最小年龄")
    max_age = models.PositiveSmallIntegerField(default=65, verbose_name="最大年龄")
    sale_regions = models.JSONField(
        default=list, blank=True, verbose_name="销售地区"
    )  # provinces; empty = nationwide
    forbidden_regions = models.JSONField(
        default=list, blank=True, verbose_name="禁售地区"
    )  # "新疆" or "广东/东莞"
    tags = models.ManyToManyField(Tag, blank=True, related_name="plans", verbose_name="标签")
    benefits = models.ManyToManyField(
        Benefit, blank=True, related_name="plans", verbose_name="权益"
    )
    requires_photos = models.BooleanField(default=False, verbose_name="需上传照片")
    description = models.TextField(blank=True, verbose_name="说明")
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name="创建时间")
    updated_at = models.DateTimeField(default=clock.now, verbose_name="更新时间")

    class Meta:
        verbose_name = "套餐"
        verbose_name_plural = "套餐"
        ordering = ["sort", "monthly_fee_fen", "id"]
        indexes = [models.Index(fields=["status", "carrier", "monthly_fee_fen"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SaleStatus]),
                name="plan_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    monthly_fee_fen__gte=0,
                    daily_fee_fen__gte=0,
                    first_topup_fen__gte=0,
                    general_data_bytes__gte=0,
                    targeted_data_bytes__gte=0,
                    daily_data_bytes__gte=0,
                    voice_seconds__gte=0,
                    sms_count__gte=0,
                ),
                name="plan_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(min_age__lte=models.F("max_age")), name="plan_age_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PackKind(models.TextChoices):
    DATA = "DATA", PACK_KIND_LABELS["DATA"]
    VOICE = "VOICE", PACK_KIND_LABELS["VOICE"]
    NIGHT = "NIGHT", PACK_KIND_LABELS["NIGHT"]
    TARGETED = "TARGETED", PACK_KIND_LABELS["TARGETED"]
    MEMBERSHIP = "MEMBERSHIP", PACK_KIND_LABELS["MEMBERSHIP"]


class Pack(models.Model):
    """An add-on pack bought on top of a plan."""

    Kind = PackKind

    code = models.CharField(max_length=40, unique=True, verbose_name="代码")
    name = models.CharField(max_length=60, verbose_name="名称")
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name="包类型")
    carriers = models.ManyToManyField(
        Carrier, blank=True, related_name="packs", verbose_name="适用运营商"
    )  # empty = all
    status = models.CharField(
        max_length=10, choices=SaleStatus.choices, default=SaleStatus.DRAFT, verbose_name="上架状态"
    )
    price_fen = models.BigIntegerField(verbose_name="价格")
    data_bytes = models.BigIntegerField(default=0, verbose_name="流量（字节）")
    voice_seconds = models.BigIntegerField(default=0, verbose_name="语音（秒）")
    validity_days = models.PositiveSmallIntegerField(
        default=0, verbose_name="有效天数"
    )  # 0 = to the end of the month
    window_start = models.TimeField(
        null=True, blank=True, verbose_name="时段开始"
    )  # e.g. 23:00 for night packs
    window_end = models.TimeField(null=True, blank=True, verbose_name="时段结束")
    rating_groups = models.ManyToManyField(
        RatingGroup, blank=True, related_name="packs", verbose_name="费率组"
    )
    benefit = models.ForeignKey(
        Benefit, null=True, blank=True, on_delete=models.PROTECT, verbose_name="权益"
    )
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

    class Meta:
        verbose_name = "流量包"
        verbose_name_plural = "流量包"
        ordering = ["sort", "price_fen", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_fen__gte=0), name="pack_price_nonneg"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in PackKind]), name="pack_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SaleStatus]),
                name="pack_status_valid",
            ),
            models.CheckConstraint(
                condition=(models.Q(window_start__isnull=True) & models.Q(window_end__isnull=True))
                | (models.Q(window_start__isnull=False) & models.Q(window_end__isnull=False)),
                name="pack_window_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.name
