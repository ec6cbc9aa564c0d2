"""HTTP endpoints of Nchf_ConvergedCharging v3 (3GPP TS 32.291):

    POST /nchf-convergedcharging/v3/chargingdata                 -> 201 + Location
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/update    -> 200
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/release   -> 204

Callers are network functions holding an API token with the ``charging`` scope. Errors are
ProblemDetails (``application/problem+json``) with the spec's causes.
"""

from __future__ import annotations

import json

import structlog
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from haoka.charging import nchf, online, tariffs
from haoka.core import clock
from haoka.core.errors import HaokaError

log = structlog.get_logger("haoka.charging")
BASE = "/nchf-convergedcharging/v3/chargingdata"
SCOPE = "charging"


def _json(status: int, body: dict | None, *, problem: bool = False, **headers) -> HttpResponse:
    if body is None:
        response = HttpResponse(status=status)
    else:
        response = HttpResponse(
            json.dumps(body, ensure_ascii=False),
            status=status,
            content_type="application/problem+json" if problem else "application/json",
        )
    for name, value in headers.items():
        response[name] = value
    return response


def _problem(status: int, cause: str, title: str, **extra) -> HttpResponse:
    return _json(
        status, nchf.problem(status=status, cause=cause, title=title, **extra), problem=True
    )


def _caller(request) -> int | HttpResponse:
    """The API token id of an authorised caller, or the error to answer."""
    token = getattr(request, "haoka_token", None)
    if token is None:
        return _problem(401, "UNAUTHORIZED", "需要接口令牌", detail="Authorization: Bearer <token>")
    if token.kind != "API" or SCOPE not in (token.scopes or []):
        return _problem(403, "FORBIDDEN", "该令牌无计费权限")
    return token.pk


def _handle(request, operation: str, ref: str | None) -> HttpResponse:
    if request.method != "POST":
        return _problem(405, "METHOD_NOT_ALLOWED", "只支持 POST")
    caller = _caller(request)
    if isinstance(caller, HttpResponse):
        return caller
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "INVALID_MSG_FORMAT", "请求体不是合法的 JSON")
    now = clock.now()
    try:
        parsed = nchf.parse(body)
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
        return _json(201, reply.body, Location=request.build_absolute_uri(f"{BASE}/{reply.ref}"))
    return _json(reply.status, reply.body)


@csrf_exempt
def create_view(request):
    return _handle(request, "create", None)


@csrf_exempt
def update_view(request, ref: str):
    return _handle(request, "update", ref)


@csrf_exempt
def release_view(request, ref: str):
    return _handle(request, "release", ref)
