from django.contrib import admin

from haoka.lines.models import Line, LineEvent


class LineEventInline(admin.TabularInline):
    model = LineEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "reason", "at")


@admin.register(Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ("msisdn", "carrier_code", "plan_code", "status", "activated_at")
    list_filter = ("status", "carrier_code")
    search_fields = ("msisdn", "order_ref")
    readonly_fields = ("iccid", "imsi", "order_ref", "activated_at", "closed_at", "created_at")
    inlines = [LineEventInline]
