from __future__ import annotations

from haoka.accounts import store
from haoka.accounts.models import SandboxSms, User


def sandbox_outbox(*, phone: str, limit: int = 20) -> list[SandboxSms]:
    return list(SandboxSms.objects.filter(phone=phone).order_by("-sent_at", "-id")[:limit])


def lock_user(*, user_id: int) -> None:
    """Lock one user's row for the rest of the transaction (serializes per-user use cases)."""
    store.lock_user(user_id)


def phone_of(*, user_id: int) -> str:
    """The user's phone ("" when none, or no such user)."""
    return User.objects.filter(pk=user_id).values_list("phone", flat=True).first() or ""
