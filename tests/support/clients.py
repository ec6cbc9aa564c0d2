"""Test clients that go the way production goes.

``ProductionClient`` is Django's test ``Client`` (same calls: ``.get/.post(..., content_type=...,
headers=..., HTTP_AUTHORIZATION=...)``, ``.json()``, ``status_code``, cookies) whose requests to
the REST API and to the Nchf paths run through ``haoka.wsgi.application``, the WSGI callable
``haoka serve`` hands to the server: the API's own middleware chain (``core.handlers``), the
framework-free Nchf handler, the whole body handed over as one list. What comes back is
rebuilt from what the server would have sent (status line, headers, cookies, bytes).

Pages and the admin keep Django's test handler: it runs the same full chain as production's
``django_application`` but leaves CSRF unchecked unless asked (``enforce_csrf_checks=True``),
which the page tests rely on to post forms.

The test's database connection is shared in-process, so a call sees the test's uncommitted
rows. As Django's test handler does, the call keeps the request signals from closing that
connection (which would end the test's transaction on PostgreSQL).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http import HTTPStatus

from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse, HttpResponseBase
from django.test import Client
from django.test.client import ClientHandler, closing_iterator_wrapper

from haoka import wsgi
from haoka.charging import nchf_api

_calling = threading.local()


def _close_old_connections() -> None:
    # The Nchf handler closes stale connections itself, not through the request signals:
    # inside a ProductionClient call the connection is the test's, and must stay open.
    if not getattr(_calling, "active", False):
        close_old_connections()


nchf_api.close_old_connections = _close_old_connections


class ProductionHandler(ClientHandler):
    """Django's test handler for pages; ``haoka.wsgi.application`` for everything else."""

    def __call__(self, environ):
        if wsgi.serves_pages(environ.get("PATH_INFO", "")):
            return super().__call__(environ)
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers

        _calling.active = True
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            body = wsgi.application(environ, start_response)
            if isinstance(body, HttpResponseBase):  # a stream: the server would iterate it
                body.streaming_content = closing_iterator_wrapper(
                    body.streaming_content, body.close
                )
                body.wsgi_request = WSGIRequest(environ)
                return body
            try:
                content = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            _calling.active = False
        if environ["REQUEST_METHOD"] == "HEAD":
            content = b""  # as the server does
        response = _response(started["status"], started["headers"], content)
        # Django's client reads it (resolver match); the app's own request object stays inside.
        response.wsgi_request = WSGIRequest(environ)
        return response


def _response(status: str, headers: list[tuple[str, str]], content: bytes) -> HttpResponse:
    code, _, reason = status.partition(" ")
    response = HttpResponse(
        content, status=int(code), reason=reason or HTTPStatus(int(code)).phrase
    )
    del response.headers["Content-Type"]  # only what was sent
    for name, value in headers:
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        else:
            response.headers[name] = value
    return response


class ProductionClient(Client):
    """``django.test.Client`` whose API and Nchf requests run through ``haoka.wsgi``."""

    def __init__(self, enforce_csrf_checks: bool = False, **defaults):
        # An HTTP/1.1 client always names the host; Django's test client leaves it out.
        defaults.setdefault("HTTP_HOST", "testserver")
        super().__init__(enforce_csrf_checks, **defaults)
        self.handler = ProductionHandler(enforce_csrf_checks)


@dataclass
class Caller:
    """A caller of the REST API through a test client: ``user`` and its bearer ``token``
    (none: anonymous); ``get``/``post``/``put``/``patch``/``delete`` of paths under
    ``/api/v1``, JSON bodies."""

    client: object
    user: object
    token: str = ""

    def call(self, method: str, path: str, body: dict | None = None, **headers):
        if self.token:
            headers = {"Authorization": f"Bearer {self.token}", **headers}
        kwargs: dict = {"headers": headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path: str, **headers):
        return self.call("get", path, **headers)

    def post(self, path: str, body: dict | None = None, **headers):
        return self.call("post", path, body if body is not None else {}, **headers)

    def put(self, path: str, body: dict, **headers):
        return self.call("put", path, body, **headers)

    def patch(self, path: str, body: dict, **headers):
        return self.call("patch", path, body, **headers)

    def delete(self, path: str, **headers):
        return self.call("delete", path, **headers)
