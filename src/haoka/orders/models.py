"""Orders and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.core.pii import EncryptedTextField
from haoka.orders.domain import MACHINE, REFUND_MACHINE, RefundState, State


class Order(models.Model):
    ref = models.CharField(max_length=24, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=MACHINE.choices(), default=State.CREATED)
    # What was bought, as it was when ordered (plans and prices change later).
    plan_code = models.CharField(max_length=40)
    carrier_code = models.CharField(max_length=16)
    plan_snapshot = models.JSONField(default=dict)
    msisdn = models.CharField(max_length=11)
    number_price_fen = models.BigIntegerField(default=0)
    min_monthly_fen = models.BigIntegerField(default=0)
    contract_months = models.PositiveSmallIntegerField(default=0)
    first_topup_fen = models.BigIntegerField(default=0)
    amount_due_fen = models.BigIntegerField(default=0)
    agent_code = models.CharField(max_length=40, blank=True)
    #: The markup of the agent's shop (part of the amount due; the agent's on activation).
    markup_fen = models.BigIntegerField(default=0)
    # Delivery: the address (with the receiver's name and phone) is personal data.
    contact_phone = models.CharField(max_length=11)
    ship_province = models.CharField(max_length=16)
    ship_city = models.CharField(max_length=24)
    shipping_address = (
        EncryptedTextField()
    )  # JSON: province, city, district, detail, receiver, phone
    # Contract (签约): the exact text is kept (encrypted: it names the customer) with its hash.
    contract_text = EncryptedTextField(blank=True, default="")
    contract_sha256 = models.CharField(max_length=64, blank=True)
    contract_signed_at = models.DateTimeField(null=True, blank=True)
    # Carrier side.
    submit_attempts = models.PositiveIntegerField(default=0)
    next_submit_at = models.DateTimeField(null=True, blank=True)
    carrier_acked_at = models.DateTimeField(null=True, blank=True)
    carrier_order_id = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    iccid = models.CharField(max_length=20, blank=True)  # never shown in full before activation
    imsi = models.CharField(max_length=15, blank=True)
    courier = models.CharField(max_length=40, blank=True)
    tracking_no = models.CharField(max_length=40, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    refund_state = models.CharField(
        max_length=12,
        blank=True,
        choices=REFUND_MACHINE.choices(),
        default=RefundState.NOT_DUE.value,
    )
    # The payment attempt that paid for the order; any other paid attempt is refunded.
    payment_id = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=clock.now)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_recent"),
            models.Index(fields=["state", "state_changed_at"], name="order_state_age"),
            models.Index(fields=["state", "next_submit_at"], name="order_submit_due"),
            models.Index(fields=["msisdn"], name="order_msisdn"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in State]), name="order_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount_due_fen__gte=0,
                    number_price_fen__gte=0,
                    first_topup_fen__gte=0,
                    markup_fen__gte=0,
                ),
                name="order_amounts_nonneg",
            ),
            # One open order per number: a number can never be sold twice.
            models.UniqueConstraint(
                fields=["msisdn"],
                condition=~models.Q(state__in=["CANCELLED", "KYC_REJECTED", "CARRIER_REJECTED"]),
                name="order_one_live_order_per_number",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class OrderEvent(models.Model):
    """Every transition of an order, and notable facts (carrier data, retries): who, when, why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=80)
    reason = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state} → {self.to_state}"
