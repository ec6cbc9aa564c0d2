"""A consumer's address book over the API: add, edit, delete, default; only the owner sees
or changes an entry (another's id is a 404); codes are checked against the 省/市/区 table."""

from __future__ import annotations

import pytest

from haoka.core import clock
from haoka.logistics import domain
from haoka.logistics.models import SavedAddress
from tests.support.orders import T0, make_buyer

pytestmark = pytest.mark.django_db
BASE = "/me/addresses"
NANSHAN = {"province_code": "44", "city_code": "4403", "district_code": "440305"}
CHAOYANG = {"province_code": "11", "city_code": "1101", "district_code": "110105"}


@pytest.fixture(autouse=True)
def now():
    """The buyers' sessions are issued at T0."""
    with clock.frozen(T0, all_threads=True):
        yield T0


def _entry(buyer, **overrides) -> dict:
    return {
        "receiver": "王小明",
        "phone": "13800138000",
        "detail": f"科技园 {buyer.serial} 栋",
        **NANSHAN,
        **overrides,
    }


def _add(buyer, expect: int = 201, **overrides) -> dict:
    answer = buyer.call("post", BASE, _entry(buyer, **overrides))
    assert answer.status_code == expect, answer.content
    return answer.json()


def _book(buyer) -> list[dict]:
    answer = buyer.call("get", BASE)
    assert answer.status_code == 200
    return answer.json()["items"]


def test_the_first_address_is_the_default_and_shows_its_names_and_a_masked_phone(client):
    buyer = make_buyer(client, 31)
    saved = _add(buyer)
    assert saved["is_default"] is True and saved["phone_masked"] == "138****8000"
    assert (saved["province"], saved["city"], saved["district"]) == ("广东省", "深圳市", "南山区")
    assert "13800138000" not in str(_book(buyer))
    stored = SavedAddress.objects.get(pk=saved["id"])
    assert stored.phone == "13800138000" and stored.district_code == "440305"


def test_a_new_default_takes_over_and_the_default_is_listed_first(client):
    buyer = make_buyer(client, 32)
    first = _add(buyer)
    second = _add(buyer, is_default=True, **CHAOYANG)
    assert [a["id"] for a in _book(buyer)] == [second["id"], first["id"]]
    assert [a["is_default"] for a in _book(buyer)] == [True, False]
    chosen = buyer.call("post", f"{BASE}/{first['id']}/default")
    assert chosen.status_code == 200 and chosen.json()["is_default"] is True
    assert [a["id"] for a in _book(buyer) if a["is_default"]] == [first["id"]]


def test_an_edit_replaces_the_fields_and_keeps_the_default(client):
    buyer = make_buyer(client, 33)
    saved = _add(buyer)
    edited = buyer.call(
        "put", f"{BASE}/{saved['id']}", _entry(buyer, detail="新地址 8 号", **CHAOYANG)
    )
    assert edited.status_code == 200, edited.content
    body = edited.json()
    assert (body["city"], body["district"], body["detail"]) == ("北京市", "朝阳区", "新地址 8 号")
    assert body["is_default"] is True


def test_deleting_the_default_makes_the_most_recent_other_one_the_default(client):
    buyer = make_buyer(client, 34)
    first, second = _add(buyer), _add(buyer, **CHAOYANG)
    assert buyer.call("delete", f"{BASE}/{first['id']}").status_code == 204
    assert [(a["id"], a["is_default"]) for a in _book(buyer)] == [(second["id"], True)]
    assert buyer.call("delete", f"{BASE}/{first['id']}").status_code == 404


def test_someone_elses_address_is_not_found_whatever_is_asked(client):
    owner, other = make_buyer(client, 35), make_buyer(client, 36)
    saved = _add(owner)
    path = f"{BASE}/{saved['id']}"
    for method, suffix, body in [
        ("get", "", None),
        ("put", "", _entry(other)),
        ("delete", "", None),
        ("post", "/default", None),
    ]:
        answer = other.call(method, path + suffix, body)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "address_not_found"
    assert _book(other) == []
    assert SavedAddress.objects.get(pk=saved["id"]).detail == saved["detail"]


@pytest.mark.parametrize(
    "codes",
    [
        {"province_code": "44", "city_code": "3301", "district_code": "330106"},
        {"province_code": "44", "city_code": "4403", "district_code": "440399"},
        {"province_code": "81", "city_code": "8101", "district_code": "810101"},
    ],
)
def test_a_forged_or_mismatched_code_is_refused_with_a_code(client, codes):
    buyer = make_buyer(client, 37)
    error = _add(buyer, expect=422, **codes)["error"]
    assert error["code"] == "invalid_division" and "省份、城市和区县" in error["message"]
    assert not SavedAddress.objects.exists()


@pytest.mark.parametrize(
    "field, value, code",
    [("receiver", " ", "invalid_address"), ("detail", "", "invalid_address"),
     ("detail", "号" * 121, "invalid_address"), ("phone", "12345", "invalid_msisdn")],
)  # fmt: skip
def test_a_missing_or_bad_field_is_refused_in_chinese(client, field, value, code):
    buyer = make_buyer(client, 38)
    error = _add(buyer, expect=422, **{field: value})["error"]
    assert error["code"] == code and error["message"]


def test_the_book_holds_a_bounded_number_of_addresses(client):
    buyer = make_buyer(client, 39)
    for _ in range(domain.ADDRESS_BOOK_MAX):
        _add(buyer)
    error = _add(buyer, expect=422)["error"]
    assert error["code"] == "address_book_full"
    assert SavedAddress.objects.filter(user=buyer.user).count() == domain.ADDRESS_BOOK_MAX


def test_the_address_book_needs_a_login(client):
    assert client.get(f"/api/v1{BASE}").status_code == 401


def test_the_divisions_are_public_and_cascade(client):
    provinces = client.get("/api/v1/divisions").json()["items"]
    assert {"code": "44", "name": "广东省"} in provinces
    cities = client.get("/api/v1/divisions?parent=44").json()["items"]
    assert {"code": "4403", "name": "深圳市"} in cities
    districts = client.get("/api/v1/divisions?parent=4403").json()["items"]
    assert {"code": "440305", "name": "南山区"} in districts
    refused = client.get("/api/v1/divisions?parent=4499")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_division"
