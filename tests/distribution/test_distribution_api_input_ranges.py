"""The distribution API refuses numbers and dates no column holds, and money sent as text or
as a float, with the API's 422 shape (never a 500 from the database); ids in paths too. Run
on PostgreSQL as well: there ``2**63`` is NumericValueOutOfRange, on SQLite OverflowError."""

from __future__ import annotations

import pytest

from haoka.distribution.models import CommissionRule, Withdrawal
from tests.support.distribution import PLAN, make_agent, offer
from tests.support.distribution_api import as_agent, error_code, make_withdrawable, staff

pytestmark = pytest.mark.django_db
HUGE = 2**63


def _refused_as_invalid_input(response, field: str) -> None:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("validation_error", "输入有误")
    assert field in [e["loc"][-1] for e in error["details"]["errors"]]


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_fen": HUGE},
        {"amount_fen": "3000"},
        {"amount_fen": 3000.0},
        {"threshold_fen": HUGE},
        {"months": 121},
        {"valid_from": "9999-12-31T23:59:59+08:00"},
        {"valid_from": "0001-01-01T00:00:00+08:00"},
        {"valid_to": "9999-12-31T00:00:00Z"},
    ],
)
def test_a_staff_rule_with_an_amount_or_date_out_of_range_is_refused_as_invalid_input(
    catalog, api_client, changes
):
    ops = staff(api_client)
    rule = {"plan_code": PLAN, "kind": "ACTIVATION", "amount_fen": 30_00, **changes}
    _refused_as_invalid_input(ops.post("/staff/commission-rules", rule), next(iter(changes)))
    assert not CommissionRule.objects.exists()


def test_a_staff_rule_with_a_rate_given_as_text_is_refused(catalog, api_client):
    ops = staff(api_client)
    rule = {"plan_code": PLAN, "kind": "RECURRING", "rate_bp": "1000", "months": 6}
    _refused_as_invalid_input(ops.post("/staff/commission-rules", rule), "rate_bp")


def test_a_withdrawal_of_money_given_as_text_or_out_of_range_is_refused(catalog, api_client):
    offer()
    agent = make_agent()
    make_withdrawable(agent, sales=2)
    caller = as_agent(api_client, agent)
    for amount in ("2000", 2000.0, True, HUGE, -1):
        refused = caller.post("/agents/me/withdrawals", {"amount_fen": amount})
        _refused_as_invalid_input(refused, "amount_fen")
    assert not Withdrawal.objects.exists()
    assert caller.post("/agents/me/withdrawals", {"amount_fen": 20_00}).status_code == 201


def test_a_shop_markup_or_a_product_margin_out_of_range_is_refused(catalog, api_client):
    offer(max_markup_fen=20_00)
    caller = as_agent(api_client, make_agent())
    items = [{"plan_code": PLAN, "markup_fen": -HUGE}]
    shop = caller.put("/agents/me/shop", {"shop_name": "号卡小店", "items": items})
    _refused_as_invalid_input(shop, "markup_fen")
    product = staff(api_client).put(f"/staff/products/{PLAN}", {"margin_fen": HUGE})
    _refused_as_invalid_input(product, "margin_fen")


def test_a_quiz_answer_out_of_range_is_refused(catalog, api_client):
    caller = as_agent(api_client, make_agent())
    answer = caller.post("/agents/me/courses/basics/quiz", {"answers": [HUGE]})
    _refused_as_invalid_input(answer, "0")


@pytest.mark.parametrize("agent_id", [str(HUGE), str(2**64), "0"])
def test_a_staff_path_id_no_column_holds_is_refused_not_a_server_error(
    catalog, api_client, agent_id
):
    ops = staff(api_client)
    decided = ops.post(f"/staff/agents/{agent_id}/decision", {"approve": True})
    assert (decided.status_code, error_code(decided)) == (422, "validation_error")
    flag = ops.post(f"/staff/fraud-flags/{agent_id}/decision", {"confirmed": True})
    assert (flag.status_code, error_code(flag)) == (422, "validation_error")
