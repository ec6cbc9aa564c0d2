"""django-ninja auth for bearer tokens resolved by the middleware, with role and scope checks."""

from __future__ import annotations

from haoka.accounts.domain import Role
from haoka.core.errors import PermissionDenied


class BearerUser:
    """Any signed-in caller (consumer session or integration token)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request):
        return getattr(request, "haoka_user", None)


class StaffOrScope(BearerUser):
    """Staff users, or integration tokens carrying ``scope``."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, request):
        user = super().__call__(request)
        if user is None:
            return None
        token = request.haoka_token
        if (
            user.role == Role.STAFF
            or user.is_staff
            or (token is not None and self.scope in token.scopes)
        ):
            return user
        raise PermissionDenied(required_scope=self.scope)


bearer = BearerUser()
