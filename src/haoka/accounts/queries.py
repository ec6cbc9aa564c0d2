from __future__ import annotations

from haoka.accounts import store
from haoka.accounts.domain import Role
from haoka.accounts.models import AuthToken, SandboxSms, User


def sandbox_outbox(*, phone: str, limit: int = 20) -> list[SandboxSms]:
    return list(SandboxSms.objects.filter(phone=phone).order_by("-sent_at", "-id")[:limit])


def lock_user(*, user_id: int) -> None:
    """Lock one user's row for the rest of the transaction (serializes per-user use cases)."""
    store.lock_user(user_id)


def is_staff(user) -> bool:
    """Whether a signed-in user is staff (the STAFF role, or Django's staff flag)."""
    return user.role == Role.STAFF or user.is_staff


def is_session_token(token) -> bool:
    """Whether a bearer token is a consumer's login session (integration tokens own no lines)."""
    return token is not None and token.kind == AuthToken.Kind.SESSION


def user_by_phone(*, phone: str) -> User | None:
    return User.objects.filter(phone=phone).first()


def phone_of(*, user_id: int) -> str:
    """The user's phone ("" when none, or no such user)."""
    return User.objects.filter(pk=user_id).values_list("phone", flat=True).first() or ""


def token_names(*, token_ids: list[int]) -> dict[int, str]:
    """The names of API tokens (the network functions' credentials), by id."""
    return dict(AuthToken.objects.filter(id__in=token_ids).values_list("id", "name"))
