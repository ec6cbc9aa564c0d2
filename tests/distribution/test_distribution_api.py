"""The distribution API end to end over HTTP: applying, the agent's console, the shop and its
poster, withdrawals, training, the public shop and the staff side; each endpoint's happy path
and the way it refuses bad input, callers who are not agents, and anonymous callers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import zxingcpp
from django.conf import settings
from PIL import Image

from haoka.core import clock, ledger, pii
from haoka.distribution import commission, training
from haoka.distribution.models import Agent, CommissionRule, Entry, FraudFlag, Product, Withdrawal
from haoka.payments import payouts
from tests.support.distribution import PLAN, T0, id_number, make_agent, offer, person_name, sell
from tests.support.distribution_api import (
    FakePayouts,
    anonymous,
    as_agent,
    consumer,
    error_code,
    make_withdrawable,
    staff,
)

SERIAL = 9_000


def application(serial: int = SERIAL, **changes) -> dict:
    name = person_name(serial)
    return {
        "real_name": name,
        "id_number": id_number(serial),
        "payee_channel": "BANK",
        "payee_account": "6222021234567890123",
        "payee_name": name,
        "address": {
            "province": "广东",
            "city": "深圳",
            "district": "南山区",
            "detail": "科技园 1 号",
        },
        **changes,
    }


@pytest.fixture
def fake_payouts(monkeypatch):
    fake = FakePayouts()
    monkeypatch.setattr(payouts, "send_payout", fake.send_payout)
    return fake


# ---------------------------------------------------------------- applying


def test_a_consumer_applies_and_the_answer_is_the_status_without_the_id_number(catalog, api_client):
    person = consumer(api_client)
    response = person.post("/agents/apply", application(), **{"X-Device-Id": "dev-123"})
    assert response.status_code == 201
    assert response.json() == {"status": "PENDING", "status_label": "待审核"}
    assert id_number(SERIAL) not in response.content.decode()
    agent = Agent.objects.get(user=person.user)
    assert agent.level == 1 and agent.device_hash == pii.lookup_hash("dev-123", purpose="device")


def test_an_application_with_a_bad_payee_or_missing_fields_is_refused_with_its_code(
    catalog, api_client
):
    person = consumer(api_client)
    bad_channel = person.post("/agents/apply", application(payee_channel="WECHAT"))
    assert (bad_channel.status_code, error_code(bad_channel)) == (422, "agent_payee_invalid")
    other_name = person.post("/agents/apply", application(payee_name="别人"))
    assert (other_name.status_code, error_code(other_name)) == (422, "agent_payee_name_mismatch")
    missing = person.post("/agents/apply", {"real_name": "张三"})
    assert (missing.status_code, error_code(missing)) == (422, "validation_error")
    assert not Agent.objects.filter(user=person.user).exists()


def test_applying_twice_is_a_conflict_and_an_anonymous_caller_must_sign_in(catalog, api_client):
    person = consumer(api_client)
    assert person.post("/agents/apply", application()).status_code == 201
    again = person.post("/agents/apply", application())
    assert (again.status_code, error_code(again)) == (409, "agent_already_applied")
    nobody = anonymous(api_client).post("/agents/apply", application(SERIAL + 1))
    assert (nobody.status_code, error_code(nobody)) == (401, "unauthenticated")


def test_an_applicant_is_told_the_application_is_pending_until_staff_approve_it(
    catalog, api_client
):
    person = consumer(api_client)
    person.post("/agents/apply", application())
    pending = person.get("/agents/me")
    assert (pending.status_code, error_code(pending)) == (403, "not_an_agent")
    assert pending.json()["error"]["details"] == {"application_status": "PENDING"}
    ops = staff(api_client)
    queue = ops.get("/staff/agents?status=PENDING").json()["items"]
    assert [a["name_masked"] for a in queue] == [pii.mask_name(person_name(SERIAL))]
    assert queue[0]["id_number_masked"].startswith("440") and "*" in queue[0]["id_number_masked"]
    decided = ops.post(f"/staff/agents/{queue[0]['id']}/decision", {"approve": True, "note": "ok"})
    assert decided.status_code == 200 and decided.json()["status"] == "APPROVED"
    assert person.get("/agents/me").status_code == 200


# ---------------------------------------------------------------- the console


def test_an_agent_sees_codes_tier_reasons_shop_link_balances_today_and_funnel(
    catalog, api_client, commits
):
    offer()
    agent = make_agent()
    with commits():
        sell(agent)
        sell(agent, activate=False)
    body = as_agent(api_client, agent).get("/agents/me").json()
    assert body["code"] == agent.code and body["invite_code"] == agent.invite_code
    # Scored as the sales happened: 1 of 2 orders activated, no first top-up (-1)
    assert (body["level"], body["status"], body["tier"], body["credit_score"]) == (
        1,
        "APPROVED",
        "C",
        59,
    )
    assert sum(f["points"] for f in body["credit_factors"]) == 59
    assert {"label": "首充率", "points": -1, "detail": "0/1 张卡首充（0%）"} in body[
        "credit_factors"
    ]
    assert body["credit_factors"][0] == {
        "label": "基础分",
        "points": 60,
        "detail": "每位代理的起始分",
    }
    assert body["shop_url"] == f"{settings.PUBLIC_BASE_URL}/s/{agent.code}"
    assert body["balances"]["pending_fen"] == 30_00 + 20_00  # 秒返 and 次月返
    assert body["balances"]["pending"] == "¥50.00" and body["balances"]["withdrawable_fen"] == 0
    assert body["today"] == {
        "orders": 2,
        "activated": 1,
        "commission_fen": 50_00,
        "commission": "¥50.00",
    }
    assert body["funnel"] == {"orders": 2, "shipped": 1, "activated": 1, "first_topup": 0}
    assert body["parent_code"] is None


def test_a_sub_agent_has_a_parent_code_and_no_invite_code(catalog, api_client):
    parent = make_agent()
    child = make_agent(parent=parent)
    body = as_agent(api_client, child).get("/agents/me").json()
    assert (body["level"], body["invite_code"], body["parent_code"]) == (2, None, parent.code)


def test_the_agents_orders_come_newest_first_a_page_at_a_time(catalog, api_client, commits):
    offer()
    agent = make_agent()
    refs = []
    for hours in range(3):
        with clock.frozen(T0 + dt.timedelta(hours=hours)), commits():
            refs.append(sell(agent, now=T0 + dt.timedelta(hours=hours))[0])
    caller = as_agent(api_client, agent)
    first = caller.get("/agents/me/orders?limit=2").json()
    assert [o["order_ref"] for o in first["items"]] == [refs[2], refs[1]]
    assert first["items"][0]["earned_fen"] == 50_00 and first["items"][0]["earned"] == "¥50.00"
    assert first["items"][0]["status"] == "ACTIVATED" and first["items"][0]["status_label"]
    second = caller.get(f"/agents/me/orders?limit=2&after={first['next']}").json()
    assert [o["order_ref"] for o in second["items"]] == [refs[0]] and second["next"] is None
    bad = caller.get("/agents/me/orders?after=not-a-cursor")
    assert (bad.status_code, error_code(bad)) == (422, "invalid_cursor")
    too_many = caller.get("/agents/me/orders?limit=1000")
    assert (too_many.status_code, error_code(too_many)) == (422, "validation_error")


def test_the_ledger_lists_entries_with_labels_and_filters_by_status_without_keys(
    catalog, api_client, commits
):
    offer()
    agent = make_agent()
    with commits():
        ref, _ = sell(agent)
    commission.settle_due(now=T0 + dt.timedelta(days=16))
    caller = as_agent(api_client, agent)
    items = caller.get("/agents/me/ledger").json()["items"]
    assert {(e["kind"], e["status"]) for e in items} == {
        ("ACTIVATION", "SETTLED"),
        ("NEXT_MONTH", "PENDING"),
    }
    settled = caller.get("/agents/me/ledger?status=SETTLED").json()["items"]
    assert len(settled) == 1
    entry = settled[0]
    assert (entry["kind_label"], entry["status_label"], entry["order_ref"]) == (
        "激活秒返",
        "已结算",
        ref,
    )
    assert (entry["amount_fen"], entry["amount"]) == (30_00, "¥30.00")
    assert entry["withdrawable_at"] and entry["settled_at"] and "key" not in entry
    bad = caller.get("/agents/me/ledger?status=PAID")
    assert (bad.status_code, error_code(bad)) == (422, "validation_error")
    paged = caller.get("/agents/me/ledger?limit=1").json()
    assert len(paged["items"]) == 1 and paged["next"]


def test_a_parent_sees_the_team_masked_with_sales_and_team_rewards(catalog, api_client, commits):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        sell(child)
    team = as_agent(api_client, parent).get("/agents/me/team").json()
    assert team["next"] is None
    (member,) = team["items"]
    assert member["code"] == child.code and member["name_masked"] == pii.mask_name(child.real_name)
    assert (member["sales_month"], member["activated_total"], member["override_fen"]) == (
        1,
        1,
        10_00,
    )
    assert as_agent(api_client, child).get("/agents/me/team").json()["items"] == []


# ---------------------------------------------------------------- the shop


def test_an_agent_sets_up_the_shop_and_the_public_sees_its_prices(catalog, api_client):
    offer()
    offer("CM-SHANGLV-58", max_markup_fen=50_00)
    agent = make_agent()
    caller = as_agent(api_client, agent)
    before = caller.get("/agents/me/shop").json()
    assert {p["plan_code"] for p in before["products"]} == {PLAN, "CM-SHANGLV-58"}
    assert all(p["allowed"] and not p["in_shop"] for p in before["products"])
    body = {
        "shop_name": "小王号卡店",
        "shop_intro": "正规渠道，包邮到家",
        "items": [
            {"plan_code": "CM-SHANGLV-58", "markup_fen": 10_00},
            {"plan_code": PLAN, "markup_fen": 0},
        ],
    }
    saved = caller.put("/agents/me/shop", body)
    assert saved.status_code == 200 and saved.json()["shop_name"] == "小王号卡店"
    shop = anonymous(api_client).get(f"/shops/{agent.code}").json()
    assert (shop["name"], shop["intro"]) == ("小王号卡店", "正规渠道，包邮到家")
    assert shop["agent_masked"] == pii.mask_name(agent.real_name)
    assert [(i["plan_code"], i["price_fen"], i["price"]) for i in shop["items"]] == [
        ("CM-SHANGLV-58", 110_00, "¥110.00"),  # ¥100 first top-up + ¥10 markup
        (PLAN, 0, "¥0.00"),
    ]
    assert shop["items"][1]["monthly_fee"] == "¥39.00" and shop["items"][1]["carrier"] == "CMCC"


def test_a_shop_with_a_bad_name_an_unknown_plan_or_a_markup_too_high_is_refused(
    catalog, api_client
):
    offer(max_markup_fen=20_00)
    caller = as_agent(api_client, make_agent())

    def put(items, name="小王号卡店"):
        return caller.put("/agents/me/shop", {"shop_name": name, "items": items})

    short = put([], name="王")
    assert (short.status_code, error_code(short)) == (422, "validation_error")
    unknown = put([{"plan_code": "NO-SUCH-PLAN", "markup_fen": 0}])
    assert (unknown.status_code, error_code(unknown)) == (404, "product_not_found")
    high = put([{"plan_code": PLAN, "markup_fen": 20_01}])
    assert (high.status_code, error_code(high)) == (422, "shop_markup_out_of_range")
    not_int = put([{"plan_code": PLAN, "markup_fen": "lots"}])
    assert (not_int.status_code, error_code(not_int)) == (422, "validation_error")


def test_an_unknown_shop_is_not_found(catalog, api_client):
    response = anonymous(api_client).get("/shops/A0000000")
    assert (response.status_code, error_code(response)) == (404, "shop_not_found")


def test_the_poster_is_a_png_whose_qr_code_opens_the_shop(catalog, api_client):
    offer()
    agent = make_agent()
    caller = as_agent(api_client, agent)
    caller.put("/agents/me/shop", {"shop_name": "小王号卡店", "items": [{"plan_code": PLAN}]})
    response = caller.get("/agents/me/poster.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (750, 1334)
    shop_url = f"{settings.PUBLIC_BASE_URL}/s/{agent.code}"
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [shop_url]


# ---------------------------------------------------------------- withdrawals


def test_an_agent_withdraws_once_per_idempotency_key_and_sees_the_withdrawal(catalog, api_client):
    offer()
    agent = make_agent()
    assert make_withdrawable(agent, sales=2) == 60_00
    caller = as_agent(api_client, agent)
    first = caller.post(
        "/agents/me/withdrawals", {"amount_fen": 50_00}, **{"Idempotency-Key": "w1"}
    )
    again = caller.post(
        "/agents/me/withdrawals", {"amount_fen": 50_00}, **{"Idempotency-Key": "w1"}
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    body = first.json()
    assert (body["amount"], body["fee_fen"], body["net_fen"], body["status"]) == (
        "¥50.00",
        1_00,
        49_00,
        "REQUESTED",
    )
    assert body["payee_account_masked"] == pii.mask_id_number(agent.payee_account)
    assert agent.payee_account not in first.content.decode()
    assert Withdrawal.objects.filter(agent=agent).count() == 1
    listed = caller.get("/agents/me/withdrawals").json()
    assert [w["ref"] for w in listed["items"]] == [body["ref"]] and listed["next"] is None
    assert caller.get("/agents/me").json()["balances"]["withdrawable_fen"] == 10_00
    assert ledger.trial_balance_fen() == 0


def test_a_withdrawal_too_small_too_large_or_while_one_is_open_is_refused(catalog, api_client):
    offer()
    agent = make_agent()
    make_withdrawable(agent, sales=2)
    caller = as_agent(api_client, agent)
    small = caller.post("/agents/me/withdrawals", {"amount_fen": 9_99})
    assert (small.status_code, error_code(small)) == (422, "withdrawal_too_small")
    large = caller.post("/agents/me/withdrawals", {"amount_fen": 60_01})
    assert (large.status_code, error_code(large)) == (409, "withdrawal_exceeds_balance")
    text = caller.post("/agents/me/withdrawals", {"amount_fen": "all"})
    assert (text.status_code, error_code(text)) == (422, "validation_error")
    assert caller.post("/agents/me/withdrawals", {"amount_fen": 20_00}).status_code == 201
    open_one = caller.post("/agents/me/withdrawals", {"amount_fen": 20_00})
    assert (open_one.status_code, error_code(open_one)) == (409, "withdrawal_in_flight")


def test_withdrawals_page_newest_first(catalog, api_client, fake_payouts):
    offer()
    agent = make_agent()
    make_withdrawable(agent, sales=3)
    caller, ops = as_agent(api_client, agent), staff(api_client)
    refs = []
    for hours in range(3):
        with clock.frozen(T0 + dt.timedelta(hours=hours)):
            ref = caller.post("/agents/me/withdrawals", {"amount_fen": 10_00}).json()["ref"]
            ops.post(f"/staff/withdrawals/{ref}/decision", {"approve": False, "note": "测试"})
        refs.append(ref)
    first = caller.get("/agents/me/withdrawals?limit=2").json()
    assert [w["ref"] for w in first["items"]] == [refs[2], refs[1]]
    rest = caller.get(f"/agents/me/withdrawals?limit=2&after={first['next']}").json()
    assert [w["ref"] for w in rest["items"]] == [refs[0]]


# ---------------------------------------------------------------- training


def test_an_agent_reads_a_course_without_answers_and_passes_its_quiz(catalog, api_client):
    training.seed_training()
    caller = as_agent(api_client, make_agent())
    courses = caller.get("/agents/me/courses").json()
    assert [c["code"] for c in courses["items"]] == ["basics", "vanity"]
    assert courses["items"][0]["passed"] is False and courses["items"][0]["best_percent"] is None
    course = caller.get("/agents/me/courses/basics")
    assert course.status_code == 200 and "answer" not in course.content.decode()
    assert len(course.json()["questions"]) == 5 and course.json()["content"]
    answers = [q[2] for q in training.COURSES[0]["questions"]]
    result = caller.post("/agents/me/courses/basics/quiz", {"answers": answers})
    assert result.status_code == 201
    assert (result.json()["score_percent"], result.json()["passed"]) == (100, True)
    listed = caller.get("/agents/me/courses").json()["items"][0]
    assert (listed["passed"], listed["best_percent"]) == (True, 100)


def test_a_quiz_with_wrong_answers_fails_and_bad_answers_or_courses_are_refused(
    catalog, api_client
):
    training.seed_training()
    caller = as_agent(api_client, make_agent())
    failed = caller.post("/agents/me/courses/basics/quiz", {"answers": [3, 3, 3, 3, 3]})
    assert failed.status_code == 201 and failed.json()["passed"] is False
    short = caller.post("/agents/me/courses/basics/quiz", {"answers": [1]})
    assert (short.status_code, error_code(short)) == (422, "quiz_answers_invalid")
    words = caller.post("/agents/me/courses/basics/quiz", {"answers": ["b"]})
    assert (words.status_code, error_code(words)) == (422, "validation_error")
    unknown = caller.get("/agents/me/courses/nope")
    assert (unknown.status_code, error_code(unknown)) == (404, "course_not_found")


# ---------------------------------------------------------------- not an agent, not signed in

AGENT_ENDPOINTS = [
    ("get", "/agents/me", None),
    ("get", "/agents/me/orders", None),
    ("get", "/agents/me/ledger", None),
    ("get", "/agents/me/team", None),
    ("get", "/agents/me/shop", None),
    ("put", "/agents/me/shop", {"shop_name": "小店名称", "items": []}),
    ("get", "/agents/me/poster.png", None),
    ("get", "/agents/me/withdrawals", None),
    ("post", "/agents/me/withdrawals", {"amount_fen": 10_00}),
    ("get", "/agents/me/courses", None),
    ("get", "/agents/me/courses/basics", None),
    ("post", "/agents/me/courses/basics/quiz", {"answers": [1, 0, 1, 2, 2]}),
]


@pytest.mark.parametrize(("method", "path", "body"), AGENT_ENDPOINTS)
def test_every_agent_endpoint_refuses_a_consumer_and_an_anonymous_caller(
    catalog, api_client, method, path, body
):
    training.seed_training()
    as_consumer = consumer(api_client).call(method, path, body)
    assert (as_consumer.status_code, error_code(as_consumer)) == (403, "not_an_agent")
    as_nobody = anonymous(api_client).call(method, path, body)
    assert (as_nobody.status_code, error_code(as_nobody)) == (401, "unauthenticated")


# ---------------------------------------------------------------- staff


def test_staff_reject_and_freeze_agents_and_list_them_by_status(catalog, api_client):
    ops = staff(api_client)
    applicant = consumer(api_client)
    applicant.post("/agents/apply", application())
    pending = Agent.objects.get(user=applicant.user)
    rejected = ops.post(
        f"/staff/agents/{pending.pk}/decision", {"approve": False, "note": "资料不全"}
    )
    assert rejected.json()["status"] == "REJECTED" and rejected.json()["code"] is None
    agent = make_agent()
    frozen = ops.post(f"/staff/agents/{agent.pk}/freeze", {"frozen": True, "reason": "投诉核查"})
    assert frozen.json()["status"] == "FROZEN"
    listed = ops.get("/staff/agents?status=FROZEN").json()["items"]
    assert [a["code"] for a in listed] == [agent.code]
    approved_again = ops.post(f"/staff/agents/{agent.pk}/decision", {"approve": True})
    assert (approved_again.status_code, error_code(approved_again)) == (409, "illegal_transition")
    agent.refresh_from_db()
    assert (agent.status, agent.code) == ("FROZEN", listed[0]["code"])  # same codes kept
    assert (
        ops.post(
            f"/staff/agents/{agent.pk}/freeze", {"frozen": False, "reason": "核查无误"}
        ).json()["status"]
        == "APPROVED"
    )
    twice = ops.post(f"/staff/agents/{agent.pk}/decision", {"approve": True})
    assert (twice.status_code, error_code(twice)) == (409, "illegal_transition")
    missing = ops.post("/staff/agents/999999/decision", {"approve": True})
    assert (missing.status_code, error_code(missing)) == (404, "agent_not_found")
    no_reason = ops.post(f"/staff/agents/{agent.pk}/freeze", {"frozen": True, "reason": ""})
    assert (no_reason.status_code, error_code(no_reason)) == (422, "validation_error")
    bad = ops.get("/staff/agents?status=ALIVE")
    assert (bad.status_code, error_code(bad)) == (422, "validation_error")


def test_staff_add_commission_rules_and_an_invalid_one_is_refused(catalog, api_client):
    ops = staff(api_client)
    rule = {"plan_code": PLAN, "kind": "ACTIVATION", "amount_fen": 30_00}
    created = ops.post("/staff/commission-rules", rule)
    assert created.status_code == 201
    assert (created.json()["kind_label"], created.json()["tier"]) == ("激活秒返", "")
    pyramid = ops.post("/staff/commission-rules", {"kind": "RECRUIT", "amount_fen": 100_00})
    assert (pyramid.status_code, error_code(pyramid)) == (422, "commission_rule_invalid")
    rate = ops.post("/staff/commission-rules", {"kind": "RECURRING", "rate_bp": 1000})
    assert (rate.status_code, error_code(rate)) == (422, "commission_rule_invalid")
    naive = ops.post("/staff/commission-rules", {**rule, "valid_from": "2026-03-01T00:00:00"})
    assert (naive.status_code, error_code(naive)) == (422, "validation_error")
    assert CommissionRule.objects.count() == 1
    listed = ops.get("/staff/commission-rules?limit=1").json()
    assert [r["id"] for r in listed["items"]] == [created.json()["id"]] and listed["next"] is None


def test_staff_offer_a_plan_to_agents_with_its_margin_markup_tier_and_course(catalog, api_client):
    training.seed_training()
    ops = staff(api_client)
    body = {"margin_fen": 80_00, "max_markup_fen": 30_00, "min_tier": "B", "course_code": "basics"}
    saved = ops.put(f"/staff/products/{PLAN}", body)
    assert saved.status_code == 200
    assert saved.json() == {
        "plan_code": PLAN,
        "enabled": True,
        "margin_fen": 80_00,
        "margin": "¥80.00",
        "max_markup_fen": 30_00,
        "max_markup": "¥30.00",
        "min_tier": "B",
        "course_code": "basics",
    }
    product = Product.objects.get(plan_code=PLAN)
    assert (product.min_tier, product.course.code) == ("B", "basics")
    unknown = ops.put("/staff/products/NO-PLAN", body)
    assert (unknown.status_code, error_code(unknown)) == (404, "plan_not_found")
    tier = ops.put(f"/staff/products/{PLAN}", {**body, "min_tier": "E"})
    assert (tier.status_code, error_code(tier)) == (422, "validation_error")
    course = ops.put(f"/staff/products/{PLAN}", {**body, "course_code": "nope"})
    assert (course.status_code, error_code(course)) == (404, "course_not_found")
    negative = ops.put(f"/staff/products/{PLAN}", {**body, "margin_fen": -1})
    assert (negative.status_code, error_code(negative)) == (422, "validation_error")


def test_staff_approve_a_withdrawal_and_it_is_paid(catalog, api_client, fake_payouts):
    offer()
    agent = make_agent()
    make_withdrawable(agent)
    ref = (
        as_agent(api_client, agent)
        .post("/agents/me/withdrawals", {"amount_fen": 30_00})
        .json()["ref"]
    )
    ops = staff(api_client)
    queue = ops.get("/staff/withdrawals?status=REQUESTED").json()["items"]
    assert [(w["ref"], w["agent_code"]) for w in queue] == [(ref, agent.code)]
    assert queue[0]["payee_name_masked"] == pii.mask_name(agent.real_name)
    paid = ops.post(f"/staff/withdrawals/{ref}/decision", {"approve": True, "note": "ok"})
    assert paid.status_code == 200 and paid.json()["status"] == "PAID"
    assert fake_payouts.sent == [ref]
    twice = ops.post(f"/staff/withdrawals/{ref}/decision", {"approve": True})
    assert (twice.status_code, error_code(twice)) == (409, "withdrawal_already_decided")
    missing = ops.post("/staff/withdrawals/WDNOPE/decision", {"approve": True})
    assert (missing.status_code, error_code(missing)) == (404, "withdrawal_not_found")
    bad = ops.get("/staff/withdrawals?status=LOST")
    assert (bad.status_code, error_code(bad)) == (422, "validation_error")
    assert ledger.trial_balance_fen() == 0


def test_staff_confirm_a_fraud_flag_and_the_agent_is_frozen(catalog, api_client, commits):
    offer()
    agent = make_agent(device_id="phone-of-the-agent")
    with commits():
        ref, _ = sell(agent, device_id="phone-of-the-agent")
    ops = staff(api_client)
    flags = ops.get("/staff/fraud-flags?status=OPEN").json()["items"]
    assert [(f["kind"], f["order_ref"], f["agent_code"]) for f in flags] == [
        ("SELF_DEVICE", ref, agent.code)
    ]
    decided = ops.post(f"/staff/fraud-flags/{flags[0]['id']}/decision", {"confirmed": True})
    assert decided.status_code == 200 and decided.json()["status"] == "CONFIRMED"
    agent.refresh_from_db()
    assert agent.status == "FROZEN"
    assert set(Entry.objects.filter(agent=agent).values_list("status", flat=True)) == {
        "CLAWED_BACK"
    }
    twice = ops.post(f"/staff/fraud-flags/{flags[0]['id']}/decision", {"confirmed": False})
    assert (twice.status_code, error_code(twice)) == (409, "fraud_flag_decided")
    missing = ops.post("/staff/fraud-flags/999999/decision", {"confirmed": True})
    assert (missing.status_code, error_code(missing)) == (404, "fraud_flag_not_found")
    assert FraudFlag.objects.get().decided_by == ops.user


def test_the_staff_sweep_turns_waiting_facts_into_commission_and_settles_what_is_due(
    catalog, api_client
):
    offer()
    agent = make_agent()
    sell(agent)  # no commit: the fact waits in the inbox for the sweep
    ops = staff(api_client)
    assert not Entry.objects.exists()
    assert ops.post("/staff/distribution/sweep").json() == {
        "processed": 1,  # one fact (the activation), two entries
        "settled": 0,
        "clawed_back": 0,
        "released": 0,
    }
    with clock.frozen(T0 + dt.timedelta(days=16), all_threads=True):
        assert ops.post("/staff/distribution/sweep").json()["settled"] == 1
    assert Entry.objects.get(kind="ACTIVATION").status == "SETTLED"
    assert Entry.objects.count() == 2


STAFF_ENDPOINTS = [
    ("get", "/staff/agents", None),
    ("post", "/staff/agents/1/decision", {"approve": True}),
    ("post", "/staff/agents/1/freeze", {"frozen": True, "reason": "x"}),
    ("get", "/staff/commission-rules", None),
    ("post", "/staff/commission-rules", {"kind": "ACTIVATION", "amount_fen": 1}),
    ("put", f"/staff/products/{PLAN}", {"margin_fen": 1}),
    ("get", "/staff/withdrawals", None),
    ("post", "/staff/withdrawals/WD1/decision", {"approve": True}),
    ("get", "/staff/fraud-flags", None),
    ("post", "/staff/fraud-flags/1/decision", {"confirmed": True}),
    ("post", "/staff/distribution/sweep", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
def test_every_staff_endpoint_needs_a_signed_in_caller(catalog, api_client, method, path, body):
    response = anonymous(api_client).call(method, path, body)
    assert (response.status_code, error_code(response)) == (401, "unauthenticated")
