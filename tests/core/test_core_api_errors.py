"""The API maps every error to {"error": {"code", "message", "details"}} with its status."""

from __future__ import annotations

import json

import pytest

from haoka.accounts import operations
from haoka.core.errors import Conflict

pytestmark = pytest.mark.django_db


def _post_otp(client, body, **headers):
    return client.post(
        "/api/v1/auth/otp", data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_named_error_is_rendered_with_its_code_message_details_and_status(client):
    response = _post_otp(client, {"phone": "123"})
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_msisdn",
            "message": "不是有效的中国大陆手机号码",
            "details": {"reason": "wrong_length", "value": "123"},
        }
    }


def test_chinese_text_is_sent_as_utf8_not_escaped(client):
    response = _post_otp(client, {"phone": "123"})
    assert "不是有效的中国大陆手机号码".encode() in response.content


def test_a_named_error_keeps_its_own_status(client, monkeypatch):
    class Taken(Conflict):
        code = "already_taken"
        message = "已被占用"

    def taken(**kwargs):
        raise Taken(number="13812345678")

    monkeypatch.setattr(operations, "request_otp", taken)
    response = _post_otp(client, {"phone": "13812345678"})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "already_taken",
        "message": "已被占用",
        "details": {"number": "13812345678"},
    }


def test_a_body_that_fails_validation_is_422_with_the_field_errors(client):
    response = _post_otp(client, {"telephone": "13812345678"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "输入有误"
    [field_error] = error["details"]["errors"]
    assert field_error["loc"][-1] == "phone"
    assert field_error["type"] == "missing"
    assert field_error["msg"]


def test_a_missing_query_parameter_is_a_validation_error(client):
    response = client.get("/api/v1/sandbox/sms")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["loc"] == ["query", "phone"]


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/api/v1/auth/otp", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"  # named: the body parser refused it


def test_an_unexpected_error_is_a_500_carrying_the_request_id(client, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("secret internals 110101199003071234")

    monkeypatch.setattr(operations, "request_otp", crash)
    response = _post_otp(client, {"phone": "13812345678"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["details"]["request_id"] == response["X-Request-Id"]
    assert len(response["X-Request-Id"]) == 32
    assert b"secret internals" not in response.content


def test_a_well_formed_incoming_request_id_is_kept(client, monkeypatch):
    monkeypatch.setattr(operations, "request_otp", lambda **kw: 1 / 0)
    response = _post_otp(client, {"phone": "13812345678"}, **{"X-Request-Id": "edge-req-12345678"})
    assert response["X-Request-Id"] == "edge-req-12345678"
    assert response.json()["error"]["details"]["request_id"] == "edge-req-12345678"


@pytest.mark.parametrize("incoming", ["short", "has spaces in it!", "x" * 65])
def test_a_malformed_incoming_request_id_is_replaced(client, incoming):
    response = client.get(
        "/api/v1/sandbox/sms", {"phone": "13812345678"}, headers={"X-Request-Id": incoming}
    )
    assert response["X-Request-Id"] != incoming
    assert len(response["X-Request-Id"]) == 32


def test_every_response_carries_a_request_id(client):
    first = client.get("/api/v1/sandbox/sms", {"phone": "13812345678"})
    second = client.get("/api/v1/sandbox/sms", {"phone": "13812345678"})
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_an_unknown_route_under_the_api_is_404(client):
    # Django answers unmatched paths itself (an HTML page), before the API's JSON mapping.
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert (
        client.post("/api/v1/no-such-thing", data="{}", content_type="application/json").status_code
        == 404
    )


def test_an_unauthenticated_call_to_a_protected_route_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthenticated",
        "message": "请先登录",
        "details": {},
    }
