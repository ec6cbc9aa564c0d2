"""Staff console of 流量控: gifts of data (reversible: a compensating movement, never an
edit), every movement of a line's data and the data bank's lots. All read-only."""

from __future__ import annotations

from django.contrib import admin, messages

from haoka.charging import gifts, movements
from haoka.charging.models import DataBankLot, DataGift, DataMovement
from haoka.core import clock
from haoka.core.errors import HaokaError


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DataGift)
class DataGiftAdmin(_ReadOnly):
    list_display = ("id", "giver", "receiver", "amount", "state", "created_at", "done_at")
    list_filter = ("state",)
    search_fields = ("giver__msisdn", "receiver__msisdn")
    actions = ["reverse"]

    def has_reverse_permission(self, request) -> bool:
        """Reversing moves a customer's data: staff with the model's change permission."""
        return request.user.has_perm("charging.change_datagift")

    @admin.action(description="撤回所选转赠（收回受赠方未用的流量）", permissions=["reverse"])
    def reverse(self, request, queryset):
        for gift in queryset.order_by("pk"):
            try:
                done = gifts.reverse(gift_id=gift.pk, actor=f"staff:{request.user.pk}",
                                     now=clock.now())  # fmt: skip
            except HaokaError as exc:
                self.message_user(request, f"转赠 #{gift.pk}：{exc.message}", messages.ERROR)
                continue
            taken = movements.format_bytes(done.reversed_amount)
            self.message_user(request, f"转赠 #{gift.pk}：已撤回 {taken}", messages.SUCCESS)


@admin.register(DataMovement)
class DataMovementAdmin(_ReadOnly):
    list_display = ("id", "line", "kind", "amount", "lapsed", "counterpart", "actor", "created_at")
    list_filter = ("kind",)
    search_fields = ("line__msisdn", "key")


@admin.register(DataBankLot)
class DataBankLotAdmin(_ReadOnly):
    list_display = ("id", "line", "amount", "remaining", "deposited_at", "expires_at")
    search_fields = ("line__msisdn",)


# Points (积分): their own console module, registered with this one.
from haoka.charging import admin_points  # noqa: E402, F401
