"""Edges closed after review: reused ledger keys, replayed headers, bad tokens, unknown routes."""

from __future__ import annotations

import json

import pytest
from django.http import JsonResponse
from django.test import RequestFactory

from haoka.core import idempotency, ledger
from haoka.core.ledger import Leg
from haoka.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_a_reused_ledger_key_with_different_legs_is_refused():
    ledger.open_account(code="a", name="A", kind="ASSET")
    ledger.open_account(code="b", name="B", kind="LIABILITY")
    ledger.post(legs=[Leg("a", 100), Leg("b", -100)], kind="topup", key="k1")
    with pytest.raises(ledger.LedgerKeyReused):
        ledger.post(legs=[Leg("a", 200), Leg("b", -200)], kind="topup", key="k1")
    with pytest.raises(ledger.LedgerKeyReused):
        ledger.post(legs=[Leg("a", 100), Leg("b", -100)], kind="refund", key="k1")
    assert ledger.balance_fen(account="a") == 100


def test_a_replayed_response_carries_its_location_header():
    calls = []

    def view(request):
        calls.append(1)
        response = JsonResponse({"ref": "r-1"}, status=201)
        response["Location"] = "/things/r-1"
        return response

    middleware = idempotency.IdempotencyMiddleware(view)
    factory = RequestFactory()

    def send():
        request = factory.post(
            "/api/v1/things",
            data=b"{}",
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="abc-1",
        )
        request.haoka_user = None
        return middleware(request)

    first, second = send(), send()
    assert len(calls) == 1
    assert second.status_code == 201
    assert second["Location"] == "/things/r-1"
    assert second["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().headers == {"Location": "/things/r-1"}
    assert json.loads(second.content) == json.loads(first.content)


def test_the_same_key_on_another_query_string_is_another_request():
    middleware = idempotency.IdempotencyMiddleware(
        lambda request: JsonResponse({"q": request.GET.get("q")})
    )
    factory = RequestFactory()

    def send(query):
        request = factory.post(
            f"/api/v1/things?q={query}",
            data=b"{}",
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="abc-2",
        )
        request.haoka_user = None
        return middleware(request)

    assert send("1").status_code == 200
    response = send("2")
    assert response.status_code == 422
    assert json.loads(response.content)["error"]["code"] == "idempotency_key_reused"


def test_a_bad_bearer_token_is_refused_even_on_a_public_endpoint(client):
    response = client.get(
        "/api/v1/carriers", headers={"Authorization": "Bearer hk_not-a-real-token"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/v1/carriers").status_code == 200


def test_an_unknown_api_path_answers_in_the_api_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v2/plans").json()["error"]["code"] == "not_found"
