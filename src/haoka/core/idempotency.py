"""``Idempotency-Key`` for API POSTs: the same key with the same body replays the first
response; the same key with another body is refused (422); keys are scoped to the caller and
kept 24 hours. Backed by a UNIQUE (scope, key) constraint, so concurrent repeats cannot both run.

An answer that holds a secret (a sign-in token, a 携号转网 authorization code) is never kept:
its endpoint is marked :func:`never_replayed`, a repeat is answered afresh (a used OTP code is
refused, a new porting code replaces the old one) and no row keeps the secret for 24 hours to
hand it to whoever repeats the key and body. ``tests/core/test_core_idempotency_secrets.py``
fails when a POST answers a field that looks like a secret from an unmarked endpoint.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from ninja.decorators import decorate_view

from haoka.core import clock
from haoka.core.clientip import client_ip
from haoka.core.errors import Conflict, ValidationError
from haoka.core.models import IdempotencyRecord

RETENTION = dt.timedelta(hours=24)
#: A request that crashed without an answer blocks its key no longer than this.
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=2)
HEADER = "Idempotency-Key"
#: Response headers that are part of the answer and must come back on a replay.
REPLAYED_HEADERS = ("Location", "Retry-After")


class IdempotencyKeyReused(ValidationError):
    code = "idempotency_key_reused"
    message = "该幂等键已用于另一个请求"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    message = "相同幂等键的请求正在处理中"


class InvalidIdempotencyKey(ValidationError):
    code = "invalid_idempotency_key"
    message = "幂等键格式不正确（1-200 个可见字符）"


def never_replayed(view):
    """Mark an API operation whose answer holds a secret: the idempotency layer keeps no copy
    of it and answers every repeat afresh. Put it under the router's decorator::

        @router.post("/auth/login", response=TokenOut)
        @idempotency.never_replayed
        def login(request, body: LoginIn): ...
    """
    view.never_replayed = True
    return decorate_view(_flag_never_replayed)(view)


def _flag_never_replayed(run):
    @functools.wraps(run)
    def flagged(request, *args, **kwargs):
        request.haoka_never_replayed = True
        return run(request, *args, **kwargs)

    return flagged


def caller_scope(request) -> str:
    user = getattr(request, "haoka_user", None)
    if (
        user is None
        and getattr(request, "user", None) is not None
        and request.user.is_authenticated
    ):
        user = request.user
    if user is not None:
        return f"user:{user.pk}"
    return f"anon:{client_ip(request)}"


def _error(exc) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status, json_dumps_params={"ensure_ascii": False})


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not (1 <= len(key) <= 200) or not key.isprintable():
            return _error(InvalidIdempotencyKey())
        scope = caller_scope(request)
        digest = hashlib.sha256(
            request.method.encode() + request.get_full_path().encode() + b"\n" + request.body
        ).hexdigest()
        now = clock.now()
        record, replay = self._claim(scope=scope, key=key, digest=digest, request=request, now=now)
        if replay is not None:
            return replay
        try:
            response = self.get_response(request)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if (
            response.status_code >= 500
            or getattr(response, "streaming", False)
            or getattr(request, "haoka_never_replayed", False)
        ):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code,
            response_body=bytes(response.content),
            content_type=response.get("Content-Type", ""),
            headers={h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)},
        )
        return response

    def _claim(self, *, scope, key, digest, request, now):
        IdempotencyRecord.objects.filter(
            scope=scope, key=key, created_at__lt=now - RETENTION
        ).delete()
        IdempotencyRecord.objects.filter(
            scope=scope, key=key, status_code__isnull=True, created_at__lt=now - IN_FLIGHT_TIMEOUT
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    request_hash=digest,
                    created_at=now,
                )
            return record, None
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:  # expired between our delete and insert: let the client retry
            return None, _error(IdempotencyInProgress())
        if existing.request_hash != digest:
            return None, _error(IdempotencyKeyReused())
        if existing.status_code is None:
            return None, _error(IdempotencyInProgress())
        response = HttpResponse(
            bytes(existing.response_body or b""),
            status=existing.status_code,
            content_type=existing.content_type or "application/json",
        )
        for name, value in (existing.headers or {}).items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return None, response


def purge(*, now: dt.datetime) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - RETENTION).delete()
    return deleted
