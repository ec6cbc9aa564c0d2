"""Shipments of cards and their tracking events."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.core.pii import EncryptedTextField
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


class SavedAddress(models.Model):
    """A consumer's address book (收货地址): chosen at checkout with one tap. The 省/市/区 are
    kept as their GB/T 2260 codes and names (``logistics.divisions``); the receiver, phone and
    street address are personal data, encrypted at rest. At most one default per user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="用户"
    )
    receiver = EncryptedTextField(verbose_name="收件人")
    phone = EncryptedTextField(verbose_name="手机号")
    province_code = models.CharField(max_length=2, verbose_name="省级代码")
    city_code = models.CharField(max_length=4, verbose_name="地级代码")
    district_code = models.CharField(max_length=6, verbose_name="县级代码")
    province = models.CharField(max_length=16, verbose_name="省份")
    city = models.CharField(max_length=24, verbose_name="城市")
    district = models.CharField(max_length=24, verbose_name="区县")
    detail = EncryptedTextField(verbose_name="详细地址")
    is_default = models.BooleanField(default=False, verbose_name="默认地址")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")
    updated_at = models.DateTimeField(default=clock.now, verbose_name="更新时间")

    class Meta:
        verbose_name = "收货地址"
        verbose_name_plural = "收货地址"
        ordering = ["-is_default", "-updated_at", "-id"]
        indexes = [models.Index(fields=["user", "-updated_at", "-id"], name="saved_address_user")]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default=True),
                name="saved_address_one_default",
            ),
            models.CheckConstraint(
                condition=models.Q(district_code__startswith=models.F("city_code"))
                & models.Q(city_code__startswith=models.F("province_code")),
                name="saved_address_codes_nested",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province} {self.city} {self.district}"
