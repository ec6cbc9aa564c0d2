from django.contrib import admin

from haoka.core.admin_display import YuanAdminMixin
from haoka.numbers import operations
from haoka.numbers.models import NumberEvent, NumberImport, PhoneNumber, TierPrice


class NumberEventInline(admin.TabularInline):
    model = NumberEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "reason", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PhoneNumber)
class PhoneNumberAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = (
        "msisdn",
        "carrier",
        "province",
        "city",
        "status",
        "tier",
        "score",
        "price_fen",
        "min_monthly_fen",
        "reserved_until",
    )
    list_filter = ("status", "tier", "carrier", "price_locked", "province")
    search_fields = ("msisdn", "order_ref")
    show_full_result_count = False  # COUNT(*) over a million rows on every page is wasted work
    readonly_fields = (
        "msisdn",
        "msisdn_rev",
        "carrier",
        "segment",
        "province",
        "city",
        "status",
        "tier",
        "tier_rank",
        "score",
        "pattern_mask",
        "has_four",
        "reserved_by",
        "reserved_until",
        "status_changed_at",
        "created_at",
    )
    inlines = [NumberEventInline]

    def save_model(self, request, obj, form, change):
        if change and {"price_fen", "min_monthly_fen", "contract_months"} & set(form.changed_data):
            obj.price_locked = True  # a hand-set price survives tier re-pricing
        super().save_model(request, obj, form, change)


@admin.register(TierPrice)
class TierPriceAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = (
        "carrier",
        "tier",
        "price_fen",
        "min_monthly_fen",
        "contract_months",
        "updated_at",
    )
    list_filter = ("carrier", "tier")
    readonly_fields = ("updated_at",)

    def save_model(self, request, obj, form, change):
        repriced = operations.set_tier_price(
            carrier=obj.carrier_id,
            tier=obj.tier,
            price_fen=obj.price_fen,
            min_monthly_fen=obj.min_monthly_fen,
            contract_months=obj.contract_months,
            actor=f"staff:{request.user.pk}",
        )
        self.message_user(request, f"已更新价格，并重新定价 {repriced} 个可选号码")


@admin.register(NumberImport)
class NumberImportAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "started_at",
        "finished_at",
        "rows",
        "imported",
        "already_present",
        "rejected",
    )
    search_fields = ("source", "sha256")
    readonly_fields = [f.name for f in NumberImport._meta.fields]
