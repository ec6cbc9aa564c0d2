"""Tables of the kyc domain. Names and ID numbers are stored only as Fernet cipher text with a
keyed hash beside them; blacklists, attempts and claims hold keyed hashes only."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core.pii import EncryptedTextField
from haoka.kyc import domain
from haoka.kyc.domain import CLAIM_MACHINE, REVIEW_MACHINE, ClaimStatus, KycStatus


def _in(field: str, choices) -> models.Q:
    return models.Q(**{f"{field}__in": [c.value for c in choices]})


class KycRecord(models.Model):
    """The outcome of the real-name check of one order (re-checks replace it)."""

    Status = KycStatus

    order_ref = models.CharField(max_length=40, unique=True, verbose_name="订单号")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="用户"
    )
    carrier = models.CharField(max_length=16, verbose_name="运营商")
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    name = EncryptedTextField(verbose_name="姓名")
    id_number = EncryptedTextField(verbose_name="身份证号")
    id_hash = models.CharField(max_length=64, db_index=True, verbose_name="身份证摘要")
    name_hash = models.CharField(max_length=64, verbose_name="姓名摘要")
    status = models.CharField(max_length=10, choices=REVIEW_MACHINE.choices(), verbose_name="状态")
    reason_code = models.CharField(max_length=40, blank=True, verbose_name="原因")
    message = models.CharField(max_length=200, blank=True, verbose_name="结果说明")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审核人",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    review_note = models.CharField(max_length=300, blank=True, verbose_name="审核备注")
    created_at = models.DateTimeField(verbose_name="创建时间")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "实名记录"
        verbose_name_plural = "实名记录"
        indexes = [models.Index(fields=["status", "created_at", "id"])]
        constraints = [
            models.CheckConstraint(condition=_in("status", KycStatus), name="kyc_record_status"),
            models.CheckConstraint(
                condition=models.Q(reviewed_by__isnull=True, reviewed_at__isnull=True)
                | models.Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="kyc_record_review_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.status}"


class KycEvent(models.Model):
    """Every decision on a record: checks and staff reviews (who, when, why)."""

    record = models.ForeignKey(
        KycRecord, on_delete=models.CASCADE, related_name="events", verbose_name="实名记录"
    )
    from_status = models.CharField(max_length=10, blank=True, verbose_name="原状态")
    to_status = models.CharField(
        max_length=10, choices=REVIEW_MACHINE.choices(), verbose_name="新状态"
    )
    reason_code = models.CharField(max_length=40, blank=True, verbose_name="原因")
    actor = models.CharField(max_length=60, verbose_name="操作人")
    note = models.CharField(max_length=300, blank=True, verbose_name="备注")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "实名事件"
        verbose_name_plural = "实名事件"
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=_in("to_status", KycStatus), name="kyc_event_status")
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class KycAttempt(models.Model):
    """One row per check, counted by the velocity rule (hashes only)."""

    order_ref = models.CharField(max_length=40, verbose_name="订单号")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="用户"
    )
    id_hash = models.CharField(max_length=64, verbose_name="身份证摘要")
    phone_hash = models.CharField(max_length=64, verbose_name="手机号摘要")
    address_hash = models.CharField(max_length=64, verbose_name="地址摘要")
    status = models.CharField(max_length=10, choices=REVIEW_MACHINE.choices(), verbose_name="状态")
    reason_code = models.CharField(max_length=40, blank=True, verbose_name="原因")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "实名尝试"
        verbose_name_plural = "实名尝试"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["id_hash", "created_at"]),
            models.Index(fields=["phone_hash", "created_at"]),
            models.Index(fields=["address_hash", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=_in("status", KycStatus), name="kyc_attempt_status")
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.status}"


class DocumentKind(models.TextChoices):
    FRONT = "FRONT", "身份证人像面"
    BACK = "BACK", "身份证国徽面"
    SELFIE = "SELFIE", "手持身份证照"


class KycDocument(models.Model):
    """An ID photo; ``content`` is Fernet cipher text of the base64 of the image."""

    Kind = DocumentKind

    order_ref = models.CharField(max_length=40, verbose_name="订单号")
    kind = models.CharField(max_length=8, choices=DocumentKind.choices, verbose_name="证件照类型")
    content = models.TextField(verbose_name="文件内容")
    sha256 = models.CharField(max_length=64, verbose_name="SHA-256 摘要")
    size = models.PositiveIntegerField(verbose_name="大小（字节）")
    content_type = models.CharField(max_length=20, verbose_name="内容类型")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "证件照"
        verbose_name_plural = "证件照"
        ordering = ["order_ref", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order_ref", "kind"], name="kyc_document_one_per_kind"),
            models.CheckConstraint(condition=_in("kind", DocumentKind), name="kyc_document_kind"),
            models.CheckConstraint(
                condition=models.Q(content_type__in=["image/jpeg", "image/png"]),
                name="kyc_document_type",
            ),
            models.CheckConstraint(
                condition=models.Q(size__gte=1, size__lte=domain.MAX_PHOTO_BYTES),
                name="kyc_document_size",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.kind}"


class ClaimSource(models.TextChoices):
    ORDER = "ORDER", "订单实名"
    IMPORT = "IMPORT", "存量登记"


class IdentityClaim(models.Model):
    """One of the (at most five) lines an ID holds at a carrier: an in-flight order or a
    line. ``order_ref`` is the order (or, for imported lines, the staff's reference)."""

    Status = ClaimStatus
    Source = ClaimSource

    id_hash = models.CharField(max_length=64, verbose_name="身份证摘要")
    carrier = models.CharField(max_length=16, verbose_name="运营商")
    order_ref = models.CharField(max_length=40, unique=True, verbose_name="订单号")
    status = models.CharField(max_length=10, choices=CLAIM_MACHINE.choices(), verbose_name="状态")
    source = models.CharField(max_length=10, choices=ClaimSource.choices, verbose_name="来源")
    created_at = models.DateTimeField(verbose_name="创建时间")
    released_at = models.DateTimeField(null=True, blank=True, verbose_name="释放时间")
    release_reason = models.CharField(max_length=200, blank=True, verbose_name="释放原因")

    class Meta:
        verbose_name = "身份证占用"
        verbose_name_plural = "身份证占用"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["id_hash", "carrier", "status"])]
        constraints = [
            models.CheckConstraint(condition=_in("status", ClaimStatus), name="kyc_claim_status"),
            models.CheckConstraint(condition=_in("source", ClaimSource), name="kyc_claim_source"),
            models.CheckConstraint(
                condition=models.Q(status=ClaimStatus.ACTIVE, released_at__isnull=True)
                | models.Q(status=ClaimStatus.RELEASED, released_at__isnull=False),
                name="kyc_claim_released_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.order_ref} {self.status}"


class IdentityClaimCounter(models.Model):
    """Per (ID, carrier): the row locked to serialize claims, and the count of ACTIVE claims,
    so the database itself refuses a sixth (CHECK active <= 5)."""

    id_hash = models.CharField(max_length=64, verbose_name="身份证摘要")
    carrier = models.CharField(max_length=16, verbose_name="运营商")
    active = models.PositiveSmallIntegerField(default=0, verbose_name="有效数")

    class Meta:
        verbose_name = "身份证占用计数"
        verbose_name_plural = "身份证占用计数"
        constraints = [
            models.UniqueConstraint(fields=["id_hash", "carrier"], name="kyc_counter_unique"),
            models.CheckConstraint(
                condition=models.Q(active__gte=0, active__lte=domain.LINE_LIMIT),
                name="kyc_counter_line_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.id_hash[:8]}… {self.active}"


class BlacklistKind(models.TextChoices):
    ID = "ID", "身份证号"
    PHONE = "PHONE", "手机号"
    ADDRESS = "ADDRESS", "收货地址"


class Blacklist(models.Model):
    """A refused ID, phone or address, kept only as the keyed hash of its normalized form."""

    Kind = BlacklistKind

    kind = models.CharField(max_length=8, choices=BlacklistKind.choices, verbose_name="名单类型")
    value_hash = models.CharField(max_length=64, verbose_name="值摘要")
    reason = models.CharField(max_length=200, verbose_name="原因")
    created_at = models.DateTimeField(verbose_name="创建时间")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="创建人",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "黑名单"
        verbose_name_plural = "黑名单"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value_hash"], name="kyc_blacklist_unique"),
            models.CheckConstraint(condition=_in("kind", BlacklistKind), name="kyc_blacklist_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value_hash[:8]}…"
