"""Users, tokens, one-time passwords and the sandbox SMS outbox."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from haoka.accounts.domain import Role, StepUpAction


class User(AbstractUser):
    """A person. Consumers sign in with phone + OTP; staff also have a password for admin."""

    phone = models.CharField(
        max_length=11, unique=True, null=True, blank=True, verbose_name="手机号"
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.CONSUMER, verbose_name="角色"
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
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

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="tokens", verbose_name="用户"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name="令牌类型")
    name = models.CharField(max_length=100, blank=True, verbose_name="名称")
    token_hash = models.CharField(max_length=64, unique=True, verbose_name="令牌摘要")
    prefix = models.CharField(max_length=12, verbose_name="前缀")
    scopes = models.JSONField(default=list, verbose_name="权限范围")
    created_at = models.DateTimeField(verbose_name="创建时间")
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name="过期时间")
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name="撤销时间")
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name="最近使用时间")

    class Meta:
        verbose_name = "访问令牌"
        verbose_name_plural = "访问令牌"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind} {self.name})"


class OtpChallenge(models.Model):
    """A 6-digit code sent to a phone; only its keyed hash is stored."""

    phone = models.CharField(max_length=11, verbose_name="手机号")
    code_hash = models.CharField(max_length=64, verbose_name="验证码摘要")
    created_at = models.DateTimeField(verbose_name="创建时间")
    expires_at = models.DateTimeField(verbose_name="过期时间")
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="已试次数")
    consumed_at = models.DateTimeField(null=True, blank=True, verbose_name="使用时间")

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["phone", "created_at"])]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} @ {self.created_at:%Y-%m-%d %H:%M}"


class StepUpChallenge(models.Model):
    """A fresh SMS code for one risky action on one line (停机保号, 补换卡, 销户), and once
    verified the proof the action spends. Code and proof are stored as keyed hashes bound to
    user, action and line (``domain.step_up_hash``); a proof is spent once (``spent_at``)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="step_ups", verbose_name="用户"
    )
    action = models.CharField(max_length=16, choices=StepUpAction.choices, verbose_name="业务")
    target = models.CharField(max_length=20, verbose_name="号码")
    phone = models.CharField(max_length=11, verbose_name="接收手机号")
    code_hash = models.CharField(max_length=64, verbose_name="验证码摘要")
    created_at = models.DateTimeField(verbose_name="创建时间")
    expires_at = models.DateTimeField(verbose_name="过期时间")
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="已试次数")
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name="验证时间")
    proof_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, verbose_name="凭证摘要"
    )
    proof_expires_at = models.DateTimeField(null=True, blank=True, verbose_name="凭证过期时间")
    spent_at = models.DateTimeField(null=True, blank=True, verbose_name="凭证使用时间")

    class Meta:
        verbose_name = "二次验证"
        verbose_name_plural = "二次验证"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "action", "target", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=[a.value for a in StepUpAction]),
                name="step_up_action_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(proof_hash__isnull=True)
                | models.Q(verified_at__isnull=False, proof_expires_at__isnull=False),
                name="step_up_proof_after_verified",
            ),
            models.CheckConstraint(
                condition=models.Q(spent_at__isnull=True) | models.Q(proof_hash__isnull=False),
                name="step_up_spent_has_proof",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target[:3]}****{self.target[-4:]}"


class SandboxSms(models.Model):
    """Outbox of the sandbox SMS provider (readable through the API only in sandbox mode)."""

    phone = models.CharField(max_length=11, verbose_name="手机号")
    text = models.CharField(max_length=500, verbose_name="内容")
    sent_at = models.DateTimeField(verbose_name="发送时间")

    class Meta:
        verbose_name = "沙箱短信"
        verbose_name_plural = "沙箱短信"
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["phone", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.phone} {self.text[:20]}"
