"""Request ids on every request and response, bound into the structured log context."""

from __future__ import annotations

import re
import uuid

import structlog

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request.request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response["X-Request-Id"] = request.request_id
        return response
