"""HTTP endpoints of Nchf_ConvergedCharging v3 (3GPP TS 32.291):

    POST /nchf-convergedcharging/v3/chargingdata                 -> 201 + Location
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/update    -> 200
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/release   -> 204

Callers are network functions holding an API token with the ``charging`` scope. Errors are
ProblemDetails (``application/problem+json``) with the spec's causes.

Online charging is the hottest path of the platform, so :func:`handle` is framework-free: the
WSGI entry point (``haoka.wsgi``) sends these paths straight to :func:`wsgi_app`, skipping
Django's middleware (sessions, CSRF, messages: nothing a network function uses); the Django
views below call the same :func:`handle` (tests, ``runserver``).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from haoka.accounts import domain as account_domain
from haoka.accounts import operations as account_operations
from haoka.accounts import tokencache
from haoka.charging import nchf, online, tariffs
from haoka.core import clock, jsonio
from haoka.core.errors import HaokaError, Unauthenticated

log = structlog.get_logger(__name__)
BASE = "/nchf-convergedcharging/v3/chargingdata"
SCOPE = "charging"
_PATH = re.compile(
    r"^/nchf-convergedcharging/v3/chargingdata(?:/([A-Za-z0-9]{1,40})/(update|release))?/?$"
)
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def content_type(self) -> str:
        return "application/problem+json" if self.status >= 400 else "application/json"


def _problem(status: int, cause: str, title: str, **extra) -> Answer:
    return Answer(status, nchf.problem(status=status, cause=cause, title=title, **extra))


# ---------------------------------------------------------------- callers

#: What a caller's token allows, by token hash: (the token cache's row it was read from,
#: token id, kind, scopes, expiry). Valid while the token cache still holds that very row:
#: a change to the token or its user makes the cache drop it (haoka.accounts.tokencache),
#: so a revoked token stops at once, not after a time-to-live.
_tokens: dict[str, tuple[tuple, int, str, tuple[str, ...], float | None]] = {}
_tokens_lock = threading.Lock()


def _caller(authorization: str) -> int | Answer:
    """The API token id of an authorised caller, or the ProblemDetails to answer."""
    if not authorization.startswith("Bearer "):
        return _problem(401, "UNAUTHORIZED", "需要接口令牌", detail="Authorization: Bearer <token>")
    token = authorization[7:].strip()
    digest = account_domain.token_hash(token)
    cache = tokencache.cache if tokencache.cache.enabled() else None
    hit = _tokens.get(digest)
    if hit is None or cache is None or cache.lookup(digest) is not hit[0]:
        try:
            _, record = account_operations.authenticate_token(token=token, now=clock.now())
        except Unauthenticated:
            return _problem(401, "UNAUTHORIZED", "接口令牌无效或已过期")
        expires = record.expires_at.timestamp() if record.expires_at else None
        hit = (None, record.pk, record.kind, tuple(record.scopes or ()), expires)
        row = cache.lookup(digest) if cache is not None else None
        if row is not None:  # kept: reuse what it allows until the cache drops it
            hit = (row, *hit[1:])
            with _tokens_lock:
                _tokens[digest] = hit
    _, token_id, kind, scopes, expires = hit
    if expires is not None and expires <= clock.now().timestamp():
        return _problem(401, "UNAUTHORIZED", "接口令牌无效或已过期")
    if kind != "API" or SCOPE not in scopes:
        return _problem(403, "FORBIDDEN", "该令牌无计费权限")
    return token_id


def forget_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()


# ---------------------------------------------------------------- the handler


def handle(*, method: str, path: str, authorization: str, body: bytes, base_url: str) -> Answer:
    """Answer one Nchf request (see the module docstring)."""
    match = _PATH.match(path)
    if match is None:
        return _problem(404, "RESOURCE_NOT_FOUND", "接口不存在")
    if method != "POST":
        return _problem(405, "METHOD_NOT_ALLOWED", "只支持 POST")
    caller = _caller(authorization)
    if isinstance(caller, Answer):
        return caller
    if len(body) > MAX_BODY:
        return _problem(413, "INVALID_MSG_FORMAT", "请求体过大")
    try:
        decoded = jsonio.loads(body or b"null")
    except HaokaError as refused:  # not JSON, nested too deep, forbidden characters
        return _problem(400, "INVALID_MSG_FORMAT", refused.message)
    ref, operation = match.group(1), match.group(2) or "create"
    if ref is None and match.group(2):
        return _problem(404, "RESOURCE_NOT_FOUND", "接口不存在")
    now = clock.now()
    try:
        parsed = nchf.parse(decoded, operation=operation)
        if operation == "create":
            reply = online.create(token_id=caller, request=parsed, now=now)
        else:
            action = online.update if operation == "update" else online.release
            reply = action(ref=ref, token_id=caller, request=parsed, now=now)
    except tariffs.UnknownSubscriber:
        return _problem(404, "USER_UNKNOWN", "用户不存在")
    except HaokaError as exc:
        return _problem(exc.status, exc.code, exc.message, invalid=exc.details.get("invalidParams"))
    if reply.status == 201:
        location = f"{base_url.rstrip('/')}{BASE}/{reply.ref}"
        return Answer(201, reply.body, (("Location", location),))
    return Answer(reply.status, reply.body)


def _encode(answer: Answer) -> bytes:
    return b"" if answer.body is None else json.dumps(answer.body, ensure_ascii=False).encode()


# ---------------------------------------------------------------- WSGI fast path

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
            500: "Internal Server Error"}  # fmt: skip


def wsgi_app(environ, start_response):
    """The Nchf paths as a bare WSGI application (database connections handled as Django
    handles them per request)."""
    close_old_connections()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_BODY + 1)) if length else b""
        try:
            answer = handle(
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", ""),
                authorization=environ.get("HTTP_AUTHORIZATION", ""),
                body=body,
                base_url=settings.PUBLIC_BASE_URL,
            )
        except Exception:
            log.exception("nchf_request_failed", path=environ.get("PATH_INFO", "")[:200])
            answer = _problem(500, "SYSTEM_FAILURE", "计费系统内部错误")
        payload = _encode(answer)
        headers = [("Content-Length", str(len(payload))), *answer.headers]
        if answer.body is not None:
            headers.append(("Content-Type", answer.content_type))
        start_response(f"{answer.status} {_REASONS.get(answer.status, '')}", headers)
        return [payload]
    finally:
        close_old_connections()


# ---------------------------------------------------------------- Django views (same handler)


def _view(request) -> HttpResponse:
    answer = handle(
        method=request.method,
        path=request.path,
        authorization=request.headers.get("Authorization", ""),
        body=request.body,
        base_url=settings.PUBLIC_BASE_URL,
    )
    if answer.body is None:
        response = HttpResponse(status=answer.status)
    else:
        response = HttpResponse(
            _encode(answer), status=answer.status, content_type=answer.content_type
        )
    for name, value in answer.headers:
        response[name] = value
    return response


@csrf_exempt
def create_view(request):
    return _view(request)


@csrf_exempt
def update_view(request, ref: str):
    return _view(request)


@csrf_exempt
def release_view(request, ref: str):
    return _view(request)
