from django.contrib import admin

from haoka.core.admin_display import YuanAdminMixin, label_display, label_filter
from haoka.notices.models import Notification
from haoka.notices.templates import LABELS


@admin.register(Notification)
class NotificationAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Read-only: messages are written by the events that send them."""

    list_display = ("created_at", "recipient", "kind_label", "title", "sms_sent", "read_at")
    list_filter = (label_filter("kind", LABELS, "消息类型"), "sms_sent")
    search_fields = ("key", "recipient__phone", "title")
    ordering = ("-created_at", "-id")
    kind_label = label_display("kind", LABELS, "消息类型")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
