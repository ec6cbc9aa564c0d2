"""Users, tokens, one-time passwords and the sandbox SMS outbox."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from haoka.accounts.domain import Role


class User(AbstractUser):
    """A person. Consumers sign in with phone + OTP; staff also have a password for admin."""

    phone = models.CharField(max_length=11, unique=True, null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CONSUMER)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="user_role_valid"
            )
        ]


class AuthToken(models.Model):
    """A bearer token, stored as its SHA-256 only. SESSION tokens come from OTP login;
    API tokens are made for integrations by ``haoka tokens create``."""

    class Kind(models.TextChoices):
        SESSION = "SESSION", "登录会话"
        API = "API", "接口令牌"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind} {self.name})"


class OtpChallenge(models.Model):
    """A 6-digit code sent to a phone; only its keyed hash is stored."""

    phone = models.CharField(max_length=11)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["phone", "created_at"])]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} @ {self.created_at:%Y-%m-%d %H:%M}"


class SandboxSms(models.Model):
    """Outbox of the sandbox SMS provider (readable through the API only in sandbox mode)."""

    phone = models.CharField(max_length=11)
    text = models.CharField(max_length=500)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["phone", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.phone} {self.text[:20]}"
