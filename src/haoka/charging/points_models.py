"""Tables of points (积分): the conversion rate staff set, conversions of data into points, the
owners' lots of points, the points shop's items, coupon codes and redemptions.

Imported by ``charging.models`` (the app's models module): read it through ``charging``'s
operations and queries like every other table of the domain.
"""

from __future__ import annotations

from django.db import models

from haoka.charging.points import CONVERSION_MACHINE, ShopItemKind


class PointsRate(models.Model):
    """How many points 1 GB of data converts into, from ``valid_from`` on (the latest one
    valid wins: a new rate is a new row, never an edit of the old)."""

    points_per_gb = models.PositiveIntegerField(verbose_name="每 GB 兑换积分")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    created_by = models.CharField(max_length=120, blank=True, verbose_name="设置人")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "积分兑换比例"
        verbose_name_plural = "积分兑换比例"
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_per_gb__gt=0), name="points_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"1GB = {self.points_per_gb} 积分（{self.valid_from:%Y-%m-%d}起）"


class PointsLot(models.Model):
    """Points an owner earned at once: what is left of them (spent oldest first) and when
    what is left expires (12 months after they were earned)."""

    user_id = models.BigIntegerField(verbose_name="用户 ID")
    amount = models.BigIntegerField(verbose_name="获得积分")
    remaining = models.BigIntegerField(verbose_name="剩余积分")
    earned_at = models.DateTimeField(verbose_name="获得时间")
    expires_at = models.DateTimeField(verbose_name="到期时间")
    #: What earned them: ``conversion:<id>``.
    origin = models.CharField(max_length=60, unique=True, verbose_name="来源")

    class Meta:
        verbose_name = "积分批次"
        verbose_name_plural = "积分批次"
        ordering = ["expires_at", "id"]
        indexes = [models.Index(fields=["user_id", "expires_at"], name="points_lot_user_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, remaining__gte=0)
                & models.Q(remaining__lte=models.F("amount")),
                name="points_lot_remaining_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.amount} 积分"


class PointsConversion(models.Model):
    """Data of a line converted into points for its owner (兑换)."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    user_id = models.BigIntegerField(verbose_name="用户 ID")
    amount = models.BigIntegerField(verbose_name="流量（字节）")
    points = models.BigIntegerField(verbose_name="积分")
    points_per_gb = models.PositiveIntegerField(verbose_name="兑换比例（每 GB）")
    state = models.CharField(
        max_length=10, choices=CONVERSION_MACHINE.choices(), verbose_name="状态"
    )
    #: [[bucket id, source, bytes], ...]: where the bytes came from (a reversal's way back).
    takes = models.JSONField(default=list, blank=True, verbose_name="明细")
    lot = models.OneToOneField(
        PointsLot, on_delete=models.PROTECT, null=True, blank=True, related_name="conversion",
        verbose_name="积分批次",
    )  # fmt: skip
    request_key = models.CharField(max_length=200, blank=True, verbose_name="幂等键")
    created_at = models.DateTimeField(verbose_name="时间")
    reversed_at = models.DateTimeField(null=True, blank=True, verbose_name="撤回时间")
    #: Of a reversal: bytes back on the line's buckets and bytes that lapsed (bucket ended).
    restored = models.BigIntegerField(default=0, verbose_name="退回流量（字节）")
    lapsed = models.BigIntegerField(default=0, verbose_name="失效流量（字节）")

    class Meta:
        verbose_name = "流量兑换积分"
        verbose_name_plural = "流量兑换积分"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, points__gt=0, restored__gte=0, lapsed__gte=0),
                name="points_conversion_positive",
            ),
            models.UniqueConstraint(
                fields=["line", "request_key"],
                condition=~models.Q(request_key=""),
                name="points_conversion_key_once",
            ),
        ]

    def __str__(self) -> str:
        return f"兑换 #{self.pk}: {self.points} 积分"


class ShopItem(models.Model):
    """What points buy (积分商城): a pack or a membership of the catalog (activated on the
    buyer's line by the pack operation) or a sponsor's coupon (one code of a stock)."""

    code = models.SlugField(max_length=40, unique=True, verbose_name="商品代码")
    name = models.CharField(max_length=60, verbose_name="名称")
    kind = models.CharField(max_length=12, choices=ShopItemKind.choices, verbose_name="类型")
    description = models.CharField(max_length=200, blank=True, verbose_name="说明")
    price_points = models.PositiveIntegerField(verbose_name="所需积分")
    #: PACK and MEMBERSHIP: the catalog pack's code.
    pack_code = models.CharField(max_length=40, blank=True, verbose_name="加油包代码")
    #: COUPON: whose coupon it is (shown to the buyer).
    sponsor_name = models.CharField(max_length=60, blank=True, verbose_name="商家")
    active = models.BooleanField(default=True, verbose_name="上架")
    sort = models.IntegerField(default=0, verbose_name="排序")

    class Meta:
        verbose_name = "积分商品"
        verbose_name_plural = "积分商品"
        ordering = ["sort", "price_points", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_points__gt=0), name="points_item_price_positive"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["PACK", "MEMBERSHIP"]) & ~models.Q(pack_code="")
                    | models.Q(kind="COUPON", pack_code="")
                ),
                name="points_item_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.price_points} 积分）"


class PointsRedemption(models.Model):
    """Points spent on a shop item, and what was delivered."""

    user_id = models.BigIntegerField(verbose_name="用户 ID")
    item = models.ForeignKey(
        ShopItem, on_delete=models.PROTECT, related_name="redemptions", verbose_name="商品"
    )
    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="号卡",
    )  # fmt: skip
    points = models.BigIntegerField(verbose_name="积分")
    #: [[lot id, points], ...]: which lots paid.
    takes = models.JSONField(default=list, blank=True, verbose_name="明细")
    pack_purchase_id = models.BigIntegerField(null=True, blank=True, verbose_name="加油包订购 ID")
    coupon_code = models.CharField(max_length=60, blank=True, verbose_name="券码")
    request_key = models.CharField(max_length=200, verbose_name="幂等键")
    created_at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "积分兑换商品"
        verbose_name_plural = "积分兑换商品"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points__gt=0), name="points_redemption_positive"
            ),
            models.UniqueConstraint(
                fields=["user_id", "request_key"], name="points_redemption_key_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.points} 积分"


class CouponCode(models.Model):
    """One code of a sponsor's coupon stock; given out at most once (``redemption``)."""

    item = models.ForeignKey(
        ShopItem, on_delete=models.PROTECT, related_name="codes", verbose_name="商品"
    )
    code = models.CharField(max_length=60, verbose_name="券码")
    redemption = models.OneToOneField(
        PointsRedemption, on_delete=models.PROTECT, null=True, blank=True, related_name="coupon",
        verbose_name="兑换记录",
    )  # fmt: skip
    issued_at = models.DateTimeField(null=True, blank=True, verbose_name="发放时间")

    class Meta:
        verbose_name = "优惠券码"
        verbose_name_plural = "优惠券码"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="points_coupon_code_once"),
            models.CheckConstraint(
                condition=models.Q(redemption__isnull=True, issued_at__isnull=True)
                | models.Q(redemption__isnull=False, issued_at__isnull=False),
                name="points_coupon_issued_with_redemption",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.code[:4]}…"
