"""The staff console shows money as ¥68.00 and takes it in yuan, and shows codes with
their Chinese labels (``core.admin_display``)."""

from __future__ import annotations

import pytest
from django import forms

from haoka.accounts.models import Role, User
from haoka.catalog.models import Benefit, Plan
from haoka.core.admin_display import YuanField, fen_display, label_display

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("68.00", 6800), ("68", 6800), ("0.5", 50), ("¥1,234.50", 123450), (" 19.9 ", 1990)],
)
def test_an_amount_typed_in_yuan_is_stored_in_fen(typed, fen):
    assert YuanField().clean(typed) == fen


@pytest.mark.parametrize("typed", ["68.001", "abc", "1e3", "-5"])
def test_an_amount_that_is_not_yuan_is_refused_in_chinese(typed):
    with pytest.raises(forms.ValidationError) as caught:
        YuanField().clean(typed)
    assert "金额" in caught.value.messages[0]


def test_fen_are_shown_in_the_form_as_yuan():
    assert YuanField().prepare_value(6800) == "68.00"
    assert YuanField().prepare_value(5) == "0.05"


def test_a_fen_column_shows_yen_and_a_code_column_its_label():
    plan = Plan(monthly_fee_fen=6800)
    column = fen_display(Plan, "monthly_fee_fen")
    assert column(plan) == "¥68.00"
    assert column.short_description == "月租"
    labelled = label_display("status", {"ON_SALE": "在售"}, "状态")
    assert labelled(Plan(status="ON_SALE")) == "在售"
    assert labelled(Plan(status="NEW_CODE")) == "NEW_CODE"


def test_staff_type_a_benefit_value_in_yuan_and_see_it_as_yen(client, staff):
    response = client.post(
        "/admin/catalog/benefit/add/",
        {"code": "vip", "name": "视频会员月卡", "value_fen": "25.00", "description": ""},
    )
    assert response.status_code == 302, response.content.decode()
    assert Benefit.objects.get(code="vip").value_fen == 2500
    listing = client.get("/admin/catalog/benefit/").content.decode()
    assert "¥25.00" in listing and ">2500<" not in listing
    form = client.get(f"/admin/catalog/benefit/{Benefit.objects.get().pk}/change/")
    assert 'value="25.00"' in form.content.decode()


def test_a_benefit_value_that_is_not_yuan_is_a_form_error_in_chinese(client, staff):
    response = client.post(
        "/admin/catalog/benefit/add/",
        {"code": "vip", "name": "视频会员月卡", "value_fen": "25.001", "description": ""},
    )
    assert response.status_code == 200
    assert "请输入以元为单位的金额" in response.content.decode()
    assert not Benefit.objects.exists()
