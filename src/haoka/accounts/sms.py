"""SMS provider interface. The sandbox provider writes to an outbox table; a real provider
is an adapter selected by ``HAOKA_SMS_PROVIDER``."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from haoka.accounts.models import SandboxSms
from haoka.core import clock


class SmsProvider(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class SandboxSmsProvider:
    def send(self, *, phone: str, text: str) -> None:
        SandboxSms.objects.create(phone=phone, text=text, sent_at=clock.now())


def provider() -> SmsProvider:
    return import_string(settings.SMS_PROVIDER)()
