"""Catalog over the API and the seed: carriers, plans with filters, plan detail."""

from __future__ import annotations

import pytest

from haoka.catalog import operations, seed_data
from haoka.catalog.models import Plan, SaleStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog():
    operations.load_seed_catalog()


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["code"] for p in response.json()["items"]]


def test_the_seed_is_sound_and_loading_it_twice_changes_nothing():
    assert seed_data.validate() == []
    before = list(Plan.objects.order_by("code").values("code", "monthly_fee_fen", "status"))
    operations.load_seed_catalog()
    after = list(Plan.objects.order_by("code").values("code", "monthly_fee_fen", "status"))
    assert before == after
    assert Plan.objects.filter(status=SaleStatus.ON_SALE).count() >= 20


def test_general_internet_is_a_listed_rating_group_no_plan_may_target(monkeypatch):
    general = [g for g in seed_data.RATING_GROUPS if g.get("general")]
    assert [(g["number"], g["name"]) for g in general] == [(100, "通用上网")]
    plan = {**seed_data.PLANS[0], "targeted_groups": ["internet"]}
    monkeypatch.setattr(seed_data, "PLANS", (plan, *seed_data.PLANS[1:]))
    assert seed_data.validate() == [f"plan {plan['code']}: targeted_groups -> unknown 'internet'"]


def test_carriers_are_listed_in_their_order(client):
    carriers = client.get("/api/v1/carriers").json()
    assert [c["code"] for c in carriers][:4] == ["CMCC", "CUCC", "CTCC", "CBN"]
    assert {c["name"] for c in carriers} >= {"中国移动", "中国联通", "中国电信", "中国广电"}


def test_only_plans_on_sale_are_listed_and_every_page_is_walked_once(client):
    seen, after = [], ""
    while True:
        body = client.get(f"/api/v1/plans?limit=5{after}").json()
        seen += [p["code"] for p in body["items"]]
        if not body["next"]:
            break
        after = f"&after={body['next']}"
    on_sale = set(Plan.objects.filter(status=SaleStatus.ON_SALE).values_list("code", flat=True))
    assert len(seen) == len(set(seen)) == len(on_sale)
    assert set(seen) == on_sale


def test_plans_filter_by_carrier_tag_and_maximum_fee(client):
    cucc = _codes(client.get("/api/v1/plans?carrier=CUCC"))
    assert cucc and all(Plan.objects.get(code=c).carrier.code == "CUCC" for c in cucc)
    cheap = client.get("/api/v1/plans?max_fee=19").json()["items"]
    assert cheap and all(p["monthly_fee_fen"] <= 1900 for p in cheap)
    daily = client.get("/api/v1/plans?tag=daily").json()["items"]
    assert daily and all("daily" in p["tags"] for p in daily)


def test_the_19_yuan_100g_plan_reads_as_sold(client):
    plan = client.get("/api/v1/plans/CU-DAWANG-19").json()
    assert (plan["monthly_fee"], plan["total_data"]) == ("¥19.00", "100G")
    assert plan["general_data_bytes"] == 70 * 1024**3
    assert plan["targeted_data_bytes"] == 30 * 1024**3
    assert "微信" in [g["name"] for g in plan["targeted_groups"]]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("carrier=XX", 422, "unknown_carrier"),
        ("max_fee=abc", 422, "invalid_amount"),
        ("max_fee=-5", 422, "invalid_amount"),
        ("limit=500", 422, "validation_error"),
    ],
)
def test_bad_plan_filters_get_clear_errors(client, query, status, code):
    response = client.get(f"/api/v1/plans?{query}")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_draft_or_unknown_plan_is_not_found(client):
    draft = Plan.objects.filter(status=SaleStatus.DRAFT).first()
    for code in (draft.code, "NO-SUCH-PLAN"):
        response = client.get(f"/api/v1/plans/{code}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "plan_not_found"
