"""Carriers, plans, add-on packs, rating groups (app classes), tags and benefits."""

from __future__ import annotations

from django.db import models

from haoka.catalog.domain import FIRST_MONTH_LABELS, PACK_KIND_LABELS, FirstMonth
from haoka.core import clock

GB = 1024**3
MB = 1024**2


class Carrier(models.Model):
    code = models.CharField(max_length=16, unique=True)  # CMCC CUCC CTCC CBN HAOKA
    name = models.CharField(max_length=40)
    short_name = models.CharField(max_length=10)
    mnc = models.JSONField(default=list)  # IMSI network codes, e.g. ["00", "02"]
    is_virtual = models.BooleanField(default=False)
    color = models.CharField(max_length=7, default="#1677ff")
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class RatingGroup(models.Model):
    """An app class for targeted / zero-rated traffic (3GPP rating group)."""

    number = models.PositiveIntegerField(unique=True)
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["number", "id"]

    def __str__(self) -> str:
        return self.name


class Benefit(models.Model):
    """A membership or perk bundled with a plan or pack (e.g. 腾讯视频 VIP 月卡)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    value_fen = models.BigIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value_fen__gte=0), name="benefit_value_nonneg"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["code", "id"]

    def __str__(self) -> str:
        return self.name


class SaleStatus(models.TextChoices):
    DRAFT = "DRAFT", "草稿"
    ON_SALE = "ON_SALE", "在售"
    RETIRED = "RETIRED", "已下架"


class Plan(models.Model):
    code = models.CharField(max_length=40, unique=True)
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=60)
    slogan = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=SaleStatus.choices, default=SaleStatus.DRAFT)
    monthly_fee_fen = models.BigIntegerField(default=0)
    general_data_bytes = models.BigIntegerField(default=0)
    targeted_data_bytes = models.BigIntegerField(default=0)
    targeted_groups = models.ManyToManyField(RatingGroup, blank=True, related_name="targeted_in")
    zero_rated_groups = models.ManyToManyField(
        RatingGroup, blank=True, related_name="zero_rated_in"
    )
    voice_seconds = models.BigIntegerField(default=0)
    sms_count = models.IntegerField(default=0)
    # 日租: charged on the first data use of a Beijing day, allowance valid until midnight.
    daily_fee_fen = models.BigIntegerField(default=0)
    daily_data_bytes = models.BigIntegerField(default=0)
    # Pay-as-you-go rates, in fen (Decimal: sub-fen per-unit rates are real, e.g. 0.03 fen/KB).
    payg_data_fen_per_mb = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    payg_voice_fen_per_minute = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    payg_sms_fen = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    contract_months = models.PositiveSmallIntegerField(default=0)
    first_topup_fen = models.BigIntegerField(default=0)  # 首充
    # 首月: how the activation month is charged and granted (charging.domain.first_month).
    first_month = models.CharField(
        max_length=12,
        choices=[(m.value, label) for m, label in FIRST_MONTH_LABELS.items()],
        default=FirstMonth.PRORATED.value,
    )
    min_age = models.PositiveSmallIntegerField(default=16)
    max_age = models.PositiveSmallIntegerField(default=65)
    sale_regions = models.JSONField(default=list, blank=True)  # provinces; empty = nationwide
    forbidden_regions = models.JSONField(default=list, blank=True)  # "新疆" or "广东/东莞"
    tags = models.ManyToManyField(Tag, blank=True, related_name="plans")
    benefits = models.ManyToManyField(Benefit, blank=True, related_name="plans")
    requires_photos = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    sort = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
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

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    carriers = models.ManyToManyField(Carrier, blank=True, related_name="packs")  # empty = all
    status = models.CharField(max_length=10, choices=SaleStatus.choices, default=SaleStatus.DRAFT)
    price_fen = models.BigIntegerField()
    data_bytes = models.BigIntegerField(default=0)
    voice_seconds = models.BigIntegerField(default=0)
    validity_days = models.PositiveSmallIntegerField(default=0)  # 0 = to the end of the month
    window_start = models.TimeField(null=True, blank=True)  # e.g. 23:00 for night packs
    window_end = models.TimeField(null=True, blank=True)
    rating_groups = models.ManyToManyField(RatingGroup, blank=True, related_name="packs")
    benefit = models.ForeignKey(Benefit, null=True, blank=True, on_delete=models.PROTECT)
    sort = models.PositiveIntegerField(default=100)

    class Meta:
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
