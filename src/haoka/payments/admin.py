from django.contrib import admin

from haoka.payments.models import Payment, PaymentEvent, Refund


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


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("refund_id", "amount_fen", "reason", "status", "failure_code", "succeeded_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
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
    ordering = ("-created_at", "-id")
    inlines = [RefundInline, PaymentEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
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
    search_fields = ("refund_id", "payment__merchant_order_id", "payment__reference")
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
