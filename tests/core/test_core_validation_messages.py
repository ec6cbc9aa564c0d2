"""The API's 422 ``validation_error`` says what is wrong with each field in Chinese, by
pydantic's error type, and keeps the type code and the field path for machines."""

from __future__ import annotations

import json
import re

import pydantic_core
import pytest
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import BaseModel, Field, ValidationError

from haoka.core.validation_messages import FALLBACK, MESSAGES, chinese_message

CJK = re.compile(r"[\u4e00-\u9fff]")


def _errors(response) -> list[dict]:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("validation_error", "输入有误")
    return error["details"]["errors"]


@pytest.mark.django_db
def test_a_missing_field_is_said_in_chinese_with_its_path_and_type_kept(client):
    response = client.post("/api/v1/auth/otp", data=json.dumps({}), content_type="application/json")
    [error] = _errors(response)
    assert error == {"loc": ["body", "body", "phone"], "msg": "缺少必填字段", "type": "missing"}


@pytest.mark.django_db
def test_a_query_value_of_the_wrong_type_is_said_in_chinese(client):
    errors = _errors(client.get("/api/v1/numbers?limit=ten&exclude_four=maybe"))
    by_field = {e["loc"][-1]: (e["type"], e["msg"]) for e in errors}
    assert by_field == {
        "limit": ("int_parsing", "须为整数"),
        "exclude_four": ("bool_parsing", "须为布尔值（true 或 false）"),
    }


@pytest.mark.django_db
def test_text_where_text_is_expected_is_said_in_chinese(client):
    response = client.post(
        "/api/v1/auth/otp", data=json.dumps({"phone": 13812345678}), content_type="application/json"
    )
    [error] = _errors(response)
    assert (error["type"], error["msg"]) == ("string_type", "须为文本")


class _Shape(BaseModel):
    count: int = Field(ge=1, le=120, strict=True)
    name: str = Field(max_length=4, pattern=r"^[a-z]+$")
    colour: str = Field(default="red", pattern=r"^(red|blue)$")


def _pydantic_errors(data: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        _Shape.model_validate(data)
    return caught.value.errors(include_url=False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"count": 0, "name": "ab"}, "不能小于 1"),
        ({"count": 121, "name": "ab"}, "不能大于 120"),
        ({"count": "3", "name": "ab"}, "须为整数"),
        ({"count": 3, "name": "abcdef"}, "长度不能超过 4 个字符"),
        ({"count": 3, "name": "AB"}, "格式不正确"),
    ],
)
def test_a_bound_or_a_length_is_named_in_the_chinese_message(data, expected):
    [error] = _pydantic_errors(data)
    assert chinese_message(error) == expected


def test_an_error_type_not_in_the_table_is_said_in_chinese_naming_the_field():
    error = {"type": "some_future_type", "loc": ("body", "payload", "amount_fen"), "msg": "x"}
    assert chinese_message(error) == "字段 amount_fen 的取值无效"
    assert CJK.search(FALLBACK)


def test_every_message_in_the_table_is_chinese_and_names_a_real_pydantic_error_type():
    known = set(pydantic_core.core_schema.ErrorType.__args__)
    assert set(MESSAGES) <= known
    assert all(CJK.search(message) for message in MESSAGES.values())
    for needed in (
        "missing",
        "int_type",
        "greater_than_equal",
        "less_than_equal",
        "string_too_long",
        "string_pattern_mismatch",
        "json_invalid",
        "datetime_parsing",
        "timezone_aware",
        "bool_type",
        "literal_error",
    ):
        assert needed in MESSAGES


def test_django_form_messages_are_in_chinese():
    with pytest.raises(DjangoValidationError) as caught:
        forms.IntegerField(min_value=1).clean("ten")
    assert caught.value.messages == ["输入整数。"]
    with pytest.raises(DjangoValidationError) as caught:
        forms.CharField().clean("")
    assert caught.value.messages == ["这个字段是必填项。"]


@pytest.mark.django_db
def test_the_admin_login_error_is_in_chinese_for_a_browser_asking_for_chinese_or_nothing(client):
    for headers in ({}, {"Accept-Language": "zh-CN,zh;q=0.9"}):
        response = client.post(
            "/admin/login/", {"username": "nobody", "password": "wrong"}, headers=headers
        )
        text = response.content.decode()
        assert "请输入一个正确的" in text, headers
        assert "Please enter the correct" not in text
