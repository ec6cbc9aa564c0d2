from django.contrib import admin

from haoka.core.admin_display import YuanAdminMixin
from haoka.orders.models import Order, OrderEvent


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "actor", "reason", "data", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Staff see orders and their history; personal data stays encrypted and is not shown."""

    list_display = (
        "ref",
        "state",
        "carrier_code",
        "plan_code",
        "msisdn",
        "amount_due_fen",
        "ship_province",
        "created_at",
    )
    list_filter = ("state", "carrier_code", "ship_province", "refund_state")
    search_fields = ("ref", "msisdn", "tracking_no", "carrier_order_id", "agent_code")
    date_hierarchy = "created_at"
    exclude = ("shipping_address", "contract_text")
    readonly_fields = [
        f.name for f in Order._meta.fields if f.name not in ("shipping_address", "contract_text")
    ]
    inlines = [OrderEventInline]

    def has_add_permission(self, request):
        return False
