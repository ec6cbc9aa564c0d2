"""Must show: 200 orders while the carrier fails 30% of calls (20% 5xx, 10% timeouts), every
callback may come twice or out of order, and the carrier rejects about 10% — every order ends
ACTIVATED or CARRIER_REJECTED with its money back at the gateway; the carrier got each order
once; no number went to two people; the ledger balances. Then the same with the worker
killed (SIGKILL) mid-run and started again.

The orders are driven over HTTP by concurrent shoppers against the real processes; the
checks read the simulators' stats, the gateway's and the carrier's own records, the order
API and the database (through ``stack.manage``).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from haoka.catalog import seed_data
from haoka.charging import domain
from haoka.core import clock
from tests.support.journey import Shopper, person_name, phone_number

ORDERS = int(os.environ.get("HAOKA_E2E_FAULT_ORDERS", "200"))
SHOPPERS = int(os.environ.get("HAOKA_E2E_SHOPPERS", "24"))
#: Injected timeouts sleep 1.2 x caller_timeout + 0.2 s = 1.4 s; haoka gives up after 0.8 s.
CARRIER_READ_TIMEOUT = "0.8"
CARRIER_FAULTS = {
    "failure_rate": 0.2,
    "timeout_rate": 0.1,
    "duplicate_rate": 0.1,
    "out_of_order_rate": 0.1,
    "reject_rate": 0.1,
    "caller_timeout": 1.0,
}
CALLBACK_FAULTS = {"duplicate_rate": 0.1, "out_of_order_rate": 0.1}
#: (carrier, plan) by order serial: something is due on all but the HAOKA ones — a ¥20 first
#: top-up (CT-WUYOU-0) or a ¥10 number (CMCC, CUCC ordinary numbers are priced below).
MIX = [("CMCC", "CM-MANGO-39"), ("CUCC", "CU-DAWANG-19"), ("CTCC", "CT-WUYOU-0")]
FREE = ("HAOKA", "HK-FREE-0")
NUMBER_PRICE_FEN = 1000
SIMULATORS = ("payment", "carrier", "courier")
PRICE_ORDINARY_NUMBERS = f"""
import json
from haoka.numbers import operations
print(json.dumps([
    operations.set_tier_price(carrier=carrier, tier="N", price_fen={NUMBER_PRICE_FEN},
                              min_monthly_fen=0, contract_months=0, actor="e2e")
    for carrier in ("CMCC", "CUCC")
]))
"""
PAID_PATH = ["CREATED", "KYC_PASSED", "SIGNED", "PAID", "SUBMITTED", "ACCEPTED"]
LATER = ["SHIPPED", "DELIVERED", "ACTIVATED"]


def choice(serial: int) -> tuple[str, str]:
    return FREE if serial % 10 == 9 else MIX[serial % len(MIX)]


@dataclass
class Run:
    tokens: dict[str, str]
    checked_out: int = 0
    finals: dict[str, dict] = field(default_factory=dict)  # ref -> last view of the shopper
    owners: dict[str, str] = field(default_factory=dict)  # ref -> phone
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def shop(stack, run: Run, serial: int) -> None:
    """One consumer: hold a number, order, 实名, sign, pay, wait, activate."""
    carrier, plan = choice(serial)
    phone = phone_number(serial)
    shopper = Shopper(base=stack.base, phone=phone, token=run.tokens[phone])
    try:
        msisdn = shopper.hold_number(carrier=carrier, skip=serial % 50)
        order = shopper.order(plan=plan, msisdn=msisdn, serial=serial, name=person_name(serial))
        ref = order["ref"]
        with run.lock:
            run.owners[ref] = phone
        if order["next_action"] == "payment":
            shopper.pay(ref, retry_for=60)
        with run.lock:
            run.checked_out += 1
        order = shopper.wait_for(
            ref,
            {"DELIVERED", "CARRIER_REJECTED"},
            timeout=180,
            until=lambda o: o["state"] != "DELIVERED" or bool(o["iccid_masked"]),
        )
        if order["state"] == "DELIVERED":
            order = shopper.activate(ref, order["tracking_no"], retry_for=90)
        with run.lock:
            run.finals[ref] = order
    except Exception as exc:
        with run.lock:
            run.errors.append(f"shopper {serial} ({carrier}): {type(exc).__name__}: {exc}")
    finally:
        shopper.close()


def drive(stack, *, kill_worker_after: tuple[int, ...] = ()) -> Run:
    """All orders through concurrent shoppers; the worker is SIGKILLed (and started again two
    seconds later) each time the number of paid orders passes one of ``kill_worker_after``."""
    stack.manage_json(PRICE_ORDINARY_NUMBERS)
    run = Run(tokens=stack.create_consumers([phone_number(i) for i in range(ORDERS)]))
    kills = list(kill_worker_after)
    with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
        futures = [pool.submit(shop, stack, run, serial) for serial in range(ORDERS)]
        while not all(f.done() for f in futures):
            if kills and run.checked_out >= kills[0]:
                kills.pop(0)
                stack.kill("worker")  # SIGKILL: whatever it was doing is cut short
                time.sleep(2)
                stack.start("worker")
            time.sleep(0.1)
    assert not kills, f"the worker was not killed at {kills} (only {run.checked_out} paid)"
    return run


#: Counters a read moves (the worker asking the carrier about an order it thinks stuck, as a
#: slow run makes it do): the platform's state does not depend on them.
READ_COUNTERS = frozenset({"requests", "failures_injected", "timeouts_injected"})


def _moved(stats: dict) -> dict:
    return {
        name: {k: v for k, v in s.items() if k not in READ_COUNTERS} for name, s in stats.items()
    }


def settled(stack) -> tuple[dict, dict]:
    """Wait until every order is final, refunds are done and the simulators have delivered
    every callback; return the platform's state and the simulators' stats, read together
    (the simulators were idle and unchanged while the database was read)."""
    deadline = time.monotonic() + 120
    while True:
        before = {name: stack.sim_stats(name) for name in SIMULATORS}
        state = stack.platform_state()
        after = {name: stack.sim_stats(name) for name in SIMULATORS}
        final = ("ACTIVATED", "CARRIER_REJECTED")
        busy = [o["ref"] for o in state["orders"] if o["state"] not in final]
        busy += [o["ref"] for o in state["orders"] if o["refund_state"] == "PENDING"]
        busy += [r["refund_id"] for r in state["refunds"] if r["status"] != "SUCCEEDED"]
        sims = {name: stats["background_tasks"] for name, stats in after.items()}
        if not busy and not any(sims.values()) and _moved(before) == _moved(after):
            return state, after
        assert time.monotonic() < deadline, f"not settled: {busy[:20]} simulators busy: {sims}"
        time.sleep(2)


def check_orders(state: dict, run: Run) -> dict[str, list[dict]]:
    orders = state["orders"]
    assert len(orders) == ORDERS
    by_state: dict[str, list[dict]] = {}
    for order in orders:
        by_state.setdefault(order["state"], []).append(order)
    assert set(by_state) == {"ACTIVATED", "CARRIER_REJECTED"}, Counter(o["state"] for o in orders)
    for order in orders:
        assert run.finals[order["ref"]]["state"] == order["state"], order["ref"]
        moves = [e[1] for e in order["events"] if e[0] != e[1]]
        path = [s for s in PAID_PATH if s != "PAID" or order["amount_due_fen"] > 0]
        if order["state"] == "ACTIVATED":
            assert moves == path + LATER, (order["ref"], moves)
        else:  # the carrier rejects instead of accepting
            assert moves == [*path[:-1], "CARRIER_REJECTED"], (order["ref"], moves)
    return by_state


def check_money(stack, state: dict, by_state: dict, run: Run) -> None:
    payments = {}
    for p in state["payments"]:
        assert p["reference"] not in payments, f"two payments for {p['reference']}"
        payments[p["reference"]] = p
    for order in state["orders"]:
        payment = payments.get(order["ref"])
        if order["amount_due_fen"] == 0:
            assert payment is None, order["ref"]
            continue
        rejected = order["state"] == "CARRIER_REJECTED"
        want = "REFUNDED" if rejected else "PAID"
        assert payment["status"] == want, (order["ref"], payment)
        assert payment["amount_fen"] == order["amount_due_fen"]
        assert payment["refunded_fen"] == (order["amount_due_fen"] if rejected else 0)
        at_gateway = stack.sim_get("payment", f"/v1/payments/{payment['gateway_payment_id']}")
        assert at_gateway.status_code == 200, at_gateway.text
        assert at_gateway.json()["status"] == want, (order["ref"], at_gateway.json())
        assert at_gateway.json()["refunded_fen"] == payment["refunded_fen"]
        if rejected:
            assert order["refund_state"] == "DONE", order["ref"]
    for order in by_state["CARRIER_REJECTED"]:
        shopper = Shopper(base=stack.base, phone="", token=run.tokens[run.owners[order["ref"]]])
        view = shopper.get_order(order["ref"])
        shopper.close()
        if order["amount_due_fen"]:
            assert view["payment"]["status"] == "REFUNDED", view["payment"]
        assert view["failure_reason"], order["ref"]
    refunds = Counter(r["reference"] for r in state["refunds"])
    assert all(n == 1 for n in refunds.values()), refunds.most_common(3)
    assert state["trial_balance_fen"] == 0
    assert state["unbalanced"] == []


def first_month_fen(plan_code: str, activated_at: str) -> int:
    """The first month's fee charged at activation (on its Beijing day: a run that crosses
    Beijing midnight has lines of both days) under the plan's term."""
    plan = next(p for p in seed_data.PLANS if p["code"] == plan_code)
    day = clock.beijing_date(dt.datetime.fromisoformat(activated_at))
    return domain.first_month(
        rule=plan["first_month"], fee_fen=plan["monthly_fee_fen"], activated_on=day
    ).fee_fen


