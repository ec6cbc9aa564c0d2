from django.contrib import admin

from haoka.core.admin_display import YuanAdminMixin, label_display, label_filter
from haoka.lines.domain import SUSPEND_LABELS
from haoka.lines.models import ClosureRefund, Line, LineClosure, LineEvent, PortingCode, SimCard


class LineEventInline(admin.TabularInline):
    model = LineEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "reason", "at")


class SimCardInline(admin.TabularInline):
    model = SimCard
    extra = 0
    can_delete = False
    readonly_fields = ("iccid", "imsi", "status", "valid_from", "valid_to", "actor", "reason")


class PortingCodeInline(admin.TabularInline):
    model = PortingCode
    extra = 0
    can_delete = False
    fields = ("created_at", "expires_at", "revoked_at")  # the hash is nobody's business
    readonly_fields = fields


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = (
        "msisdn",
        "carrier_code",
        "plan_code",
        "status",
        "suspend_reason_label",
        "activated_at",
    )
    list_filter = (
        "status",
        label_filter("suspend_reason", SUSPEND_LABELS, "停机原因"),
        "carrier_code",
        "plan_code",
    )
    search_fields = ("msisdn", "order_ref", "iccid")
    suspend_reason_label = label_display("suspend_reason", SUSPEND_LABELS, "停机原因")
    readonly_fields = ("iccid", "imsi", "order_ref", "activated_at", "closed_at", "created_at")
    inlines = [LineEventInline, SimCardInline, PortingCodeInline]


class ClosureRefundInline(YuanAdminMixin, admin.TabularInline):
    model = ClosureRefund
    extra = 0
    can_delete = False
    readonly_fields = (
        "purpose",
        "reference",
        "payment_id",
        "amount_fen",
        "state",
        "refund_id",
        "note",
        "updated_at",
    )


@admin.register(LineClosure)
class LineClosureAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Closed lines; state MANUAL: money the gateway could not carry back (pay by hand)."""

    list_display = ("line", "state", "refund_due_fen", "refunded_fen", "manual_fen", "closed_at")
    list_filter = ("state",)
    search_fields = ("line__msisdn",)
    readonly_fields = (
        "line",
        "refund_due_fen",
        "refunded_fen",
        "manual_fen",
        "state",
        "actor",
        "closed_at",
        "updated_at",
    )
    inlines = [ClosureRefundInline]
