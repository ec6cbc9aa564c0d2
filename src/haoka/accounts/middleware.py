"""Resolve ``Authorization: Bearer`` on API requests before anything else needs the caller."""

from __future__ import annotations

from haoka.accounts import operations
from haoka.core import clock
from haoka.core.errors import Unauthenticated


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.haoka_user = None
        request.haoka_token = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and request.path.startswith("/api/"):
            try:
                request.haoka_user, request.haoka_token = operations.authenticate_token(
                    token=header[7:].strip(), now=clock.now()
                )
            except Unauthenticated:
                request.haoka_auth_failed = True
        return self.get_response(request)
