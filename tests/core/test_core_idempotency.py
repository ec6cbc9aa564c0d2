"""Idempotency-Key over HTTP: replays, refusals, caller scoping, expiry, 5xx not kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from haoka.accounts import operations
from haoka.accounts.models import AuthToken, OtpChallenge, SandboxSms, User
from haoka.core import clock, idempotency
from haoka.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 2, 0, 0, tzinfo=dt.UTC)
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(T0, all_threads=True):
        yield


def _post(
    client,
    path: str,
    body: dict,
    *,
    key: str | None = None,
    token: str | None = None,
    ip: str = "127.0.0.1",
):
    headers = {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(
        f"/api/v1{path}",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=ip,
    )


def _code(phone: str) -> str:
    return re.search(r"(\d{6})", SandboxSms.objects.filter(phone=phone).first().text).group(1)


def _token_for(username: str) -> str:
    User.objects.create(username=username)
    return operations.create_api_token(
        name=username, scopes=["orders"], username=username, now=T0
    ).token


def test_the_same_key_and_body_replays_the_first_response_and_sends_one_sms(client):
    first = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    again = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again["Content-Type"] == first["Content-Type"]
    assert SandboxSms.objects.count() == 1
    assert OtpChallenge.objects.count() == 1


def test_without_a_key_a_repeat_runs_again(client):
    assert _post(client, "/auth/otp", {"phone": PHONE}).status_code == 200
    assert _post(client, "/auth/otp", {"phone": PHONE}).status_code == 429  # per-minute limit
    assert IdempotencyRecord.objects.count() == 0


def _kept_text() -> str:
    """Everything the idempotency table holds, as text."""
    return repr(
        [
            (*row[:-1], bytes(row[-1] or b"").decode("utf-8", "replace"))
            for row in IdempotencyRecord.objects.values_list(
                "scope", "key", "path", "request_hash", "headers", "response_body"
            )
        ]
    )


def test_a_login_with_a_key_keeps_no_token_and_a_repeat_does_not_get_it(client):
    _post(client, "/auth/otp", {"phone": PHONE}, key="otp-1")
    body = {"phone": PHONE, "code": _code(PHONE)}
    first = _post(client, "/auth/login", body, key="login-1")
    assert first.status_code == 200
    token = first.json()["token"]
    assert "/auth/otp" in _kept_text()  # other answers are still kept
    assert token not in _kept_text()
    assert token[10:] not in _kept_text()
    again = _post(client, "/auth/login", body, key="login-1")
    assert again.status_code == 401  # answered afresh: the code was used
    assert again.json()["error"]["code"] == "otp_invalid"
    assert "Idempotent-Replayed" not in again
    assert token not in again.content.decode()
    assert AuthToken.objects.count() == 1
    assert token not in _kept_text()


def test_a_login_with_a_key_is_still_one_at_a_time(client):
    IdempotencyRecord.objects.create(
        scope="anon:127.0.0.1",
        key="login-1",
        method="POST",
        path="/api/v1/auth/login",
        request_hash=_hash("/api/v1/auth/login", {"phone": PHONE, "code": "123456"}),
        created_at=T0,
    )
    response = _post(client, "/auth/login", {"phone": PHONE, "code": "123456"}, key="login-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"


def test_an_error_answer_is_replayed_too(client):
    first = _post(client, "/auth/otp", {"phone": "123"}, key="k-bad")
    again = _post(client, "/auth/otp", {"phone": "123"}, key="k-bad")
    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_refused_and_runs_nothing(client):
    _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    response = _post(client, "/auth/otp", {"phone": "13912345678"}, key="k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert SandboxSms.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused(client):
    _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    response = _post(client, "/auth/login", {"phone": PHONE}, key="k-1")
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_signed_in_caller(client):
    alice, bob = _token_for("alice"), _token_for("bob")
    first = _post(client, "/auth/otp", {"phone": PHONE}, key="shared", token=alice)
    second = _post(client, "/auth/otp", {"phone": "13912345678"}, key="shared", token=bob)
    assert first.status_code == second.status_code == 200
    assert second.json()["phone"] == "13912345678"
    assert "Idempotent-Replayed" not in second
    assert SandboxSms.objects.count() == 2
    assert sorted(IdempotencyRecord.objects.values_list("scope", flat=True)) == sorted(
        f"user:{User.objects.get(username=u).pk}" for u in ("alice", "bob")
    )
    replay = _post(client, "/auth/otp", {"phone": PHONE}, key="shared", token=alice)
    assert replay["Idempotent-Replayed"] == "true"


def test_anonymous_keys_are_scoped_to_the_client_address(client):
    first = _post(client, "/auth/otp", {"phone": PHONE}, key="shared", ip="10.0.0.1")
    second = _post(client, "/auth/otp", {"phone": "13912345678"}, key="shared", ip="10.0.0.2")
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second
    assert SandboxSms.objects.count() == 2


def test_anonymous_clients_behind_a_trusted_proxy_have_keys_of_their_own(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    for n, phone in enumerate((PHONE, "13912345678")):
        response = client.post(
            "/api/v1/auth/otp",
            data=json.dumps({"phone": phone}),
            content_type="application/json",
            headers={"Idempotency-Key": "shared", "X-Forwarded-For": f"203.0.113.{n + 1}"},
            REMOTE_ADDR="10.0.0.2",
        )
        assert response.status_code == 200, response.content
        assert "Idempotent-Replayed" not in response
    assert sorted(IdempotencyRecord.objects.values_list("scope", flat=True)) == [
        "anon:203.0.113.1",
        "anon:203.0.113.2",
    ]


def test_the_caller_scope_prefers_the_bearer_user_then_the_session_user_then_the_address():
    request = RequestFactory().post("/api/v1/x", REMOTE_ADDR="10.9.8.7")
    request.haoka_user = None
    request.user = AnonymousUser()
    assert idempotency.caller_scope(request) == "anon:10.9.8.7"
    session_user = User.objects.create(username="s")
    request.user = session_user
    assert idempotency.caller_scope(request) == f"user:{session_user.pk}"
    bearer_user = User.objects.create(username="b")
    request.haoka_user = bearer_user
    assert idempotency.caller_scope(request) == f"user:{bearer_user.pk}"


def test_a_key_is_replayed_for_24_hours_and_then_forgotten(client):
    _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    with clock.frozen(T0 + dt.timedelta(hours=23, minutes=59), all_threads=True):
        assert _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")["Idempotent-Replayed"]
    with clock.frozen(T0 + dt.timedelta(hours=24, seconds=1), all_threads=True):
        response = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert SandboxSms.objects.count() == 2


@pytest.mark.parametrize("key", ["k" * 201, "", "bad\x00key", "tab\tkey", "line\nkey"])
def test_a_malformed_key_is_refused_and_runs_nothing(client, key):
    response = client.post(
        "/api/v1/auth/otp",
        data=json.dumps({"phone": PHONE}),
        content_type="application/json",
        **{"HTTP_IDEMPOTENCY_KEY": key},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert SandboxSms.objects.count() == 0


def test_a_200_character_key_is_fine(client):
    assert _post(client, "/auth/otp", {"phone": PHONE}, key="k" * 200).status_code == 200


def test_a_server_error_is_not_kept_so_a_retry_runs(client, monkeypatch):
    real = operations.request_otp

    def broken(**kwargs):
        raise RuntimeError("carrier down")

    monkeypatch.setattr(operations, "request_otp", broken)
    failed = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    assert failed.status_code == 500
    assert IdempotencyRecord.objects.count() == 0
    monkeypatch.setattr(operations, "request_otp", real)
    retry = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert SandboxSms.objects.count() == 1


def test_a_request_still_in_flight_blocks_its_key_with_a_conflict(client):
    IdempotencyRecord.objects.create(
        scope="anon:127.0.0.1",
        key="k-1",
        method="POST",
        path="/api/v1/auth/otp",
        request_hash=_hash("/api/v1/auth/otp", {"phone": PHONE}),
        created_at=T0,
    )
    response = _post(client, "/auth/otp", {"phone": PHONE}, key="k-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert SandboxSms.objects.count() == 0


def test_a_request_that_died_in_flight_frees_its_key_after_two_minutes(client):
    IdempotencyRecord.objects.create(
        scope="anon:127.0.0.1",
        key="k-1",
        method="POST",
        path="/api/v1/auth/otp",
        request_hash="whatever",
        created_at=T0 - idempotency.IN_FLIGHT_TIMEOUT - dt.timedelta(seconds=1),
    )
    assert _post(client, "/auth/otp", {"phone": PHONE}, key="k-1").status_code == 200


def test_keys_are_ignored_outside_api_posts(client):
    response = client.get(
        "/api/v1/sandbox/sms", {"phone": PHONE}, headers={"Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 200
    assert IdempotencyRecord.objects.count() == 0


def _hash(path: str, body: dict) -> str:
    return hashlib.sha256(b"POST" + path.encode() + b"\n" + json.dumps(body).encode()).hexdigest()
