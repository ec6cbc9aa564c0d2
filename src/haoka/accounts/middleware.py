"""Resolve ``Authorization: Bearer`` on API requests before anything else needs the caller."""

from __future__ import annotations

from django.http import JsonResponse

from haoka.accounts import operations
from haoka.core import clock
from haoka.core.errors import Unauthenticated

#: Paths where a bearer token names the caller (the REST API and online charging).
API_PATHS = ("/api/", "/nchf-convergedcharging/")


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.haoka_user = None
        request.haoka_token = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and request.path.startswith(API_PATHS):
            try:
                request.haoka_user, request.haoka_token = operations.authenticate_token(
                    token=header[7:].strip(), now=clock.now()
                )
            except Unauthenticated as exc:
                # A caller that sends a token means to be someone: a bad one is an error even
                # on public endpoints, never a silent fall-back to anonymous.
                if request.path.startswith("/nchf-"):  # 3GPP callers get ProblemDetails
                    return JsonResponse(
                        {"type": "about:blank", "title": exc.message, "status": 401,
                         "cause": "UNAUTHORIZED"},
                        status=401,
                        content_type="application/problem+json",
                        json_dumps_params={"ensure_ascii": False},
                    )  # fmt: skip
                return JsonResponse(
                    exc.as_dict(), status=401, json_dumps_params={"ensure_ascii": False}
                )
        return self.get_response(request)
