"""Pure rules of sign-in: OTP codes, their limits, token formats."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import models

OTP_LENGTH = 6
OTP_TTL = dt.timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
#: Sending limits: (how many, per window) per phone and per client IP.
OTP_SEND_PER_PHONE_MINUTE = (1, dt.timedelta(minutes=1))
OTP_SEND_PER_PHONE_HOUR = (5, dt.timedelta(hours=1))
OTP_SEND_PER_IP_HOUR = (20, dt.timedelta(hours=1))
#: Verification attempts across all of a phone's codes (stops rotating codes to brute force).
LOGIN_PER_PHONE_HOUR = (10, dt.timedelta(hours=1))
LOGIN_PER_IP_HOUR = (50, dt.timedelta(hours=1))
SESSION_TTL = dt.timedelta(days=30)
TOKEN_PREFIX = "hk_"


class Role(models.TextChoices):
    """Who a user is (``User.role``'s choices)."""

    CONSUMER = "CONSUMER", "消费者"
    AGENT = "AGENT", "代理"
    SPONSOR = "SPONSOR", "后向客户"
    STAFF = "STAFF", "运营人员"


SCOPES = frozenset(
    {
        "numbers:write",
        "catalog:write",
        "charging",
        "orders",
        "staff",
        "carrier-callbacks",
        "distribution",
    }
)


def new_otp_code() -> str:
    return f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"


def otp_hash(*, secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_matches(*, secret: str, phone: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(otp_hash(secret=secret, phone=phone, code=code), stored_hash)


def otp_usable(*, expires_at: dt.datetime, attempts: int, consumed: bool, now: dt.datetime) -> bool:
    return not consumed and now < expires_at and attempts < OTP_MAX_ATTEMPTS


def is_code_shaped(code: str) -> bool:
    return len(code) == OTP_LENGTH and code.isascii() and code.isdigit()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def otp_text(code: str) -> str:
    return f"【号卡】您的登录验证码是 {code}，5 分钟内有效。如非本人操作请忽略。"
