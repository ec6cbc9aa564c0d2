from django.contrib import admin

from haoka.logistics.models import Shipment, TrackingEvent


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("order_ref", "courier", "tracking_no", "status", "delivered_at", "created_at")
    list_filter = ("status", "courier")
    search_fields = ("order_ref", "tracking_no")


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ("tracking_no", "status", "description", "location", "occurred_at")
    list_filter = ("status",)
    search_fields = ("tracking_no",)
