from __future__ import annotations

import datetime as dt

from ninja import Schema


class OtpIn(Schema):
    phone: str


class OtpOut(Schema):
    phone: str
    expires_at: dt.datetime


class LoginIn(Schema):
    phone: str
    code: str


class TokenOut(Schema):
    token: str
    user_id: int
    role: str
    expires_at: dt.datetime | None


class MeOut(Schema):
    id: int
    phone: str | None
    phone_masked: str
    role: str


class SmsOut(Schema):
    phone: str
    text: str
    sent_at: dt.datetime
