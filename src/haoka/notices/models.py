"""A person's messages (消息中心)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.notices.templates import LABELS


class Notification(models.Model):
    """One message to one person, written from a template (``notices.templates``) when an
    event concerns them. ``key`` names the event (``order:<ref>:shipped``): UNIQUE, so an
    event told twice makes one message (and one SMS)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name="收件人",
    )
    kind = models.CharField(max_length=24, choices=list(LABELS.items()), verbose_name="消息类型")
    key = models.CharField(max_length=120, unique=True, verbose_name="事件键")
    title = models.CharField(max_length=60, verbose_name="标题")
    body = models.CharField(max_length=300, verbose_name="正文")
    link = models.CharField(max_length=200, blank=True, verbose_name="链接")
    sms_sent = models.BooleanField(default=False, verbose_name="已发短信")
    created_at = models.DateTimeField(verbose_name="创建时间")
    read_at = models.DateTimeField(null=True, blank=True, verbose_name="阅读时间")

    class Meta:
        verbose_name = "消息"
        verbose_name_plural = "消息"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notice_recipient_recent"
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notice_recipient_unread",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=list(LABELS)), name="notice_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.title}"
