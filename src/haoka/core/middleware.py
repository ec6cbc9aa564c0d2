"""Request ids on every request and response, bound into the structured log context; paths and
query strings refused when they carry characters no field may hold."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import structlog
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

from haoka.core import jsonio
from haoka.core.errors import HaokaError

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


class InputGuardMiddleware:
    """Refuses a path or query string that carries characters no field may hold (control
    characters such as NUL, which PostgreSQL refuses in text; lone surrogates): 400 with the
    API's error shape under ``/api/``, a plain 400 elsewhere, before any view reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if jsonio.FORBIDDEN_TEXT.search(request.path) or (
            query and jsonio.FORBIDDEN_TEXT.search(unquote(query, errors="surrogateescape"))
        ):
            return _refuse(request, jsonio.InvalidText())
        return self.get_response(request)


def _refuse(request, error: HaokaError) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=error.status)
    return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")
