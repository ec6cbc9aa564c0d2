"""Bad input at the edge gets a named 4xx, never a 500 (issue "Hardening", items 3, 4, 5, 13):
control characters and lone surrogates in paths, queries and bodies; JSON nested too deep;
bodies that are not JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from haoka.api import Utf8JSONRenderer
from haoka.core import clock, jsonio, signing
from tests.support.charging import BASE, charging_token

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
CALLBACKS = [
    "/api/v1/callbacks/payments/sandbox",
    "/api/v1/callbacks/carriers/CMCC",
    "/api/v1/callbacks/couriers/simexpress",
]


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


# ---------------------------------------------------------------- the parser itself
@pytest.mark.parametrize(
    "text",
    ["a\x00b", "\x07", "\x1b[31m", "\x7f", "\ud800", "x\udfffy"],
)
def test_text_with_control_characters_or_lone_surrogates_is_refused(text):
    with pytest.raises(jsonio.InvalidText):
        jsonio.check({"name": text})
    with pytest.raises(jsonio.InvalidText):
        jsonio.check({text: 1})


def test_tabs_newlines_and_every_other_character_are_welcome():
    jsonio.check({"note": "第一行\n第二行\t（备注）😀 ¥12.34", "n": [1, 2.5, None, True]})


def test_json_deeper_than_any_message_is_refused_before_and_after_parsing():
    with pytest.raises(jsonio.TooDeep):
        jsonio.loads(DEEP)
    with pytest.raises(jsonio.TooDeep):
        jsonio.loads("[" * 40 + "]" * 40)
    assert jsonio.loads("[" * 30 + "]" * 30)


def test_what_is_not_json_is_refused_as_such():
    for body in (b"{", b"\xff\xfe", b"NaN-ish", "{'a': 1}"):
        with pytest.raises(jsonio.InvalidJson):
            jsonio.loads(body)


def test_json_media_types_are_recognised_with_their_parameters():
    assert jsonio.is_json("application/json")
    assert jsonio.is_json("application/json; charset=utf-8")
    assert jsonio.is_json("application/problem+json")
    assert not jsonio.is_json("text/plain")
    assert not jsonio.is_json("multipart/form-data; boundary=x")
    assert not jsonio.is_json(None)


# ---------------------------------------------------------------- over HTTP
def test_a_nul_in_a_query_is_refused_before_the_database_sees_it(api_client):
    _error(api_client.get("/api/v1/plans?carrier=CM%00CC"), 400, "invalid_characters")
    _error(api_client.get("/api/v1/numbers/search?tail=8%008"), 400, "invalid_characters")


def test_a_nul_in_a_path_is_refused_before_the_database_sees_it(api_client):
    _error(api_client.get("/api/v1/plans/AB%00CD"), 400, "invalid_characters")


def test_a_page_with_a_nul_in_its_query_is_a_plain_400(client):
    response = client.get("/numbers/?tail=8%008")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_an_invalid_utf8_path_is_answered_with_a_4xx_whose_body_encodes(api_client):
    response = api_client.get("/api/v1/plans/%ED%A0%80")  # Django keeps it percent-encoded
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "plan_not_found"


def test_the_error_renderer_escapes_a_lone_surrogate_it_would_echo():
    text = Utf8JSONRenderer().render(
        None, {"echo": "a\ud800b", "name": "号卡"}, response_status=422
    )
    assert text.encode("utf-8")  # would raise UnicodeEncodeError with the surrogate kept raw
    assert json.loads(text) == {"echo": "a\ud800b", "name": "号卡"}


@pytest.mark.parametrize("value", ["138\\u00000000000", "\\ud800", "a\\u001bb"])
def test_a_body_with_a_forbidden_character_is_refused_with_a_named_error(api_client, value):
    body = '{"phone": "' + value + '"}'
    response = api_client.post("/api/v1/auth/otp", data=body, content_type="application/json")
    _error(response, 400, "invalid_characters")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"phone": "13800138000"}'),
        ("application/x-www-form-urlencoded", "phone=13800138000"),
    ],
)
def test_a_json_endpoint_refuses_a_body_that_is_not_sent_as_json(api_client, content_type, body):
    response = api_client.post("/api/v1/auth/otp", data=body, content_type=content_type)
    _error(response, 415, "unsupported_media_type")


def test_a_body_that_is_not_json_is_a_named_400(api_client):
    response = api_client.post("/api/v1/auth/otp", data="{", content_type="application/json")
    _error(response, 400, "invalid_json")


@pytest.mark.parametrize("path", CALLBACKS)
def test_a_callback_nested_a_thousand_deep_is_refused_not_a_server_error(
    api_client, path, settings
):
    # Signed correctly, so that the body is parsed: the nesting is what is refused.
    secrets = {
        "payments": settings.PAYMENT_GATEWAY_SECRET,
        "carriers": settings.CARRIER_API_SECRET,
        "couriers": settings.COURIER_API_SECRET,
    }
    secret = secrets[path.split("/")[4]]
    response = api_client.post(
        path,
        data=DEEP,
        content_type="application/json",
        HTTP_X_HAOKA_SIGNATURE=signing.sign(secret=secret, body=DEEP.encode()),
    )
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"] in {"json_too_deep", "bad_notification"}


def test_nchf_answers_a_thousand_deep_body_with_its_own_400(api_client):
    token = charging_token(clock.now() - dt.timedelta(seconds=1))
    response = api_client.post(
        BASE, data=DEEP, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400, response.content
    assert json.loads(response.content)["cause"] == "INVALID_MSG_FORMAT"
