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
    msisdn = models.CharField(max_length=11, unique=True)
    # The number reversed: "ends with 8888" becomes an index range scan on a prefix.
    msisdn_rev = models.CharField(max_length=11)
    # No index of its own: every search index leads with (status, carrier) or covers it.
    carrier = models.ForeignKey(
        "catalog.Carrier",
        to_field="code",
        db_column="carrier_code",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    segment = models.CharField(max_length=3)
    province = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=24, blank=True)
    status = models.CharField(
        max_length=12, choices=MACHINE.choices(), default=NumberState.AVAILABLE
    )
    tier = models.CharField(max_length=1, choices=TierCode.choices, default=TierCode.N)
    tier_rank = models.PositiveSmallIntegerField(default=5)  # 0 = S (best) .. 5 = normal
    score = models.IntegerField(default=0)
    pattern_mask = models.BigIntegerField(default=0)
    has_four = models.BooleanField(default=False)
    price_fen = models.BigIntegerField(default=0)
    min_monthly_fen = models.BigIntegerField(default=0)  # 最低消费
    contract_months = models.PositiveSmallIntegerField(default=0)
    price_locked = models.BooleanField(
        default=False
    )  # staff set the price by hand: reprice skips it
    reserved_by = models.ForeignKey(  # indexed by num_holder (reserved_by, status)
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    reserved_until = models.DateTimeField(null=True, blank=True)
    order_ref = models.CharField(max_length=24, blank=True)  # the order holding or owning it
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
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

    number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    actor = models.CharField(max_length=80)
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
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
    )
    tier = models.CharField(max_length=1, choices=TierCode.choices)
    price_fen = models.BigIntegerField()
    min_monthly_fen = models.BigIntegerField(default=0)
    contract_months = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
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

    source = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list
    )  # first 1,000 rejected rows: {line, value, code, reason}

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"导入 #{self.pk} {self.source}"
