from django.contrib import admin

from haoka.catalog.models import Benefit, Carrier, Pack, Plan, RatingGroup, Tag


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "is_virtual", "sort")


@admin.register(RatingGroup)
class RatingGroupAdmin(admin.ModelAdmin):
    list_display = ("number", "code", "name")


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "value_fen")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "carrier",
        "status",
        "monthly_fee_fen",
        "contract_months",
        "sort",
    )
    list_filter = ("status", "carrier", "tags")
    search_fields = ("code", "name")
    filter_horizontal = ("targeted_groups", "zero_rated_groups", "tags", "benefits")
    readonly_fields = ("updated_at",)


@admin.register(Pack)
class PackAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "status", "price_fen", "validity_days")
    list_filter = ("kind", "status")
    filter_horizontal = ("carriers", "rating_groups")
