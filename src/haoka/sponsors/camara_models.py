"""Tables of the CAMARA Sponsored Data API: sponsorship sessions, campaign alert
subscriptions and the webhook outbox (imported by ``models.py``: one Django app)."""

from __future__ import annotations

from django.db import models

from haoka.core.pii import EncryptedTextField
from haoka.sponsors.camara_domain import (
    NOTIFICATION_MACHINE,
    SESSION_MACHINE,
    EndReason,
    NotificationState,
    SessionState,
)


class CamaraSession(models.Model):
    """A sponsored allowance for any traffic of one line, for a volume and until ``ends_at``,
    paid from a CAMARA_SESSION campaign: its budget slice (``slice``) is the line's SPONSOR
    bucket (no rating-group restriction). Ended by its volume, its time or the sponsor."""

    session_id = models.UUIDField(unique=True, verbose_name="会话编号")
    campaign = models.ForeignKey(
        "sponsors.Campaign",
        on_delete=models.PROTECT,
        related_name="camara_sessions",
        verbose_name="活动",
    )
    slice = models.OneToOneField(
        "sponsors.Slice", on_delete=models.PROTECT, related_name="+", verbose_name="预算切片"
    )
    line_id = models.BigIntegerField(verbose_name="线路")
    volume_bytes = models.BigIntegerField(verbose_name="赞助流量（字节）")
    started_at = models.DateTimeField(verbose_name="开始时间")
    ends_at = models.DateTimeField(verbose_name="到期时间")
    state = models.CharField(
        max_length=8,
        choices=SESSION_MACHINE.choices(),
        default=SessionState.ACTIVE,
        verbose_name="状态",
    )
    end_reason = models.CharField(max_length=24, blank=True, verbose_name="结束原因")
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name="结束时间")
    #: Known once the slice is settled (until then charging's bucket says).
    used_bytes = models.BigIntegerField(null=True, blank=True, verbose_name="已用字节")
    webhook_url = models.CharField(max_length=500, verbose_name="通知地址")
    callback_token = EncryptedTextField(verbose_name="通知令牌")
    #: The starting request's x-correlator: a retransmission returns the same session.
    correlator = models.CharField(max_length=36, verbose_name="请求关联号")

    class Meta:
        verbose_name = "CAMARA 赞助会话"
        verbose_name_plural = "CAMARA 赞助会话"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["campaign", "state", "id"], name="camara_session_live")]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "correlator"], name="camara_session_once"),
            models.UniqueConstraint(
                fields=["campaign", "line_id"],
                condition=models.Q(state=SessionState.ACTIVE),
                name="camara_one_active_session",
            ),
            models.CheckConstraint(
                condition=models.Q(volume_bytes__gt=0), name="camara_session_volume_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in SessionState]),
                name="camara_session_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(end_reason__in=["", *[r.value for r in EndReason]]),
                name="camara_session_reason_valid",
            ),
        ]

    def __str__(self) -> str:
        return str(self.session_id)


class CamaraAlertSubscription(models.Model):
    """Where a campaign's alerts go (configureAlerts; the latest call replaces the former)."""

    campaign = models.OneToOneField(
        "sponsors.Campaign",
        on_delete=models.CASCADE,
        related_name="camara_alerts",
        verbose_name="活动",
    )
    webhook_url = models.CharField(max_length=500, verbose_name="通知地址")
    callback_token = EncryptedTextField(blank=True, verbose_name="通知令牌")
    flags = models.JSONField(verbose_name="订阅内容")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "CAMARA 活动提醒订阅"
        verbose_name_plural = "CAMARA 活动提醒订阅"

    def __str__(self) -> str:
        return f"{self.campaign_id} alerts"


class CamaraNotification(models.Model):
    """A webhook call owed to a sponsor (outbox): written in the transaction of what caused
    it, once per ``key`` (UNIQUE), delivered by the worker's pump, retried with backoff.
    ``correlator`` (sent as x-correlator) stays the same across retries: the sponsor's
    idempotency id."""

    key = models.CharField(max_length=80, unique=True, verbose_name="幂等键")
    campaign = models.ForeignKey(
        "sponsors.Campaign", on_delete=models.CASCADE, related_name="+", verbose_name="活动"
    )
    campaign_event = models.OneToOneField(
        "sponsors.CampaignEvent",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="camara",
        verbose_name="活动事件",
    )
    url = models.CharField(max_length=500, verbose_name="通知地址")
    callback_token = EncryptedTextField(blank=True, verbose_name="通知令牌")
    correlator = models.UUIDField(verbose_name="关联号")
    body = models.JSONField(verbose_name="通知内容")
    state = models.CharField(
        max_length=8,
        choices=NOTIFICATION_MACHINE.choices(),
        default=NotificationState.PENDING,
        verbose_name="状态",
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name="已尝试次数")
    next_at = models.DateTimeField(verbose_name="下次发送时间")
    last_error = models.CharField(max_length=200, blank=True, verbose_name="最近错误")
    created_at = models.DateTimeField(verbose_name="创建时间")
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name="送达时间")

    class Meta:
        verbose_name = "CAMARA 通知"
        verbose_name_plural = "CAMARA 通知"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_at"], name="camara_notify_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in NotificationState]),
                name="camara_notify_state_valid",
            )
        ]

    def __str__(self) -> str:
        return self.key
