"""Lines (subscriptions) and SIM cards."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.lines.domain import LABELS, LineState


class LineStatus(models.TextChoices):
    PENDING_ACTIVATION = LineState.PENDING_ACTIVATION, LABELS[LineState.PENDING_ACTIVATION]
    ACTIVE = LineState.ACTIVE, LABELS[LineState.ACTIVE]
    SUSPENDED = LineState.SUSPENDED, LABELS[LineState.SUSPENDED]
    CLOSED = LineState.CLOSED, LABELS[LineState.CLOSED]
    PORTED_OUT = LineState.PORTED_OUT, LABELS[LineState.PORTED_OUT]


class Line(models.Model):
    msisdn = models.CharField(max_length=11)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    carrier_code = models.CharField(max_length=16)
    plan_code = models.CharField(max_length=40)
    #: A plan change that takes effect at the start of the next cycle (applied by the cycle).
    pending_plan_code = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=LineStatus.choices)
    suspend_reason = models.CharField(max_length=16, blank=True)  # ARREARS | USER_REQUEST | POLICY
    iccid = models.CharField(max_length=20)
    imsi = models.CharField(max_length=15)
    order_ref = models.CharField(max_length=24, unique=True, null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in LineState]),
                name="line_status_valid",
            ),
            # A number belongs to at most one line that is not closed or ported out.
            models.UniqueConstraint(
                fields=["msisdn"],
                condition=~models.Q(status__in=["CLOSED", "PORTED_OUT"]),
                name="line_one_live_line_per_number",
            ),
            models.UniqueConstraint(
                fields=["iccid"],
                condition=~models.Q(status__in=["CLOSED", "PORTED_OUT"]),
                name="line_one_live_line_per_iccid",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"], name="line_user_status")]

    def __str__(self) -> str:
        return self.msisdn


class LineEvent(models.Model):
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=80)
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.from_status} → {self.to_status}"


class Notification(models.Model):
    """A message in the line's notification centre (usage alerts, low balance, packs about to
    expire, bills). ``key`` makes each alert once-only (e.g. ``data80:<bucket>``)."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24)  # DATA_80 DATA_100 LOW_BALANCE PACK_EXPIRING BILL ...
    key = models.CharField(max_length=80, unique=True)
    title = models.CharField(max_length=60)
    body = models.CharField(max_length=300)
    sms_sent = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "-created_at"], name="notice_line_recent")]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.title}"
