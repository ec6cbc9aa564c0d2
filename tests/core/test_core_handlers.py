"""The WSGI entry point: the REST API on its own middleware chain, pages on the full one, and
whole bodies handed to the server in one piece."""

from __future__ import annotations

import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from haoka import wsgi
from haoka.accounts import operations
from haoka.accounts.models import User
from haoka.charging import nchf_api
from haoka.core import clock

pytestmark = pytest.mark.django_db


def _call(path: str, *, method: str = "GET", headers: dict | None = None, body: bytes = b""):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()},
    }
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status[:3])
        started["headers"] = dict(response_headers)

    # As Django's test client does: the test's own transaction must outlive the request, so
    # the request's signals may not close the connection (on PostgreSQL they would, since a
    # test's transaction is not in autocommit).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body_out = wsgi.application(environ, start_response)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], body_out


def _token(phone: str = "13800000001") -> str:
    user = User.objects.create(phone=phone, username=phone)
    return operations._issue_session(user=user, now=clock.now()).token


def test_an_api_request_names_its_caller_by_bearer_token_and_keeps_the_apis_headers():
    status, headers, body = _call("/api/v1/me", headers={"Authorization": f"Bearer {_token()}"})
    assert status == 200
    assert json.loads(b"".join(body))["phone_masked"].startswith("138")
    assert len(headers["X-Request-Id"]) >= 8
    assert headers["X-Content-Type-Options"] == "nosniff"
    # nothing of the pages' chain: no session or CSRF cookie, no language negotiation
    assert "Set-Cookie" not in headers
    assert "Content-Language" not in headers
    assert "Cookie" not in headers.get("Vary", "")


def test_an_api_request_with_a_bad_token_is_refused_with_401():
    status, _, body = _call("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert status == 401
    assert json.loads(b"".join(body))["error"]["code"] == "unauthenticated"


def test_an_api_post_with_an_idempotency_key_is_answered_once_and_replayed():
    headers = {"Idempotency-Key": "k-1"}
    body = json.dumps({"phone": "13800000002"}).encode()
    first = _call("/api/v1/auth/otp", method="POST", headers=headers, body=body)
    again = _call("/api/v1/auth/otp", method="POST", headers=headers, body=body)
    assert first[0] == again[0] == 200
    assert b"".join(again[2]) == b"".join(first[2])
    assert "Idempotent-Replayed" not in first[1]
    assert again[1]["Idempotent-Replayed"] == "true"


def test_a_page_goes_through_the_full_chain():
    status, headers, _ = _call("/healthz")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert "Content-Language" in headers


def test_a_whole_body_is_handed_over_as_one_piece_after_the_response_is_closed():
    finished = []

    def on_finished(**kwargs):
        finished.append(True)

    request_finished.connect(on_finished)
    try:
        _, _, body = _call("/api/v1/me", headers={"Authorization": f"Bearer {_token()}"})
    finally:
        request_finished.disconnect(on_finished)
    assert isinstance(body, list) and len(body) == 1 and isinstance(body[0], bytes)
    assert finished == [True]


def test_the_tests_client_sends_api_requests_through_the_production_wsgi_application(
    client, monkeypatch
):
    served = []
    production = wsgi.application

    def spy(environ, start_response):
        served.append(environ["PATH_INFO"])
        return production(environ, start_response)

    monkeypatch.setattr(wsgi, "application", spy)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {_token()}")
    assert response.status_code == 200 and response.json()["phone_masked"].startswith("138")
    assert served == ["/api/v1/me"]
    # the API's chain, as served: no session cookie, no language negotiation
    assert not response.cookies and "Content-Language" not in response.headers


def test_the_tests_client_sends_nchf_requests_to_the_framework_free_handler(client, monkeypatch):
    served = []
    production = nchf_api.wsgi_app

    def spy(environ, start_response):
        served.append(environ["PATH_INFO"])
        return production(environ, start_response)

    monkeypatch.setattr(nchf_api, "wsgi_app", spy)
    path = "/nchf-convergedcharging/v3/chargingdata"
    response = client.post(path, data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert served == [path]


def test_the_tests_client_sends_pages_through_djangos_full_chain(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY" and "Content-Language" in response
