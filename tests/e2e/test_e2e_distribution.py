"""The distribution network over HTTP against the real processes: an agent is approved,
recruits a sub-agent, the sub-agent opens a shop with a markup; a consumer buys through the
sub-agent, pays (the markup too) and activates; both agents see their commission within
seconds; the first top-up earns its reward; the line closes within the hold period and every
pending entry is clawed back; the ledger balances throughout."""

from __future__ import annotations

import time

import httpx

from tests.support.journey import Shopper, id_number

STACK_OPTIONS = {"numbers": 60, "server": "gunicorn"}  # the default is granian: keep both
PLAN = "CM-MANGO-39"
STAFF = """
import json
from haoka.accounts import operations
from haoka.accounts.models import Role, User
from haoka.core import clock
user, _ = User.objects.get_or_create(
    username="e2e-staff", defaults={"role": Role.STAFF, "is_staff": True}
)
print(json.dumps(operations._issue_session(user=user, now=clock.now()).token))
"""
LEDGER = """
import json
from haoka.core import ledger
print(json.dumps([ledger.trial_balance_fen(), ledger.unbalanced_transactions()]))
"""


def _agent(stack, phone: str, serial: int, name: str, staff: Shopper, invite: str = "") -> Shopper:
    """Sign in, apply (with ``invite``), be approved by staff; returns the signed-in agent."""
    person = Shopper(base=stack.base, phone=phone)
    person.token = stack.create_consumers([phone])[phone]
    body = {
        "real_name": name,
        "id_number": id_number(serial, area="110105"),
        "payee_channel": "ALIPAY",
        "payee_account": f"{phone}@example.com",
        "payee_name": name,
        **({"invite_code": invite} if invite else {}),
    }
    person.call("POST", "/api/v1/agents/apply", 201, json=body)
    (pending,) = [
        a
        for a in staff.call("GET", "/api/v1/staff/agents", params={"status": "PENDING"})["items"]
        if a["level"] == (2 if invite else 1)
    ]
    staff.call(
        "POST",
        f"/api/v1/staff/agents/{pending['id']}/decision",
        json={"approve": True, "note": "资料齐全"},
    )
    return person


def _entries(agent: Shopper) -> list[dict]:
    return agent.call("GET", "/api/v1/agents/me/ledger", params={"limit": 100})["items"]


def _wait(check, what: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.3)


def test_a_sale_through_a_sub_agents_shop_pays_both_agents_and_a_quick_closure_claws_back(
    module_stack,
):
    stack = module_stack
    staff = Shopper(base=stack.base, phone="")
    staff.token = stack.manage_json(STAFF)
    staff.call(
        "PUT",
        f"/api/v1/staff/products/{PLAN}",
        json={"enabled": True, "margin_fen": 10000, "max_markup_fen": 2000, "min_tier": "D"},
    )
    for rule in (
        {"kind": "ACTIVATION", "amount_fen": 3000},
        {"kind": "FIRST_TOPUP", "amount_fen": 1000, "threshold_fen": 5000},
        {"kind": "NEXT_MONTH", "amount_fen": 2000},
        {"kind": "RECURRING", "rate_bp": 1000, "months": 6},
        {"kind": "OVERRIDE", "rate_bp": 2000},
    ):
        staff.call("POST", "/api/v1/staff/commission-rules", 201, json={"plan_code": PLAN, **rule})

    leader = _agent(stack, "13712340001", 7001, "王大明", staff)
    me = leader.call("GET", "/api/v1/agents/me")
    assert me["status"] == "APPROVED" and me["level"] == 1 and me["invite_code"]
    member = _agent(stack, "13712340002", 7002, "赵小红", staff, invite=me["invite_code"])
    member_me = member.call("GET", "/api/v1/agents/me")
    assert member_me["level"] == 2 and not member_me.get("invite_code")
    member.call(
        "PUT",
        "/api/v1/agents/me/shop",
        json={"shop_name": "小红的号卡店", "shop_intro": "", "sells_vanity": False,
              "items": [{"plan_code": PLAN, "markup_fen": 500}]},
    )  # fmt: skip
    shop = httpx.get(f"{stack.base}/api/v1/shops/{member_me['code']}", timeout=30).json()
    assert [i["plan_code"] for i in shop["items"]] == [PLAN]

    # A consumer buys through the sub-agent: the ¥5 markup is due at checkout.
    buyer = Shopper(base=stack.base, phone="13912347001")
    buyer.token = stack.create_consumers([buyer.phone])[buyer.phone]
    msisdn = buyer.hold_number(carrier="CMCC")
    order = buyer.order(plan=PLAN, msisdn=msisdn, serial=7101, name="李四", ref=member_me["code"])
    assert order["amount_due_fen"] == 500 and order["next_action"] == "payment"
    buyer.pay(order["ref"])
    order = buyer.wait_for(
        order["ref"], {"DELIVERED"}, timeout=90, until=lambda o: bool(o["iccid_masked"])
    )
    order = buyer.activate(order["ref"], order["tracking_no"])
    assert order["state"] == "ACTIVATED"

    # Within seconds both agents see their commission.
    mine = _wait(lambda: {e["kind"]: e for e in _entries(member)} or None, "sub-agent commission")
    assert mine["ACTIVATION"]["amount_fen"] == 3000 and mine["ACTIVATION"]["status"] == "PENDING"
    assert mine["MARKUP"]["amount_fen"] == 500 and mine["NEXT_MONTH"]["amount_fen"] == 2000
    theirs = _wait(lambda: _entries(leader), "the leader's override")
    assert sorted(e["amount_fen"] for e in theirs) == [400, 600]  # 20% of ¥30 and of ¥20
    sold = member.call("GET", "/api/v1/agents/me/orders")["items"]
    assert sold[0]["order_ref"] == order["ref"] and msisdn not in str(sold)
    assert leader.call("GET", "/api/v1/agents/me/orders")["items"] == []

    # The first top-up of ¥50 earns the first top-up reward (and the leader's share).
    started = buyer.call("POST", f"/api/v1/lines/{msisdn}/topups", 201,
                         json={"amount_fen": 5000, "method": "alipay"})  # fmt: skip
    assert httpx.post(f"{started['pay_url']}/confirm", timeout=30).status_code == 200
    first = _wait(
        lambda: [e for e in _entries(member) if e["kind"] == "FIRST_TOPUP"], "first top-up reward"
    )
    assert first[0]["amount_fen"] == 1000
    _wait(lambda: len(_entries(leader)) == 3, "the leader's share of the first top-up")
    assert (
        member.call("GET", "/api/v1/agents/me")["balances"]["pending_fen"]
        == 3000 + 500 + 2000 + 1000
    )

    # The line closes within the hold: everything pending goes back; the ledger balances.
    proof = buyer.step_up(msisdn, "closure")
    buyer.call("POST", f"/api/v1/lines/{msisdn}/closure", json={"confirm": True}, headers=proof)
    _wait(
        lambda: all(e["status"] == "CLAWED_BACK" for e in _entries(member) + _entries(leader)),
        "the clawback",
    )
    for agent in (member, leader):
        balances = agent.call("GET", "/api/v1/agents/me")["balances"]
        assert (balances["pending_fen"], balances["settled_fen"], balances["withdrawable_fen"]) == (
            0,
            0,
            0,
        )
    assert stack.manage_json(LEDGER) == [0, []]
