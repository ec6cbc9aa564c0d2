"""Callbacks received from carriers: each event once (UNIQUE event id), kept for audit."""

from __future__ import annotations

from django.db import models


class CarrierCallback(models.Model):
    carrier = models.CharField(max_length=16, verbose_name="运营商")
    event_id = models.CharField(max_length=80, verbose_name="事件 ID")
    type = models.CharField(max_length=40, verbose_name="回调类型")
    order_ref = models.CharField(max_length=24, blank=True, verbose_name="订单号")
    payload = models.JSONField(default=dict, verbose_name="报文")
    received_at = models.DateTimeField(verbose_name="接收时间")

    class Meta:
        verbose_name = "运营商回调"
        verbose_name_plural = "运营商回调"
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "event_id"], name="carrier_callback_once")
        ]
        indexes = [models.Index(fields=["order_ref", "received_at"], name="carrier_cb_order")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.type} {self.event_id}"
