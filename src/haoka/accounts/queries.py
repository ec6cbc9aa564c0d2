from __future__ import annotations

from haoka.accounts.models import SandboxSms, User


def sandbox_outbox(*, phone: str, limit: int = 20) -> list[SandboxSms]:
    return list(SandboxSms.objects.filter(phone=phone).order_by("-sent_at", "-id")[:limit])


def lock_user(*, user_id: int) -> None:
    """Lock one user's row for the rest of the transaction (serializes per-user use cases)."""
    from haoka.core import rows

    rows.values(User, "id", "t.id = %s", [user_id], lock=True)


def user_by_phone(*, phone: str) -> User | None:
    return User.objects.filter(phone=phone).first()
