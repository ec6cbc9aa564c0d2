from django.contrib import admin, messages

from haoka.core import clock
from haoka.core.admin_display import YuanAdminMixin, label_display, label_filter
from haoka.core.errors import HaokaError
from haoka.core.money import format_fen
from haoka.payments import operations
from haoka.payments.domain import UNMATCHED_REASON_LABELS
from haoka.payments.models import Payment, PaymentEvent, Refund, UnmatchedRefund


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ("at", "kind", "from_status", "to_status", "actor", "reason", "event_id", "refund")
    readonly_fields = fields
    ordering = ("at", "id")


class RefundInline(YuanAdminMixin, ReadOnlyInline):
    model = Refund
    fields = ("refund_id", "amount_fen", "reason", "status", "failure_code", "succeeded_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Read-only: money moves only through operations (refunds, reconciliation)."""

    list_display = (
        "merchant_order_id",
        "purpose",
        "reference",
        "amount_fen",
        "method",
        "status",
        "refunded_fen",
        "paid_at",
        "created_at",
    )
    list_filter = ("status", "purpose", "method", "gateway")
    search_fields = ("merchant_order_id", "reference", "gateway_payment_id")
    readonly_fields = ("amount_fen", "refunded_fen")
    ordering = ("-created_at", "-id")
    inlines = [RefundInline, PaymentEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = (
        "refund_id",
        "payment",
        "amount_fen",
        "reason",
        "status",
        "requested_by_haoka",
        "created_at",
        "succeeded_at",
    )
    list_filter = ("status", "requested_by_haoka")
    readonly_fields = ("amount_fen",)
    search_fields = ("refund_id", "payment__merchant_order_id", "payment__reference")
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UnmatchedRefund)
class UnmatchedRefundAdmin(YuanAdminMixin, admin.ModelAdmin):
    """未匹配退款: refunds the gateway made that no owner could take back. Staff resolve
    each one: take it back again (the wallet has the money now) or write it off."""

    list_display = (
        "gateway_refund_id",
        "payment",
        "amount",
        "reason",
        "state",
        "resolution",
        "created_at",
        "resolved_at",
        "resolved_by",
    )
    list_filter = (
        "state",
        "resolution",
        label_filter("reason_code", UNMATCHED_REASON_LABELS, "原因"),
    )
    search_fields = ("gateway_refund_id", "payment__merchant_order_id", "payment__reference")
    list_select_related = ("payment",)
    ordering = ("-created_at", "-id")
    fields = readonly_fields = (
        "gateway_refund_id",
        "payment",
        "amount_fen",
        "reason",
        "state",
        "resolution",
        "note",
        "created_at",
        "resolved_at",
        "resolved_by",
    )
    actions = ["take_back", "write_off"]
    reason = label_display("reason_code", UNMATCHED_REASON_LABELS, "原因")

    @admin.display(description="金额", ordering="amount_fen")
    def amount(self, obj: UnmatchedRefund) -> str:
        return format_fen(obj.amount_fen)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request) -> bool:
        """Resolving moves money: staff with the model's change permission (the form itself
        stays read-only)."""
        return request.user.has_perm("payments.change_unmatchedrefund")

    def _resolve(self, request, queryset, *, retry: bool, done: str) -> None:
        for item in queryset.order_by("pk"):
            label = f"{item.gateway_refund_id}（{format_fen(item.amount_fen)}）"
            try:
                operations.resolve_unmatched_refund(
                    unmatched_id=item.pk,
                    retry=retry,
                    actor=f"staff:{request.user.pk}",
                    note=f"后台{done}",
                    now=clock.now(),
                )
            except HaokaError as exc:
                self.message_user(request, f"{label}：{exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{label}：已{done}", messages.SUCCESS)

    @admin.action(description="重新匹配（从客户余额扣回）", permissions=["resolve"])
    def take_back(self, request, queryset):
        self._resolve(request, queryset, retry=True, done="扣回")

    @admin.action(description="核销为损失", permissions=["resolve"])
    def write_off(self, request, queryset):
        self._resolve(request, queryset, retry=False, done="核销")
