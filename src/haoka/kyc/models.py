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

    order_ref = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(max_length=16)
    plan_code = models.CharField(max_length=40)
    name = EncryptedTextField()
    id_number = EncryptedTextField()
    id_hash = models.CharField(max_length=64, db_index=True)
    name_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=REVIEW_MACHINE.choices())
    reason_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=200, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

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

    record = models.ForeignKey(KycRecord, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, choices=REVIEW_MACHINE.choices())
    reason_code = models.CharField(max_length=40, blank=True)
    actor = models.CharField(max_length=60)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=_in("to_status", KycStatus), name="kyc_event_status")
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class KycAttempt(models.Model):
    """One row per check, counted by the velocity rule (hashes only)."""

    order_ref = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    id_hash = models.CharField(max_length=64)
    phone_hash = models.CharField(max_length=64)
    address_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=REVIEW_MACHINE.choices())
    reason_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()

    class Meta:
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

    order_ref = models.CharField(max_length=40)
    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    content = models.TextField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=20)
    created_at = models.DateTimeField()

    class Meta:
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

    id_hash = models.CharField(max_length=64)
    carrier = models.CharField(max_length=16)
    order_ref = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=10, choices=CLAIM_MACHINE.choices())
    source = models.CharField(max_length=10, choices=ClaimSource.choices)
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=200, blank=True)

    class Meta:
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

    id_hash = models.CharField(max_length=64)
    carrier = models.CharField(max_length=16)
    active = models.PositiveSmallIntegerField(default=0)

    class Meta:
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

    kind = models.CharField(max_length=8, choices=BlacklistKind.choices)
    value_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