def check_numbers_and_lines(state: dict, by_state: dict) -> None:
    activated = by_state["ACTIVATED"]
    owner = {o["msisdn"]: o for o in activated}
    assert len(owner) == len(activated), "a number was activated twice"
    for order in state["orders"]:
        status, order_ref = state["numbers"][order["msisdn"]]
        if order["msisdn"] in owner:
            assert (status, order_ref) == ("IN_USE", owner[order["msisdn"]]["ref"]), order
        else:  # only rejected orders had it: back in the pool
            assert (status, order_ref) == ("AVAILABLE", ""), (order["ref"], status, order_ref)
    assert state["number_status"].get("IN_USE", 0) == len(activated)
    assert "ASSIGNED" not in state["number_status"]
    assert "RESERVED" not in state["number_status"]
    refs = {o["ref"] for o in state["orders"]}
    # Not the demo's own lines (its consumer's, its agents' seeded sales).
    from_orders = [x for x in state["lines"] if x["order_ref"] in refs]
    lines = {x["order_ref"]: x for x in from_orders}
    assert len(from_orders) == len(lines) == len(activated)
    assert len({x["msisdn"] for x in from_orders}) == len(activated)
    for order in activated:
        line = lines[order["ref"]]
        assert (line["msisdn"], line["status"], line["user_id"]) == (
            order["msisdn"],
            "ACTIVE",
            order["user_id"],
        )
        first_month = first_month_fen(order["plan"], line["activated_at"])
        assert line["balance_fen"] == order["first_topup_fen"] - first_month


