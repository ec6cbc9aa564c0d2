"""Shipments of cards and their tracking events."""

from __future__ import annotations

from django.db import models

from haoka.core import clock
from haoka.logistics.domain import MACHINE, ShipmentStatus


class Shipment(models.Model):
    order_ref = models.CharField(max_length=24, unique=True)
    courier = models.CharField(max_length=40)
    tracking_no = models.CharField(max_length=40, unique=True)
    status = models.CharField(
        max_length=20, choices=MACHINE.choices(), default=ShipmentStatus.CREATED.value
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.courier} {self.tracking_no}"


class TrackingEvent(models.Model):
    """One courier scan. Each event arrives once (UNIQUE event id); a shipment's events are
    shown ordered by when they happened, whatever order they arrived in."""

    event_id = models.CharField(max_length=80, unique=True)
    tracking_no = models.CharField(max_length=40)
    status = models.CharField(max_length=20)
    description = models.CharField(max_length=200)
    location = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["tracking_no", "occurred_at"], name="tracking_by_parcel")]

    def __str__(self) -> str:
        return f"{self.tracking_no} {self.status}"
