"""Shipments of cards and their tracking events."""

from __future__ import annotations

from django.db import models

from haoka.core import clock
from haoka.logistics.domain import MACHINE, ShipmentStatus


class Shipment(models.Model):
    order_ref = models.CharField(max_length=24, unique=True, verbose_name="订单号")
    courier = models.CharField(max_length=40, verbose_name="快递公司")
    tracking_no = models.CharField(max_length=40, unique=True, verbose_name="运单号")
    status = models.CharField(
        max_length=20,
        choices=MACHINE.choices(),
        default=ShipmentStatus.CREATED.value,
        verbose_name="状态",
    )
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name="签收时间")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        verbose_name = "物流单"
        verbose_name_plural = "物流单"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.courier} {self.tracking_no}"


class TrackingEvent(models.Model):
    """One courier scan. Each event arrives once (UNIQUE event id); a shipment's events are
    shown ordered by when they happened, whatever order they arrived in."""

    event_id = models.CharField(max_length=80, unique=True, verbose_name="事件 ID")
    tracking_no = models.CharField(max_length=40, verbose_name="运单号")
    status = models.CharField(max_length=20, verbose_name="状态")
    description = models.CharField(max_length=200, verbose_name="轨迹描述")
    location = models.CharField(max_length=100, blank=True, verbose_name="地点")
    occurred_at = models.DateTimeField(verbose_name="发生时间")
    received_at = models.DateTimeField(verbose_name="接收时间")

    class Meta:
        verbose_name = "物流轨迹"
        verbose_name_plural = "物流轨迹"
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["tracking_no", "occurred_at"], name="tracking_by_parcel")]

    def __str__(self) -> str:
        return f"{self.tracking_no} {self.status}"
