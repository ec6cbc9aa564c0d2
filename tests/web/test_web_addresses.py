"""我的收货地址 and the checkout's address part, in-process: what the pages show, what they
refuse (in Chinese), and that nobody reaches someone else's address."""

from __future__ import annotations

import pytest

from haoka.core import clock
from haoka.logistics import addresses
from haoka.logistics.models import SavedAddress
from haoka.orders.models import Order
from tests.support.web import hold_for
from tests.support.web_orders import ADDRESS, order_ref

pytestmark = pytest.mark.django_db

NUMBER = "13912348888"  # CMCC
NANSHAN = {"province_code": "44", "city_code": "4403", "district_code": "440305"}
HAIDIAN = {"province_code": "11", "city_code": "1101", "district_code": "110108"}


def html(response) -> str:
    return response.content.decode()


def _save(user, **overrides) -> SavedAddress:
    fields = {"receiver": "王小明", "phone": "13800138000", "detail": "科技园路 1 号", **NANSHAN}
    return addresses.add_address(user_id=user.pk, now=clock.now(), **{**fields, **overrides})


def test_the_book_lists_the_default_first_with_masked_phones(buyer_client, buyer):
    _save(buyer)
    _save(buyer, make_default=True, receiver="李四", **HAIDIAN)
    page = html(buyer_client.get("/me/addresses/"))
    assert page.index("李四") < page.index("王小明")
    assert "138****8000" in page and "13800138000" not in page
    assert "北京市 海淀区 科技园路 1 号" in page and "广东省 深圳市 南山区" in page
    assert "收货地址" in html(buyer_client.get("/me/"))


def test_adding_keeps_what_was_typed_and_says_what_is_wrong(buyer_client, buyer):
    form = {"receiver": "王小明", "phone": "13800138000", "detail": "", **NANSHAN}
    response = buyer_client.post("/me/addresses/new/", form)
    assert response.status_code == 422 and "请填写详细地址" in html(response)
    assert 'value="王小明"' in html(response)
    assert '<option value="440305" selected>南山区</option>' in html(response)
    forged = buyer_client.post(
        "/me/addresses/new/", {**form, "detail": "1 号", "district_code": "440399"}
    )
    assert forged.status_code == 422 and "请选择正确的省份、城市和区县" in html(forged)
    assert not SavedAddress.objects.exists()
    saved = buyer_client.post("/me/addresses/new/", {**form, "detail": "1 号"})
    assert saved["Location"] == "/me/addresses/"
    assert SavedAddress.objects.get(user=buyer).district == "南山区"


def test_edit_delete_and_default_of_the_owners_address(buyer_client, buyer):
    first, second = _save(buyer), _save(buyer, **HAIDIAN)
    form = {"receiver": "王小明", "phone": "13800138000", "detail": "2 号", **HAIDIAN}
    assert buyer_client.post(f"/me/addresses/{first.pk}/", form).status_code == 302
    first.refresh_from_db()
    assert (first.district, first.detail) == ("海淀区", "2 号")
    assert buyer_client.post(f"/me/addresses/{second.pk}/default/").status_code == 302
    assert SavedAddress.objects.get(is_default=True).pk == second.pk
    assert buyer_client.post(f"/me/addresses/{second.pk}/delete/").status_code == 302
    assert list(SavedAddress.objects.values_list("pk", "is_default")) == [(first.pk, True)]


def test_someone_elses_address_is_a_404_page_and_stays_as_it_was(buyer_client, rival):
    theirs = _save(rival)
    form = {"receiver": "我", "phone": "13800138000", "detail": "改", **HAIDIAN}
    for response in (
        buyer_client.get(f"/me/addresses/{theirs.pk}/"),
        buyer_client.post(f"/me/addresses/{theirs.pk}/", form),
        buyer_client.post(f"/me/addresses/{theirs.pk}/default/"),
        buyer_client.post(f"/me/addresses/{theirs.pk}/delete/"),
    ):
        assert response.status_code == 404 and "收货地址不存在" in html(response)
    theirs.refresh_from_db()
    assert (theirs.detail, theirs.district) == ("科技园路 1 号", "南山区")
    assert "王小明" not in html(buyer_client.get("/me/addresses/"))


def test_the_address_pages_need_a_login(client, db):
    assert client.get("/me/addresses/")["Location"].startswith("/login/")


def test_checkout_offers_the_default_address_and_orders_with_it(buyer_client, pool, buyer):
    _save(buyer, receiver="李四", **HAIDIAN)
    hold_for(user=buyer, msisdn=NUMBER)
    page = html(buyer_client.get(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39"))
    saved = SavedAddress.objects.get(user=buyer)
    assert f'name="address_id" value="{saved.pk}" checked' in page and "138****8000" in page
    response = buyer_client.post(
        "/checkout/", {"msisdn": NUMBER, "plan": "CM-MANGO-39", "address_id": str(saved.pk)}
    )
    order = Order.objects.get(ref=order_ref(response))
    assert (order.ship_province, order.ship_city) == ("北京市", "北京市")
    assert SavedAddress.objects.count() == 1  # nothing new to keep


def test_checkout_cannot_ship_to_someone_elses_saved_address(buyer_client, pool, buyer, rival):
    theirs = _save(rival)
    hold_for(user=buyer, msisdn=NUMBER)
    response = buyer_client.post(
        "/checkout/", {"msisdn": NUMBER, "plan": "CM-MANGO-39", "address_id": str(theirs.pk)}
    )
    assert response.status_code == 404 and "收货地址不存在" in html(response)
    assert not Order.objects.exists()


def test_a_new_address_at_checkout_is_kept_only_when_asked(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    form = {"msisdn": NUMBER, "plan": "CM-MANGO-39", "address_id": "new", **ADDRESS}
    order_ref(buyer_client.post("/checkout/", form))
    assert not SavedAddress.objects.exists()  # the box was not ticked
    Order.objects.update(state="CANCELLED")
    hold_for(user=buyer, msisdn="13811115200")
    order_ref(
        buyer_client.post("/checkout/", {**form, "msisdn": "13811115200", "save_address": "1"})
    )
    kept = SavedAddress.objects.get(user=buyer)
    assert (kept.receiver, kept.district, kept.is_default) == ("张三", "南山区", True)
