"""Bodies larger than their path accepts are refused at the edge with a named 413, never a 500
(issue "Hardening", item 2): from the Content-Length when it says so, from what is read when it
understates the body or is absent; a Content-Length that is no number is a named 400. The KYC
paths take their photos (tests/orders, tests/web)."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from haoka.core import middleware

pytestmark = pytest.mark.django_db

THREE_MB = 3 * 1024 * 1024
CALLBACKS = [
    "/api/v1/callbacks/payments/sandbox",
    "/api/v1/callbacks/carriers/CMCC",
    "/api/v1/callbacks/couriers/simexpress",
]


def _big_json(size: int = THREE_MB) -> bytes:
    return json.dumps({"phone": "13800138000", "padding": "x" * size}).encode()


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:500]
    assert response.json()["error"]["code"] == code


def test_three_megabytes_to_the_otp_endpoint_are_refused_as_too_large(api_client):
    response = api_client.post("/api/v1/auth/otp", _big_json(), content_type="application/json")
    _error(response, 413, "request_too_large")
    assert response.json()["error"]["details"] == {"max_bytes": settings.REQUEST_MAX_BYTES}


@pytest.mark.parametrize("path", CALLBACKS)
def test_three_megabytes_to_a_callback_are_refused_as_too_large(api_client, path):
    response = api_client.post(
        path, _big_json(), content_type="application/json", headers={"X-Haoka-Signature": "x"}
    )
    _error(response, 413, "request_too_large")


def test_a_body_just_under_the_limit_still_reaches_its_endpoint(api_client):
    body = _big_json(settings.REQUEST_MAX_BYTES - 100)
    assert len(body) <= settings.REQUEST_MAX_BYTES
    response = api_client.post("/api/v1/auth/otp", body, content_type="application/json")
    assert response.status_code not in (413, 500), response.content[:500]


def test_a_page_post_over_the_limit_is_a_plain_413(client):
    form = "phone=1&code=" + "x" * THREE_MB
    response = client.post("/login/", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert "请求体过大" in response.content.decode()


@pytest.mark.parametrize("declared", ["abc", "-1", "1e3", " 12", "１２"])
def test_a_content_length_that_is_no_number_is_a_named_400(api_client, declared):
    response = api_client.post(
        "/api/v1/auth/otp", b'{"phone": "13800138000"}', content_type="application/json",
        CONTENT_LENGTH=declared,
    )  # fmt: skip
    _error(response, 400, "invalid_content_length")


def test_a_content_length_that_understates_the_body_reads_no_further_than_it_says(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", _big_json(), content_type="application/json", CONTENT_LENGTH="30"
    )
    _error(response, 400, "invalid_json")  # the first 30 bytes: not the whole JSON


def test_a_content_length_that_overstates_a_small_body_is_refused_by_what_it_says(api_client):
    response = api_client.post(
        "/api/v1/auth/otp", b"{}", content_type="application/json", CONTENT_LENGTH=str(THREE_MB)
    )
    _error(response, 413, "request_too_large")


# ---------------------------------------------------------------- ASGI: bodies without a length


def _asgi_post(path: str, body: bytes, *headers: tuple[bytes, bytes]) -> tuple[int, bytes]:
    """POST ``body`` through Django's ASGI handler in 64 KB chunks, as a chunked upload comes
    (no Content-Length unless given): ASGI buffers the whole body before any middleware."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
    }  # fmt: skip
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(60)  # the client stays connected; cancelled once answered
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(ASGIHandler())(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_asgi_body_without_a_length_is_cut_off_at_its_paths_limit():
    status, body = _asgi_post("/api/v1/auth/otp", _big_json())
    assert status == 413, body[:500]
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_an_asgi_body_larger_than_its_content_length_says_is_cut_off_too():
    status, body = _asgi_post("/api/v1/auth/otp", _big_json(), (b"content-length", b"30"))
    assert status == 413, body[:500]
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_only_the_kyc_paths_take_more_than_the_usual_limit():
    assert middleware.max_body_bytes("/api/v1/orders/HK1/kyc") > 3 * 7_000_000
    assert middleware.max_body_bytes("/orders/HK1/kyc/") >= 3 * 5 * 1024 * 1024
    for path in ("/api/v1/auth/otp", "/api/v1/orders/HK1/kyc/x", "/orders/HK1/", "/login/"):
        assert middleware.max_body_bytes(path) == settings.REQUEST_MAX_BYTES
