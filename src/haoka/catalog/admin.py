from django.contrib import admin

from haoka.catalog.models import Benefit, Carrier, Pack, Plan, RatingGroup, Tag
from haoka.core.admin_display import YuanAdminMixin


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "mnc", "is_virtual", "sort")
    list_filter = ("is_virtual",)
    search_fields = ("code", "name", "short_name")


@admin.register(RatingGroup)
class RatingGroupAdmin(admin.ModelAdmin):
    list_display = ("number", "code", "name", "general")
    list_filter = ("general",)
    search_fields = ("code", "name")


@admin.register(Benefit)
class BenefitAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "value_fen")
    search_fields = ("code", "name")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Plan)
class PlanAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "carrier",
        "status",
        "monthly_fee_fen",
        "first_topup_fen",
        "contract_months",
        "sort",
    )
    list_filter = ("status", "carrier", "tags", "requires_photos")
    search_fields = ("code", "name", "slogan")
    filter_horizontal = ("targeted_groups", "zero_rated_groups", "tags", "benefits")
    readonly_fields = ("updated_at",)


@admin.register(Pack)
class PackAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "status", "price_fen", "validity_days", "sort")
    list_filter = ("kind", "status", "carriers")
    search_fields = ("code", "name")
    filter_horizontal = ("carriers", "rating_groups")
