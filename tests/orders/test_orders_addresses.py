"""Shipping addresses: provinces and cities are accepted in full ("广东省", "深圳市") or short
("广东", "深圳") and stored once, in the full official names couriers print."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps

from haoka.numbers import importer
from haoka.orders.models import Order
from tests.support.orders import make_buyer

pytestmark = pytest.mark.django_db
FREE_PLAN = "CM-MANGO-39"
#: CU-WOPAI-29 is sold in 广东, 广西, 福建 and 海南 only, and never to 揭阳 or 汕尾.
REGIONAL_PLAN = "CU-WOPAI-29"
CU = ["18612340001", "18612340002", "18612340003"]
MIGRATION = "haoka.orders.migrations.0005_canonical_ship_province_and_city"


@pytest.fixture
def unicom(pool):
    importer.import_rows(
        rows=[importer.Row(line=i, msisdn=m, carrier="CUCC", price="0") for i, m in enumerate(CU)],
        source="test",
    )


def _stored(ref: str) -> tuple:
    order = Order.objects.get(ref=ref)
    address = json.loads(order.shipping_address)
    return order.ship_province, order.ship_city, address["province"], address["city"]


def test_full_and_short_province_and_city_names_store_the_same_full_names(client, pool, carrier):
    buyer = make_buyer(client, 1)
    full = buyer.hold_and_order(
        msisdn="13912340001", plan=FREE_PLAN, province="广东省", city="深圳市"
    )
    short = buyer.hold_and_order(msisdn="13912340002", plan=FREE_PLAN, province="广东", city="深圳")
    stored = ("广东省", "深圳市", "广东省", "深圳市")
    assert _stored(full["ref"]) == _stored(short["ref"]) == stored
    assert full["ship_to"] == short["ship_to"] == "广东省 深圳市 南山区"


@pytest.mark.parametrize(
    "province, city, stored",
    [
        ("北京市", "北京市", ("北京市", "北京市")),
        ("北京", "北京", ("北京市", "北京市")),
        ("广西壮族自治区", "南宁", ("广西壮族自治区", "南宁市")),
        ("内蒙古自治区", "锡林郭勒盟", ("内蒙古自治区", "锡林郭勒盟")),
        ("宁夏回族自治区", "银川", ("宁夏回族自治区", "银川市")),
        ("吉林", "延边州", ("吉林省", "延边朝鲜族自治州")),
    ],
)
def test_regions_written_in_full_are_accepted(client, pool, carrier, province, city, stored):
    buyer = make_buyer(client, 2)
    ordered = buyer.hold_and_order(
        msisdn="18912340001", plan="CT-WUYOU-0", province=province, city=city
    )
    assert _stored(ordered["ref"])[:2] == stored


@pytest.mark.parametrize("province", ["香港特别行政区", "香港", "澳门", "台湾省"])
def test_hong_kong_macau_and_taiwan_are_refused_as_not_deliverable(client, pool, province):
    buyer = make_buyer(client, 3)
    error = buyer.hold_and_order(
        msisdn="13912340001", plan=FREE_PLAN, province=province, city="中西区", expect=422
    )["error"]
    assert error["code"] == "address_not_deliverable"
    assert "香港" in error["message"] and "台湾" in error["message"]
    assert not Order.objects.exists()


def test_a_name_that_is_no_province_is_still_refused(client, pool):
    buyer = make_buyer(client, 4)
    error = buyer.hold_and_order(
        msisdn="13912340001", plan=FREE_PLAN, province="广东州", expect=422
    )["error"]
    assert (error["code"], error["message"]) == ("invalid_address", "省份不正确")


@pytest.mark.parametrize(
    "province, city, served",
    [
        ("广东省", "深圳市", True),
        ("广东", "深圳", True),
        ("广西壮族自治区", "南宁市", True),
        ("广东省", "揭阳市", False),
        ("广东", "揭阳", False),
        ("浙江省", "杭州市", False),
    ],
)
def test_a_plan_sold_in_guangdong_ships_to_guangdong_however_it_is_written(
    client, unicom, carrier, province, city, served
):
    buyer = make_buyer(client, 5)
    expect = 201 if served else 422
    answer = buyer.hold_and_order(
        msisdn=CU[0], plan=REGIONAL_PLAN, province=province, city=city, expect=expect
    )
    assert served or answer["error"]["code"] == "region_not_served"


def test_the_migration_rewrites_old_orders_short_names_in_full(client, pool, carrier):
    buyer = make_buyer(client, 6)
    ref = buyer.hold_and_order(msisdn="13912340001", plan=FREE_PLAN)["ref"]
    order = Order.objects.get(ref=ref)
    address = json.loads(order.shipping_address)
    address.update(province="新疆", city="喀什")  # as orders were stored before
    Order.objects.filter(pk=order.pk).update(ship_province="新疆", ship_city="喀什")
    order.shipping_address = json.dumps(address, ensure_ascii=False)
    order.save(update_fields=["shipping_address"])
    migration = importlib.import_module(MIGRATION)
    migration.canonicalize(apps, None)
    assert _stored(ref) == ("新疆维吾尔自治区", "喀什地区", "新疆维吾尔自治区", "喀什地区")
    migration.canonicalize(apps, None)  # a second run changes nothing
    assert _stored(ref) == ("新疆维吾尔自治区", "喀什地区", "新疆维吾尔自治区", "喀什地区")


# ---------------------------------------------------------------- 省/市/区 codes, address book

NANSHAN = {"province_code": "44", "city_code": "4403", "district_code": "440305"}
FORGED = "invalid_division"


def test_an_address_given_by_its_codes_stores_the_tables_names_and_the_codes(client, pool, carrier):
    buyer = make_buyer(client, 7)
    ordered = buyer.hold_and_order(
        msisdn="13912340001", plan=FREE_PLAN, province="", city="", district="", **NANSHAN
    )
    order = Order.objects.get(ref=ordered["ref"])
    address = json.loads(order.shipping_address)
    assert (order.ship_province, order.ship_city) == ("广东省", "深圳市")
    assert {k: address[k] for k in NANSHAN} == NANSHAN and address["district"] == "南山区"
    assert ordered["ship_to"] == "广东省 深圳市 南山区"


def test_codes_win_over_names_written_beside_them(client, pool, carrier):
    buyer = make_buyer(client, 8)
    ordered = buyer.hold_and_order(
        msisdn="13912340001", plan=FREE_PLAN, province="浙江省", city="杭州", **NANSHAN
    )
    assert ordered["ship_to"] == "广东省 深圳市 南山区"


@pytest.mark.parametrize(
    "codes, code",
    [
        ({"province_code": "44", "city_code": "3301", "district_code": "330106"}, FORGED),
        ({"province_code": "44", "city_code": "4403", "district_code": "440399"}, FORGED),
        ({"province_code": "44", "city_code": "4403"}, "invalid_address"),
    ],
)  # fmt: skip
def test_a_forged_code_or_a_city_of_another_province_orders_nothing(client, pool, codes, code):
    buyer = make_buyer(client, 9)
    error = buyer.hold_and_order(msisdn="13912340001", plan=FREE_PLAN, expect=422, **codes)
    assert error["error"]["code"] == code
    if code == "invalid_address":  # a select left empty is named
        assert error["error"]["details"]["missing"] == ["district"]
    assert not Order.objects.exists()


def test_a_city_the_plan_does_not_serve_is_refused_when_chosen_by_code_too(client, unicom, carrier):
    buyer = make_buyer(client, 10)
    jieyang = {"province_code": "44", "city_code": "4452", "district_code": "445202"}
    answer = buyer.hold_and_order(msisdn=CU[0], plan=REGIONAL_PLAN, expect=422, **jieyang)
    assert answer["error"]["code"] == "region_not_served"


def _order_from_book(buyer, address_id: int, msisdn: str = "13912340001"):
    assert buyer.call("post", f"/numbers/{msisdn}/reserve").status_code == 201
    return buyer.call(
        "post",
        "/orders",
        {
            "plan_code": FREE_PLAN,
            "msisdn": msisdn,
            "contact_phone": buyer.user.phone,
            "address_id": address_id,
        },
    )


def test_an_order_ships_to_an_address_chosen_from_the_book(client, pool, carrier):
    buyer = make_buyer(client, 11)
    entry = {"receiver": "王小明", "phone": "13800138000", "detail": "海淀 1 号"}
    saved = buyer.call(
        "post",
        "/me/addresses",
        {**entry, "province_code": "11", "city_code": "1101", "district_code": "110108"},
    ).json()
    answer = _order_from_book(buyer, saved["id"])
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (
        body["ship_to"] == "北京市 北京市 海淀区" and body["receiver_masked"] == "王*明 138****8000"
    )
    address = json.loads(Order.objects.get(ref=body["ref"]).shipping_address)
    assert address["detail"] == "海淀 1 号" and address["district_code"] == "110108"


def test_someone_elses_saved_address_cannot_be_shipped_to(client, pool, carrier):
    owner, other = make_buyer(client, 12), make_buyer(client, 13)
    saved = owner.call(
        "post",
        "/me/addresses",
        {"receiver": "王小明", "phone": "13800138000", "detail": "1 号", **NANSHAN},
    ).json()
    answer = _order_from_book(other, saved["id"])
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "address_not_found"
    assert not Order.objects.exists()


def test_an_order_without_any_address_is_refused(client, pool):
    buyer = make_buyer(client, 14)
    answer = _order_from_book(buyer, None)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_address"
