from __future__ import annotations

from haoka.accounts.models import SandboxSms


def sandbox_outbox(*, phone: str, limit: int = 20) -> list[SandboxSms]:
    return list(SandboxSms.objects.filter(phone=phone).order_by("-sent_at", "-id")[:limit])