def check_carrier(stack, state: dict, by_state: dict, stats: dict) -> None:
    assert stats["created"] == stats["orders"] == ORDERS, stats
    assert stats["create_requests"] == stats["created"] + stats["repeats"]
    assert stats["orders_by_status"] == {
        "ACTIVATED": len(by_state["ACTIVATED"]),
        "REJECTED": len(by_state["CARRIER_REJECTED"]),
    }
    for order in state["orders"]:
        remote = stack.sim_get("carrier", f"/v1/{order['carrier']}/orders/{order['ref']}").json()
        want = "ACTIVATED" if order["state"] == "ACTIVATED" else "REJECTED"
        assert remote["status"] == want, (order["ref"], remote)
        # Every event the carrier sent was taken, once (repeats never made a second row).
        sent = sorted(e["event_id"] for e in remote["events"])
        assert sorted(state["carrier_events"].get(order["ref"], [])) == sent, (order, remote)
    assert state["carrier_callbacks"] == state["carrier_callback_ids"] == stats["callbacks_sent"]
    assert stats["callbacks_abandoned"] == 0
    # The faults really happened.
    assert stats["failures_injected"] > 0 and stats["timeouts_injected"] > 0
    assert stats["callbacks_duplicated"] > 0 and stats["callbacks_reordered"] > 0
    assert by_state["CARRIER_REJECTED"], "no order was rejected"


