from django.contrib import admin

from haoka.logistics.models import Shipment, TrackingEvent


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("order_ref", "courier", "tracking_no", "status", "delivered_at")
    search_fields = ("order_ref", "tracking_no")


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ("tracking_no", "status", "description", "occurred_at")
    search_fields = ("tracking_no",)
