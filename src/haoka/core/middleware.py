"""Request ids on every request and response, bound into the structured log context; requests
refused at the edge when their Host is not ours, their path or query carries characters no
field may hold, or their body is larger than their path accepts."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import structlog
from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpResponse, JsonResponse

from haoka.core import jsonio
from haoka.core.errors import HaokaError, ValidationError

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Tab, line feed and carriage return: welcome in text, never in a path (nor in the outbound
#: URLs that path values end up in).
_PATH_ONLY_FORBIDDEN = re.compile("[\t\n\r]")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


class UnknownHost(ValidationError):
    status = 400
    code = "invalid_host"
    message = "请求的 Host 不是本站"


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
    """Refuses, before any view runs: a Host outside ``ALLOWED_HOSTS`` (Django would raise
    DisallowedHost wherever the host is first read); a path or query string that carries
    characters no field may hold (control characters such as NUL, which PostgreSQL refuses in
    text; lone surrogates; in a path, tabs and line breaks too); a body larger than its path
    accepts (``settings.REQUEST_MAX_BYTES``/``REQUEST_MAX_BYTES_BY_PATH``), from its
    Content-Length and, when that understates it, from what is read. 4xx with the API's error
    shape under ``/api/``, plain text elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.get_host()
        except DisallowedHost:
            return _refuse(request, UnknownHost())
        query = request.META.get("QUERY_STRING", "")
        if (
            jsonio.FORBIDDEN_TEXT.search(request.path)
            or _PATH_ONLY_FORBIDDEN.search(request.path)
            or (query and jsonio.FORBIDDEN_TEXT.search(unquote(query, errors="surrogateescape")))
        ):
            return _refuse(request, jsonio.InvalidText())
        limit = max_body_bytes(request.path)
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared and not _CONTENT_LENGTH.fullmatch(declared):
            return _refuse(request, jsonio.InvalidContentLength())
        if declared and int(declared) > limit:
            return _refuse(request, jsonio.RequestTooLarge(max_bytes=limit))
        # Django reads the body through request._stream; WSGI bounds it by the Content-Length,
        # ASGI buffers whatever was sent. Stop reading past this path's limit either way.
        request._stream = _CappedStream(request._stream, limit)
        return self.get_response(request)


def max_body_bytes(path: str) -> int:
    """The largest body a request to ``path`` may carry."""
    for pattern, limit in settings.REQUEST_MAX_BYTES_BY_PATH:
        if re.match(pattern, path):
            return limit
    return settings.REQUEST_MAX_BYTES


class _CappedStream:
    """A request's body stream that raises RequestDataTooBig (Django's own: a 400 on pages,
    413 in the API, see ``haoka.api``) once more than ``limit`` bytes are read."""

    def __init__(self, stream, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def _take(self, chunk: bytes) -> bytes:
        self._left -= len(chunk)
        if self._left < 0:
            raise RequestDataTooBig("Request body exceeded its path's limit.")
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        return self._take(self._stream.read(wanted))

    def readline(self, size: int | None = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        return self._take(self._stream.readline(wanted))

    def close(self) -> None:
        self._stream.close()


def _refuse(request, error: HaokaError) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=error.status)
    return HttpResponse(
        error.message, status=error.status, content_type="text/plain; charset=utf-8"
    )
