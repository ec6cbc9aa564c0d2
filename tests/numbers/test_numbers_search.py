"""选号 search, suggestions and valuation over the API."""

from __future__ import annotations

import pytest

from haoka.catalog import domain as catalog_domain
from haoka.core import clock
from haoka.numbers import domain, operations, queries
from haoka.numbers.domain import NumberState
from haoka.numbers.models import PhoneNumber
from tests.support.numbers import make_user, seed_catalog, seed_numbers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pool():
    seed_catalog()
    seed_numbers()


def _msisdns(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [n["msisdn"] for n in response.json()["items"]]


def _walk(client, query: str) -> list[dict]:
    items, after = [], ""
    while True:
        page = client.get(f"/api/v1/numbers?limit=50{query}{after}").json()
        items += page["items"]
        if not page["next"]:
            return items
        after = f"&after={page['next']}"


def test_tail_search_finds_exactly_the_numbers_ending_in_those_digits(client):
    found = _msisdns(client.get("/api/v1/numbers?tail=8888"))
    assert "13912348888" in found
    assert all(m.endswith("8888") for m in found)
    expected = PhoneNumber.objects.filter(msisdn__endswith="88").count()
    assert len(_walk(client, "&tail=88")) == expected


def test_contains_and_no_four_filters_combine(client):
    found = _walk(client, "&contains=52&exclude_four=true")
    assert found and all("52" in n["msisdn"] and "4" not in n["msisdn"] for n in found)


def test_carrier_province_and_price_filters_apply(client):
    found = _walk(client, "&carrier=CTCC")
    assert [n["msisdn"] for n in found] == ["18912345200"]
    province = PhoneNumber.objects.exclude(province="").values_list("province", flat=True)[0]
    local = _walk(client, f"&province={province}")
    assert local and all(n["province"] == province for n in local)
    in_full = catalog_domain.PROVINCE_NAMES[province]  # "广东省" finds the 归属地 "广东"
    assert _walk(client, f"&province={in_full}") == local
    cheap = _walk(client, "&max_price=10")
    assert cheap and all(n["price_fen"] <= 1000 for n in cheap)


def test_pattern_and_tier_filters_use_the_classification(client):
    aabb = _walk(client, "&pattern=AABB")
    assert "13912357788" in [n["msisdn"] for n in aabb]
    assert all("AABB" in n["patterns"] for n in aabb)
    best = PhoneNumber.objects.order_by("tier_rank").first()
    assert all(n["tier"] == best.tier for n in _walk(client, f"&tier={best.tier}"))


def test_sorting_by_tier_and_by_price_orders_the_whole_walk(client):
    by_tier = _walk(client, "&sort=tier")
    ranks = ["SABCDN".index(n["tier"]) for n in by_tier]
    assert ranks == sorted(ranks)
    prices = [n["price_fen"] for n in _walk(client, "&sort=-price")]
    assert prices == sorted(prices, reverse=True)
    assert len(by_tier) == PhoneNumber.objects.count()


def test_reserved_and_sold_numbers_never_show(client):
    user = make_user("buyer")
    operations.reserve(user_id=user.pk, msisdn="13912348888", now=clock.now())
    PhoneNumber.objects.filter(msisdn="13912345678").update(status=NumberState.IN_USE)
    shown = {n["msisdn"] for n in _walk(client, "")}
    assert "13912348888" not in shown and "13912345678" not in shown
    assert len(shown) == PhoneNumber.objects.filter(status=NumberState.AVAILABLE).count()


@pytest.mark.parametrize(
    "query, code",
    [
        ("tail=12a", "invalid_number_search"),
        ("tail=123456789", "invalid_number_search"),
        ("contains=%E5%85%AB", "invalid_number_search"),
        ("carrier=XX", "unknown_carrier"),
        ("pattern=NOPE", "invalid_number_search"),
        ("tier=Z", "invalid_number_search"),
        ("sort=random", "invalid_number_search"),
        ("max_price=-1", "invalid_amount"),
        ("max_price=1.234", "invalid_amount"),
        ("limit=0", "validation_error"),
        ("after=garbage", "invalid_cursor"),
    ],
)
def test_bad_search_input_gets_a_clear_error(client, query, code):
    response = client.get(f"/api/v1/numbers?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_suggestions_come_from_a_birthday_or_favourite_digits(client):
    response = client.get("/api/v1/numbers/suggestions?birthday=1990-05-20")
    assert response.status_code == 200
    for item in response.json():
        assert "0520" in item["msisdn"] or "520" in item["msisdn"] or item["reason"]
    digits = client.get("/api/v1/numbers/suggestions?digits=1314").json()
    assert "13912341314" in [n["msisdn"] for n in digits]
    assert client.get("/api/v1/numbers/suggestions?birthday=1990-13-01").status_code == 422
    assert client.get("/api/v1/numbers/suggestions?digits=12345678901").status_code == 422


def test_any_mainland_number_can_be_valued_in_the_pool_or_not(client):
    outside = client.get("/api/v1/numbers/13812346666/valuation").json()
    assert outside["in_pool"] is False and outside["status"] is None
    assert outside["carrier"] == "CMCC" and outside["province"]
    assert "TAIL_SAME_4" in [p["code"] for p in outside["patterns"]]
    assert any("评级" in line or "级" in line for line in outside["explanation"])
    inside = client.get("/api/v1/numbers/13912348888/valuation").json()
    pooled = PhoneNumber.objects.get(msisdn="13912348888")
    assert (inside["in_pool"], inside["status"], inside["price_fen"]) == (
        True,
        "AVAILABLE",
        pooled.price_fen,
    )


def test_a_valuation_never_says_who_holds_a_number(client):
    operations.reserve(user_id=make_user("holder").pk, msisdn="13912348888", now=clock.now())
    body = client.get("/api/v1/numbers/13912348888/valuation").json()
    assert body["status"] == "UNAVAILABLE"
    assert "holder" not in str(body) and "reserved" not in str(body).lower()


@pytest.mark.parametrize(
    "raw", ["abc", "1381234567", "23812345678", "+1 650 253 0000", "01012345678"]
)
def test_a_malformed_number_cannot_be_valued(client, raw):
    response = client.get(f"/api/v1/numbers/{raw}/valuation")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_msisdn"


def test_changing_a_tier_price_reprices_available_numbers_but_not_hand_priced_ones():
    cmcc_normal = PhoneNumber.objects.filter(carrier_id="CMCC", tier="N")
    number = cmcc_normal.filter(status=NumberState.AVAILABLE).first()
    locked = cmcc_normal.exclude(pk=number.pk).first()
    PhoneNumber.objects.filter(pk=locked.pk).update(price_locked=True, price_fen=999)
    repriced = operations.set_tier_price(
        carrier="CMCC", tier="N", price_fen=500, min_monthly_fen=0, contract_months=0, actor="test"
    )
    assert repriced == PhoneNumber.objects.filter(tier="N", price_fen=500).count()
    number.refresh_from_db()
    locked.refresh_from_db()
    assert (number.price_fen, locked.price_fen) == (500, 999)
    outside = "13812340537"
    assert domain.classify(outside).tier == domain.Tier.NORMAL
    assert queries.valuation(msisdn=outside).valuation.price_fen == 500