def check_everything(stack, run: Run, started: float) -> None:
    assert not run.errors, "\n".join(run.errors[:20])
    state, sims = settled(stack)
    stats = sims["carrier"]
    for name in SIMULATORS:  # the checks below ask the simulators themselves
        stack.sim_config(name, failure_rate=0, timeout_rate=0)
    by_state = check_orders(state, run)
    check_money(stack, state, by_state, run)
    check_numbers_and_lines(state, by_state)
    check_carrier(stack, state, by_state, stats)
    assert not [k for k in state["tasks"] if k.endswith(":FAILED")], state["tasks"]
    for name in ("web", "worker"):  # nothing unexpected went wrong along the way
        text = stack.log_tail(name, 10**6)
        assert "Traceback" not in text and "Internal Server Error" not in text, name
    # The worker's submission pump made the submissions (not the web process inline).
    rounds = [
        line
        for line in stack.log_tail("worker", 10**6).splitlines()
        if "pump_done" in line and "pump=orders.submissions" in line
    ]
    assert any("'acked'" in line for line in rounds), rounds[-5:]
    attempts = Counter(o["submit_attempts"] for o in state["orders"])
    print(
        f"\n{ORDERS} orders in {time.monotonic() - started:.0f}s: "
        f"activated={len(by_state['ACTIVATED'])} rejected={len(by_state['CARRIER_REJECTED'])} "
        f"refunded={sum(1 for p in state['payments'] if p['status'] == 'REFUNDED')} "
        f"carrier: create_requests={stats['create_requests']} created={stats['created']} "
        f"repeats={stats['repeats']} requests={stats['requests']} "
        f"failures={stats['failures_injected']} timeouts={stats['timeouts_injected']} "
        f"callbacks sent={stats['callbacks_sent']} duplicated={stats['callbacks_duplicated']} "
        f"reordered={stats['callbacks_reordered']} failed={stats['callbacks_failed']}; "
        f"submission attempts per order={dict(sorted(attempts.items()))}; "
        f"tasks={state['tasks']}"
    )


def fault_stack(make_stack):
    return make_stack(
        numbers=150,
        carrier_faults=CARRIER_FAULTS,
        payment_faults=CALLBACK_FAULTS,
        courier_faults=CALLBACK_FAULTS,
        extra_env={"HAOKA_CARRIER_READ_TIMEOUT": CARRIER_READ_TIMEOUT},
    )


def test_orders_under_carrier_faults_all_end_activated_or_rejected_and_refunded(make_stack):
    started = time.monotonic()
    stack = fault_stack(make_stack)
    run = drive(stack)
    check_everything(stack, run, started)


def test_the_same_holds_when_the_worker_is_killed_mid_run_and_restarted(make_stack):
    started = time.monotonic()
    stack = fault_stack(make_stack)
    run = drive(stack, kill_worker_after=(ORDERS // 3, 2 * ORDERS // 3))
    check_everything(stack, run, started)
