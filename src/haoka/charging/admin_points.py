"""Staff console of points (积分): the conversion rate (a new rate is a new row), the points
shop's items and coupon stocks, and read-only conversions (reversible: a compensating
movement, never an edit), lots and redemptions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from haoka.charging import conversions, movements, points_shop
from haoka.charging.admin import _ReadOnly
from haoka.charging.models import (
    PointsConversion,
    PointsLot,
    PointsRate,
    PointsRedemption,
    ShopItem,
)
from haoka.core import clock
from haoka.core.errors import HaokaError


@admin.register(PointsRate)
class PointsRateAdmin(admin.ModelAdmin):
    """Rates are added, never changed: the old rate explains the conversions made under it."""

    list_display = ("points_per_gb", "valid_from", "created_by", "created_at")
    fields = ("points_per_gb", "valid_from")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.created_by, obj.created_at = f"staff:{request.user.pk}", clock.now()
        super().save_model(request, obj, form, change)


class ShopItemForm(forms.ModelForm):
    new_codes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="追加券码（每行一个）"
    )

    class Meta:
        model = ShopItem
        fields = ("code", "name", "kind", "description", "price_points", "pack_code",
                  "sponsor_name", "active", "sort")  # fmt: skip


@admin.register(ShopItem)
class ShopItemAdmin(admin.ModelAdmin):
    form = ShopItemForm
    list_display = ("code", "name", "kind", "price_points", "active", "codes_left")
    list_filter = ("kind", "active")

    @admin.display(description="剩余券码")
    def codes_left(self, obj) -> int:
        return obj.codes.filter(redemption__isnull=True).count()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        lines = form.cleaned_data.get("new_codes", "").splitlines()
        if lines:
            added = points_shop.add_codes(item_id=obj.pk, codes=lines)
            self.message_user(request, f"已追加 {added} 个券码", messages.SUCCESS)


@admin.register(PointsConversion)
class PointsConversionAdmin(_ReadOnly):
    list_display = ("id", "line", "amount", "points", "points_per_gb", "state", "created_at")
    list_filter = ("state",)
    search_fields = ("line__msisdn",)
    actions = ["reverse"]

    def has_reverse_permission(self, request) -> bool:
        """Reversing moves a customer's data and points: the model's change permission."""
        return request.user.has_perm("charging.change_pointsconversion")

    @admin.action(description="撤回所选兑换（收回积分，退回流量）", permissions=["reverse"])
    def reverse(self, request, queryset):
        for conversion in queryset.order_by("pk"):
            try:
                done = conversions.reverse(
                    conversion_id=conversion.pk, actor=f"staff:{request.user.pk}", now=clock.now()
                )
            except HaokaError as exc:
                self.message_user(request, f"兑换 #{conversion.pk}：{exc.message}", messages.ERROR)
                continue
            back = movements.format_bytes(done.restored)
            text = f"兑换 #{conversion.pk}：已撤回 {done.points} 积分，退回 {back}"
            self.message_user(request, text, messages.SUCCESS)


@admin.register(PointsLot)
class PointsLotAdmin(_ReadOnly):
    list_display = ("id", "user_id", "amount", "remaining", "earned_at", "expires_at", "origin")
    search_fields = ("origin",)


@admin.register(PointsRedemption)
class PointsRedemptionAdmin(_ReadOnly):
    list_display = ("id", "user_id", "item", "line", "points", "created_at")
    list_filter = ("item",)
