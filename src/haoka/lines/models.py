"""Lines (subscriptions) and SIM cards."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.lines.domain import (
    CLOSURE_MACHINE,
    CLOSURE_REFUND_MACHINE,
    LINE_MACHINE,
    SIM_MACHINE,
    ClosureRefundState,
    ClosureState,
    LineState,
    SimStatus,
)


class Line(models.Model):
    msisdn = models.CharField(max_length=11)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    carrier_code = models.CharField(max_length=16)
    plan_code = models.CharField(max_length=40)
    #: A plan change that takes effect at the start of the next cycle (applied by the cycle).
    pending_plan_code = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=LINE_MACHINE.choices())
    suspend_reason = models.CharField(max_length=16, blank=True)  # ARREARS | USER_REQUEST | POLICY
    iccid = models.CharField(max_length=20)
    imsi = models.CharField(max_length=15)
    order_ref = models.CharField(max_length=24, unique=True, null=True, blank=True)
    #: The order's contract months (合约期), copied when the line is opened from it (0: none).
    contract_months = models.PositiveSmallIntegerField(default=0)
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


# ---------------------------------------------------------------- self-service


class SimCard(models.Model):
    """Every card a line has had, ``[valid_from, valid_to)``. A replacement retires the old
    card (its ICCID is dead for good) and the line goes on with its number, money and
    allowances on the new one."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="sim_cards")
    iccid = models.CharField(max_length=20, unique=True)
    imsi = models.CharField(max_length=15)
    status = models.CharField(max_length=8, choices=SIM_MACHINE.choices())
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=80)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SimStatus]),
                name="sim_status_valid",
            ),
            models.UniqueConstraint(
                fields=["line"], condition=models.Q(status="ACTIVE"), name="sim_one_active_per_line"
            ),
            models.CheckConstraint(
                condition=models.Q(status="ACTIVE", valid_to__isnull=True)
                | models.Q(status="RETIRED", valid_to__isnull=False),
                name="sim_retired_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: …{self.iccid[-6:]} {self.status}"


class PortingCode(models.Model):
    """A 携号转网 authorization code: stored hashed (shown once), valid 30 days; a new request
    revokes the previous one."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="porting_codes")
    code_hash = models.CharField(max_length=64, db_index=True)  # keyed hash of number + code
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"],
                condition=models.Q(revoked_at__isnull=True),
                name="porting_one_live_code_per_line",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="porting_code_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: porting code until {self.expires_at:%Y-%m-%d}"


class LineClosure(models.Model):
    """An online closure (销户): what the wallet held (owed back to the customer, on
    ``liability:refunds_due``), what went back through the payment gateway and what is left
    for staff to pay back by hand."""

    line = models.OneToOneField(Line, on_delete=models.PROTECT, related_name="closure")
    refund_due_fen = models.BigIntegerField()
    refunded_fen = models.BigIntegerField(default=0)  # handed to the gateway
    manual_fen = models.BigIntegerField(default=0)  # nothing left to refund it through
    state = models.CharField(max_length=10, choices=CLOSURE_MACHINE.choices())
    actor = models.CharField(max_length=80)
    closed_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-closed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in ClosureState]),
                name="closure_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(refund_due_fen__gte=0, refunded_fen__gte=0, manual_fen__gte=0)
                & models.Q(refund_due_fen__gte=models.F("refunded_fen") + models.F("manual_fen")),
                name="closure_refunds_within_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: closed {self.state}"


class ClosureRefund(models.Model):
    """One refund of a closure through the gateway: a paid payment of the line (a top-up, or
    the order), newest first, up to what the wallet held."""

    closure = models.ForeignKey(LineClosure, on_delete=models.CASCADE, related_name="refunds")
    purpose = models.CharField(max_length=8)  # ORDER | TOPUP
    reference = models.CharField(max_length=64)
    payment_id = models.BigIntegerField()
    amount_fen = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=CLOSURE_REFUND_MACHINE.choices())
    refund_id = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["closure", "payment_id"], name="closure_refund_once"),
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="closure_refund_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in ClosureRefundState]),
                name="closure_refund_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.closure_id}/{self.payment_id}: {self.amount_fen}"
