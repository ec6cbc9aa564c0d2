"""Trying to break into the distribution API: another agent's orders, ledger, withdrawals, team
and shop by any endpoint (guessed refs and ids, forged cursors, borrowed idempotency keys);
customer data in agent responses (asserted on the raw JSON); consumers, sub-agents, frozen
agents and agents on staff endpoints; the two-level limit; markups above the allowed maximum."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts.models import Role, User
from haoka.core import pagination, pii
from haoka.distribution import commission, domain, withdrawals
from haoka.distribution.models import (
    Agent,
    CommissionRule,
    FraudFlag,
    Product,
    Sale,
    Withdrawal,
)
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from haoka.payments import payouts
from tests.support.distribution import PLAN, T0, id_number, make_agent, make_user, offer, sell
from tests.support.distribution_api import (
    FakePayouts,
    anonymous,
    as_agent,
    consumer,
    error_code,
    login,
    make_withdrawable,
    staff,
)

AGENT_READS = [
    "/agents/me",
    "/agents/me/orders",
    "/agents/me/ledger",
    "/agents/me/team",
    "/agents/me/shop",
    "/agents/me/withdrawals",
]
CUSTOMER_NAME = "欧阳娜娜"
CUSTOMER_SERIAL = 7_777
MSISDN = "13912340001"
STREET = "科技园南区 8 栋 1203 室"


@pytest.fixture
def pool(catalog):
    number_ops.ensure_default_tier_prices()
    rows = [importer.Row(line=1, msisdn=MSISDN, carrier="CMCC", price="0")]
    importer.import_rows(rows=rows, source="test")


def everything_an_agent_reads(caller) -> str:
    """The raw JSON of every agent read, one string."""
    bodies = []
    for path in AGENT_READS:
        response = caller.get(path)
        assert response.status_code == 200, (path, response.content)
        bodies.append(response.content.decode())
    return "\n".join(bodies)


def buy_through(client, agent: Agent) -> tuple[str, object]:
    """A real customer orders a number through the agent's code and passes the real-name
    check, over the API. Returns (order ref, the buyer)."""
    buyer = login(client, make_user())
    assert buyer.post(f"/numbers/{MSISDN}/reserve").status_code == 201
    address = {"province": "广东", "city": "深圳", "district": "南山区", "detail": STREET}
    order = buyer.post(
        "/orders",
        {
            "plan_code": PLAN,
            "msisdn": MSISDN,
            "contact_phone": buyer.user.phone,
            "shipping_address": {**address, "receiver": CUSTOMER_NAME, "phone": buyer.user.phone},
            "ref": agent.code,
        },
    )
    assert order.status_code == 201, order.content
    ref = order.json()["ref"]
    kyc = buyer.post(
        f"/orders/{ref}/kyc", {"name": CUSTOMER_NAME, "id_number": id_number(CUSTOMER_SERIAL)}
    )
    assert kyc.status_code == 200 and kyc.json()["state"] == "KYC_PASSED", kyc.content
    return ref, buyer


# ---------------------------------------------------------------- agent against agent


def test_agent_a_never_sees_agent_bs_orders_ledger_withdrawals_team_or_shop(
    catalog, api_client, commits
):
    offer()
    a, b = make_agent(), make_agent()
    b_child = make_agent(parent=b)
    with commits():
        a_ref, _ = sell(a)
        b_refs = [sell(b)[0], sell(b_child)[0]]
    make_withdrawable(b)
    caller_b = as_agent(api_client, b)
    caller_b.put("/agents/me/shop", {"shop_name": "乙的秘密小店", "items": [{"plan_code": PLAN}]})
    b_withdrawal = caller_b.post("/agents/me/withdrawals", {"amount_fen": 20_00}).json()["ref"]
    seen_by_a = everything_an_agent_reads(as_agent(api_client, a))
    assert a_ref in seen_by_a
    for secret in (*b_refs, b_withdrawal, b.code, b_child.code, b.invite_code, "乙的秘密小店"):
        assert secret not in seen_by_a


def test_a_forged_cursor_moves_through_the_callers_own_rows_only(catalog, api_client, commits):
    offer()
    a, b = make_agent(), make_agent()
    with commits():
        a_ref, _ = sell(a, now=T0 - dt.timedelta(days=1))
        b_refs = [sell(b)[0] for _ in range(3)]
    caller = as_agent(api_client, a)
    newest_b = Sale.objects.get(order_ref=b_refs[-1])
    forged = [
        pagination.encode([(T0 + dt.timedelta(days=1)).isoformat(), 10**9]),  # before everything
        pagination.encode([newest_b.created_at.isoformat(), newest_b.pk]),  # just after B's row
    ]
    for cursor in forged:
        for path in ("/agents/me/orders", "/agents/me/ledger", "/agents/me/withdrawals"):
            body = caller.get(f"{path}?after={cursor}").content.decode()
            assert not any(ref in body for ref in b_refs), path
        orders = caller.get(f"/agents/me/orders?after={cursor}").json()["items"]
        assert [o["order_ref"] for o in orders] == [a_ref]
    for junk in ("W10=", pagination.encode(["x", "y"]), pagination.encode([1, 2, 3]), "%%%"):
        response = caller.get(f"/agents/me/orders?after={junk}")
        assert (response.status_code, error_code(response)) == (422, "invalid_cursor"), junk


def test_an_agent_cannot_decide_or_read_withdrawals_by_guessing_their_refs(
    catalog, api_client, monkeypatch
):
    monkeypatch.setattr(payouts, "send_payout", FakePayouts().send_payout)
    offer()
    a, b = make_agent(), make_agent()
    make_withdrawable(a)
    make_withdrawable(b)
    b_ref = (
        as_agent(api_client, b).post("/agents/me/withdrawals", {"amount_fen": 20_00}).json()["ref"]
    )
    caller = as_agent(api_client, a)
    for path in (f"/agents/me/withdrawals/{b_ref}", f"/withdrawals/{b_ref}"):
        assert caller.get(path).status_code == 404
    approve = caller.post(f"/staff/withdrawals/{b_ref}/decision", {"approve": True})
    assert (approve.status_code, error_code(approve)) == (403, "permission_denied")
    assert Withdrawal.objects.get(ref=b_ref).status == "REQUESTED"


def test_an_idempotency_key_of_another_agent_replays_nothing_of_theirs(catalog, api_client):
    offer()
    a, b = make_agent(), make_agent()
    make_withdrawable(a)
    make_withdrawable(b)
    key = {"Idempotency-Key": "same-key"}
    first = as_agent(api_client, a).post("/agents/me/withdrawals", {"amount_fen": 20_00}, **key)
    second = as_agent(api_client, b).post("/agents/me/withdrawals", {"amount_fen": 20_00}, **key)
    assert first.status_code == second.status_code == 201
    assert first.json()["ref"] != second.json()["ref"]
    assert "Idempotent-Replayed" not in second
    assert Withdrawal.objects.get(ref=second.json()["ref"]).agent == b


def test_an_agent_changes_only_its_own_shop_whatever_the_body_says(catalog, api_client):
    offer()
    a, b = make_agent(), make_agent()
    as_agent(api_client, b).put("/agents/me/shop", {"shop_name": "乙的小店", "items": []})
    body = {"shop_name": "甲改的名字", "items": [], "code": b.code, "agent_id": b.pk}
    assert as_agent(api_client, a).put("/agents/me/shop", body).status_code == 200
    b.refresh_from_db()
    a.refresh_from_db()
    assert (a.shop_name, b.shop_name) == ("甲改的名字", "乙的小店")


# ---------------------------------------------------------------- customer data


def test_no_agent_response_carries_the_customers_number_name_id_or_address(
    pool, api_client, commits
):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        sell(child)  # commission on the books too, so the ledger and team have rows
    ref, buyer = buy_through(api_client, child)
    for agent in (child, parent):
        seen = everything_an_agent_reads(as_agent(api_client, agent))
        for secret in (
            MSISDN,
            buyer.user.phone,
            CUSTOMER_NAME,
            CUSTOMER_NAME[:2],
            id_number(CUSTOMER_SERIAL),
            id_number(CUSTOMER_SERIAL)[-6:],
            STREET,
            "科技园",
            "南山区",
        ):
            assert secret not in seen, (agent.code, secret)
    (sale,) = [
        o
        for o in as_agent(api_client, child).get("/agents/me/orders").json()["items"]
        if o["order_ref"] == ref
    ]
    assert (sale["msisdn_masked"], sale["customer_masked"]) == ("139****0001", "欧**娜")


def test_the_public_shop_and_the_poster_show_the_agent_masked(catalog, api_client):
    offer()
    agent = make_agent()
    caller = as_agent(api_client, agent)
    caller.put("/agents/me/shop", {"shop_name": "号卡小店", "items": [{"plan_code": PLAN}]})
    shop = anonymous(api_client).get(f"/shops/{agent.code}").content.decode()
    assert agent.real_name not in shop and agent.id_number not in shop
    assert agent.payee_account not in shop and agent.invite_code not in shop
    seen = everything_an_agent_reads(caller)
    assert agent.id_number not in seen and agent.payee_account not in seen


def test_applying_never_echoes_or_logs_the_id_number(catalog, api_client, caplog):
    person = consumer(api_client)
    name = "张三丰"
    body = {
        "real_name": name,
        "id_number": id_number(4242),
        "payee_channel": "ALIPAY",
        "payee_account": "zhang@example.com",
        "payee_name": name,
    }
    response = person.post("/agents/apply", body)
    assert response.status_code == 201
    assert id_number(4242) not in response.content.decode()
    assert id_number(4242) not in caplog.text
    wrong = person.post("/agents/apply", {**body, "payee_name": "李四"})
    assert id_number(4242) not in wrong.content.decode()


# ---------------------------------------------------------------- who is an agent


def test_a_consumer_pending_or_rejected_applicant_is_not_an_agent(catalog, api_client):
    ops = staff(api_client)
    applicant = consumer(api_client)
    application = {
        "real_name": "王小明",
        "id_number": id_number(4343),
        "payee_channel": "ALIPAY",
        "payee_account": "wang@example.com",
        "payee_name": "王小明",
    }
    for step in ("consumer", "pending", "rejected"):
        if step == "pending":
            assert applicant.post("/agents/apply", application).status_code == 201
        if step == "rejected":
            pending = Agent.objects.get(user=applicant.user)
            ops.post(f"/staff/agents/{pending.pk}/decision", {"approve": False, "note": "不符"})
        for path in AGENT_READS:
            response = applicant.get(path)
            assert (response.status_code, error_code(response)) == (403, "not_an_agent"), step


def test_a_sub_agent_cannot_see_its_parents_data_and_the_parent_sees_a_masked_summary(
    catalog, api_client, commits
):
    offer()
    parent = make_agent()
    child = make_agent(parent=parent)
    with commits():
        parent_ref, _ = sell(parent)
        child_ref, _ = sell(child)
    make_withdrawable(parent)
    parent_withdrawal = (
        as_agent(api_client, parent)
        .post("/agents/me/withdrawals", {"amount_fen": 20_00})
        .json()["ref"]
    )
    seen_by_child = everything_an_agent_reads(as_agent(api_client, child))
    assert child_ref in seen_by_child
    for secret in (parent_ref, parent_withdrawal, parent.invite_code, "团队奖励", "OVERRIDE"):
        assert secret not in seen_by_child
    assert parent.code in seen_by_child  # its parent's code, and nothing more of the parent
    parent_caller = as_agent(api_client, parent)
    parent_orders = parent_caller.get("/agents/me/orders").json()["items"]
    refs = [o["order_ref"] for o in parent_orders]
    assert parent_ref in refs and child_ref not in refs  # its own sales only
    (member,) = parent_caller.get("/agents/me/team").json()["items"]
    assert set(member) == {
        "code",
        "name_masked",
        "status",
        "status_label",
        "tier",
        "joined_at",
        "sales_month",
        "activated_total",
        "override_fen",
        "override",
    }
    team = parent_caller.get("/agents/me/team").content.decode()
    assert child.real_name not in team and child.id_number not in team
    assert child.payee_account not in team


# ---------------------------------------------------------------- staff endpoints

STAFF_CALLS = [
    ("get", "/staff/agents", None),
    ("post", "/staff/agents/{agent}/decision", {"approve": True}),
    ("post", "/staff/agents/{agent}/freeze", {"frozen": True, "reason": "自己冻结自己"}),
    ("get", "/staff/commission-rules", None),
    ("post", "/staff/commission-rules", {"kind": "ACTIVATION", "amount_fen": 999_00}),
    ("put", f"/staff/products/{PLAN}", {"margin_fen": 999_00, "max_markup_fen": 200_00}),
    ("get", "/staff/withdrawals", None),
    ("post", "/staff/withdrawals/WDX/decision", {"approve": True}),
    ("get", "/staff/fraud-flags", None),
    ("post", "/staff/fraud-flags/1/decision", {"confirmed": False}),
    ("post", "/staff/distribution/sweep", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_CALLS)
def test_staff_endpoints_refuse_agents_and_consumers(catalog, api_client, method, path, body):
    offer()
    agent = make_agent()
    before = (CommissionRule.objects.count(), Product.objects.get(plan_code=PLAN).margin_fen)
    for caller in (as_agent(api_client, agent), consumer(api_client)):
        response = caller.call(method, path.format(agent=agent.pk), body)
        assert (response.status_code, error_code(response)) == (403, "permission_denied")
    agent.refresh_from_db()
    assert agent.status == "APPROVED"
    after = (CommissionRule.objects.count(), Product.objects.get(plan_code=PLAN).margin_fen)
    assert after == before


# ---------------------------------------------------------------- frozen agents


def test_a_frozen_agent_cannot_withdraw_change_the_shop_or_share_it(catalog, api_client):
    offer()
    agent = make_agent()
    make_withdrawable(agent)
    caller = as_agent(api_client, agent)
    caller.put("/agents/me/shop", {"shop_name": "号卡小店", "items": [{"plan_code": PLAN}]})
    staff(api_client).post(f"/staff/agents/{agent.pk}/freeze", {"frozen": True, "reason": "核查"})
    withdraw = caller.post("/agents/me/withdrawals", {"amount_fen": 20_00})
    assert (withdraw.status_code, error_code(withdraw)) == (403, "agent_not_active")
    shop = caller.put("/agents/me/shop", {"shop_name": "换个名字", "items": []})
    assert (shop.status_code, error_code(shop)) == (403, "agent_not_active")
    poster = caller.get("/agents/me/poster.png")
    assert (poster.status_code, error_code(poster)) == (403, "agent_not_active")
    public = anonymous(api_client).get(f"/shops/{agent.code}")
    assert (public.status_code, error_code(public)) == (404, "shop_not_found")
    assert caller.get("/agents/me").json()["status"] == "FROZEN"  # may still look
    assert not Withdrawal.objects.exists()
    agent.refresh_from_db()
    assert agent.shop_name == "号卡小店"


# ---------------------------------------------------------------- two levels, markups


def test_a_sub_agents_codes_recruit_nobody(catalog, api_client):
    parent = make_agent()
    child = make_agent(parent=parent)
    assert as_agent(api_client, child).get("/agents/me").json()["invite_code"] is None
    name = "赵六一"
    application = {
        "real_name": name,
        "id_number": id_number(4444),
        "payee_channel": "ALIPAY",
        "payee_account": "zhao@example.com",
        "payee_name": name,
    }
    recruit = consumer(api_client)
    for code in (child.code, child.code.lower(), parent.code):
        refused = recruit.post("/agents/apply", {**application, "invite_code": code})
        assert (refused.status_code, error_code(refused)) == (422, "agent_invite_invalid"), code
    assert not Agent.objects.filter(user=recruit.user).exists()
    joined = recruit.post("/agents/apply", {**application, "invite_code": parent.invite_code})
    assert joined.status_code == 201
    assert Agent.objects.get(user=recruit.user).level == 2
    assert not Agent.objects.filter(level__gt=domain.MAX_LEVEL).exists()


def test_a_markup_above_the_allowed_maximum_is_refused_even_when_staff_allow_more(
    catalog, api_client
):
    offer(max_markup_fen=20_00)
    caller = as_agent(api_client, make_agent())

    def shop_with(markup_fen):
        items = [{"plan_code": PLAN, "markup_fen": markup_fen}]
        return caller.put("/agents/me/shop", {"shop_name": "号卡小店", "items": items})

    for markup in (20_01, -1):
        refused = shop_with(markup)
        assert (refused.status_code, error_code(refused)) == (422, "shop_markup_out_of_range")
    assert shop_with(20_00).status_code == 200
    too_generous = staff(api_client).put(
        f"/staff/products/{PLAN}", {"margin_fen": 100_00, "max_markup_fen": 500_00}
    )
    assert (too_generous.status_code, error_code(too_generous)) == (422, "validation_error")
    Product.objects.filter(plan_code=PLAN).update(max_markup_fen=500_00)  # set around the API
    above_ceiling = shop_with(domain.MARKUP_CEILING_FEN + 1)
    assert (above_ceiling.status_code, error_code(above_ceiling)) == (
        422,
        "shop_markup_out_of_range",
    )
    assert commission.balances_fen(agent_id=Agent.objects.get().pk)["pending"] == 0


# ---------------------------------------------------------------- the staff admin


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_superuser(username="admin", password="pw-123456", role=Role.STAFF)
    client.force_login(user)
    client.user = user
    return client


def test_the_admin_shows_agents_and_withdrawals_masked_only(catalog, admin_client):
    offer()
    agent = make_agent()
    make_withdrawable(agent)
    withdrawals.request(agent_id=agent.pk, amount_fen=20_00, now=T0)
    pages = [
        admin_client.get("/admin/distribution/agent/"),
        admin_client.get(f"/admin/distribution/agent/{agent.pk}/change/"),
        admin_client.get("/admin/distribution/withdrawal/"),
        admin_client.get(f"/admin/distribution/withdrawal/{Withdrawal.objects.get().pk}/change/"),
        admin_client.get("/admin/distribution/entry/"),
    ]
    assert [p.status_code for p in pages] == [200] * len(pages)
    html = "".join(p.content.decode() for p in pages)
    assert pii.mask_name(agent.real_name) in html and pii.mask_id_number(agent.id_number) in html
    for secret in (agent.real_name, agent.id_number, agent.payee_account):
        assert secret not in html


def test_a_full_id_number_finds_the_agent_in_the_admin_through_its_hash(catalog, admin_client):
    agent, other = make_agent(), make_agent()
    page = admin_client.get("/admin/distribution/agent/", {"q": agent.id_number}).content.decode()
    assert agent.code in page and other.code not in page


def test_admin_actions_ask_for_a_note_then_go_through_the_use_cases(catalog, admin_client):
    agent = make_agent()
    url = "/admin/distribution/agent/"
    form = {"action": "freeze", "_selected_action": [agent.pk]}
    asked = admin_client.post(url, form)
    assert asked.status_code == 200 and "备注" in asked.content.decode()
    agent.refresh_from_db()
    assert agent.status == "APPROVED"
    done = admin_client.post(url, {**form, "apply": "1", "note": "投诉核查"})
    assert done.status_code == 302
    agent.refresh_from_db()
    assert agent.status == "FROZEN"
    assert agent.events.last().reason == "投诉核查"
    again = admin_client.post(
        url, {"action": "approve", "_selected_action": [agent.pk], "apply": "1", "note": "x"}
    )
    assert again.status_code == 302  # refused as an illegal transition, shown as a message
    agent.refresh_from_db()
    assert agent.status == "FROZEN"


def test_an_invalid_commission_rule_is_a_form_error_in_the_admin(catalog, admin_client):
    response = admin_client.post(
        "/admin/distribution/commissionrule/add/",
        {
            "plan_code": PLAN,
            "tier": "",
            "kind": "RECURRING",
            "amount_fen": "500",
            "rate_bp": "0",
            "threshold_fen": "0",
            "months": "0",
            "valid_from_0": "2026-03-01",
            "valid_from_1": "10:00:00",
            "note": "",
        },
    )
    assert response.status_code == 200 and "按比例计算" in response.content.decode()
    assert not CommissionRule.objects.exists()


def test_staff_confirm_a_fraud_flag_from_the_admin_queue(catalog, admin_client, commits):
    offer()
    agent = make_agent(device_id="agent-phone")
    with commits():
        sell(agent, device_id="agent-phone")
    flag = FraudFlag.objects.get()
    queue = admin_client.get("/admin/distribution/fraudflag/", {"status__exact": "OPEN"})
    assert queue.status_code == 200 and agent.code in queue.content.decode()
    admin_client.post(
        "/admin/distribution/fraudflag/",
        {"action": "confirm", "_selected_action": [flag.pk], "apply": "1", "note": "本人设备"},
    )
    flag.refresh_from_db()
    agent.refresh_from_db()
    assert (flag.status, flag.note, agent.status) == ("CONFIRMED", "本人设备", "FROZEN")
