"""Callbacks received from carriers: each event once (UNIQUE event id), kept for audit."""

from __future__ import annotations

from django.db import models


class CarrierCallback(models.Model):
    carrier = models.CharField(max_length=16)
    event_id = models.CharField(max_length=80)
    type = models.CharField(max_length=40)
    order_ref = models.CharField(max_length=24, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "event_id"], name="carrier_callback_once")
        ]
        indexes = [models.Index(fields=["order_ref", "received_at"], name="carrier_cb_order")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.type} {self.event_id}"
