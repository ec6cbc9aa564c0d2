"""The payment gateway simulator (docs/integrations.md, "Payment gateway")."""

from __future__ import annotations

import contextlib
import time

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from haoka.payments import simulator as payment_sim
from tests.support.simulators import (
    FakeNetwork,
    Receiver,
    TestClient,
    fast,
    get,
    post,
    simulator_process,
    wait_for,
)

NOTIFY = "http://haoka.test/api/v1/callbacks/payments/sim"


def order(merchant_order_id: str = "HK1", amount_fen: int = 1234, **extra) -> dict:
    return {
        "merchant_order_id": merchant_order_id, "amount_fen": amount_fen, "method": "wechat",
        "description": "号卡 大王卡 首月", "notify_url": NOTIFY,
        "return_url": "http://haoka.test/orders/HK1", **extra,
    }  # fmt: skip


@contextlib.contextmanager
def gateway(**changes):
    network = FakeNetwork()
    app = payment_sim.create_app(fast(**changes), transport=network.transport())
    with TestClient(app) as client:
        yield client, network


def paid(client, **kwargs) -> str:
    payment_id = post(client, "/v1/payments", order(**kwargs)).json()["payment_id"]
    assert client.post(f"/pay/{payment_id}/confirm").json()["status"] == "PAID"
    return payment_id


def test_create_is_idempotent_by_merchant_order_id():
    with gateway() as (client, _network):
        first = post(client, "/v1/payments", order())
        again = post(client, "/v1/payments", order())
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        body = first.json()
        assert body["status"] == "PENDING" and body["amount_fen"] == 1234
        assert body["pay_url"] == f"http://testserver/pay/{body['payment_id']}"
        stats = client.get("/_sim/stats").json()
        assert (stats["created"], stats["create_requests"], stats["repeats"]) == (1, 2, 1)
        assert stats["payments"] == 1


def test_bad_requests_are_refused():
    with gateway() as (client, _network):
        assert post(client, "/v1/payments", order(method="cash")).json()["field"] == "method"
        assert post(client, "/v1/payments", order(amount_fen=0)).status_code == 400
        assert post(client, "/v1/payments", order(amount_fen="12")).status_code == 400
        assert post(client, "/v1/payments", b"{").json() == {"error": "invalid_json"}
        assert post(client, "/v1/payments", b"[1]").json() == {"error": "invalid_json"}
        missing = get(client, "/v1/payments/pay_nope")
        assert missing.status_code == 404 and missing.json() == {"error": "unknown_payment"}


def test_cashier_page_then_confirm_notifies_once():
    with gateway() as (client, network):
        created = post(client, "/v1/payments", order()).json()
        page = client.get(f"/pay/{created['payment_id']}")
        assert page.status_code == 200 and "确认支付" in page.text and "¥12.34" in page.text
        assert 'name="viewport"' in page.text and "微信支付" in page.text
        confirm = client.post(
            f"/pay/{created['payment_id']}/confirm", data={}, follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert confirm.status_code == 303
        assert confirm.headers["location"] == "http://haoka.test/orders/HK1"
        again = client.post(f"/pay/{created['payment_id']}/confirm")
        assert again.json() == {"payment_id": created["payment_id"], "status": "PAID"}
        assert "支付成功" in client.get(f"/pay/{created['payment_id']}").text
        event = wait_for(lambda: network.to(NOTIFY), what="notification")[0]
        assert event.verifies()
        body = event.json
        assert body["type"] == "payment.succeeded" and body["merchant_order_id"] == "HK1"
        assert body["amount_fen"] == 1234 and body["paid_at"] and body["event_id"]
        shown = get(client, f"/v1/payments/{created['payment_id']}").json()
        assert shown["status"] == "PAID" and shown["paid_at"] == body["paid_at"]
        time.sleep(0.05)  # a second notification would have left by now (time_scale 10^6)
        assert len(network.to(NOTIFY)) == 1


def test_close_pending_only():
    with gateway() as (client, network):
        pending = post(client, "/v1/payments", order("HK2")).json()["payment_id"]
        closed = post(client, f"/v1/payments/{pending}/close", {})
        assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"
        assert post(client, f"/v1/payments/{pending}/close", {}).json()["status"] == "CLOSED"
        refused = client.post(f"/pay/{pending}/confirm")
        assert refused.status_code == 409 and refused.json() == {"error": "payment_closed"}
        assert "订单已关闭" in client.get(f"/pay/{pending}").text
        payment_id = paid(client, merchant_order_id="HK3")
        conflict = post(client, f"/v1/payments/{payment_id}/close", {})
        assert conflict.status_code == 409 and conflict.json() == {"error": "already_paid"}
        wait_for(lambda: len(network.to(NOTIFY)) == 2, what="two notifications")
        assert sorted(network.types(NOTIFY)) == ["payment.closed", "payment.succeeded"]


def test_refunds_are_idempotent_and_never_exceed_the_payment():
    with gateway() as (client, network):
        unpaid = post(client, "/v1/payments", order("HK4")).json()["payment_id"]
        refund = {"refund_id": "R0", "payment_id": unpaid, "amount_fen": 1, "reason": "取消"}
        assert post(client, "/v1/refunds", refund).json() == {"error": "not_paid"}
        payment_id = paid(client, merchant_order_id="HK5", amount_fen=1000)
        first = post(client, "/v1/refunds", {**refund, "refund_id": "R1", "payment_id": payment_id,
                                             "amount_fen": 600})  # fmt: skip
        assert first.status_code == 201 and first.json()["status"] == "SUCCEEDED"
        repeat = post(client, "/v1/refunds", {**refund, "refund_id": "R1", "payment_id": payment_id,
                                              "amount_fen": 600})  # fmt: skip
        assert repeat.status_code == 201 and repeat.json() == first.json()
        over = post(client, "/v1/refunds", {**refund, "refund_id": "R2", "payment_id": payment_id,
                                            "amount_fen": 401})  # fmt: skip
        assert over.status_code == 409
        assert over.json() == {"error": "refund_exceeds_payment", "refundable_fen": 400}
        shown = get(client, f"/v1/payments/{payment_id}").json()
        assert shown["refunded_fen"] == 600 and shown["status"] == "PARTIALLY_REFUNDED"
        post(client, "/v1/refunds", {**refund, "refund_id": "R3", "payment_id": payment_id,
                                     "amount_fen": 400})  # fmt: skip
        assert get(client, f"/v1/payments/{payment_id}").json()["status"] == "REFUNDED"
        refunds = wait_for(
            lambda: [c.json for c in network.to(NOTIFY) if c.json["type"] == "refund.succeeded"]
            if len(network.to(NOTIFY)) == 3 else None, what="refund notifications",
        )  # fmt: skip
        assert sorted((r["refund_id"], r["amount_fen"]) for r in refunds) == [
            ("R1", 600), ("R3", 400),
        ]  # fmt: skip


def test_property_refunds_never_exceed_what_was_paid():
    with gateway() as (client, _network):
        counter = iter(range(10**6))

        @settings(max_examples=40, deadline=None)
        @given(
            amount=st.integers(1, 10_000),
            refunds=st.lists(st.tuples(st.integers(1, 6_000), st.booleans()), max_size=8),
        )
        def check(amount, refunds):
            n = next(counter)
            payment_id = paid(client, merchant_order_id=f"P{n}", amount_fen=amount)
            accepted = 0
            for i, (value, repeat) in enumerate(refunds):
                ids = [f"R{n}-{i}"] * (2 if repeat else 1)
                for refund_id in ids:
                    body = {"refund_id": refund_id, "payment_id": payment_id, "amount_fen": value}
                    response = post(client, "/v1/refunds", body)
                    assert response.status_code in (201, 409)
                if response.status_code == 201:
                    accepted += value
            shown = get(client, f"/v1/payments/{payment_id}").json()
            assert shown["refunded_fen"] == accepted <= amount

        check()


def test_injected_failure_creates_nothing_and_a_retry_creates_once():
    with gateway(failure_rate=1) as (client, _network):
        failed = post(client, "/v1/payments", order())
        assert failed.status_code == 503 and failed.json() == {"error": "injected_failure"}
        stats = client.get("/_sim/stats").json()
        assert stats["failures_injected"] == 1 and stats["created"] == 0 and stats["payments"] == 0
        client.post("/_sim/config", json={"failure_rate": 0})
        assert post(client, "/v1/payments", order()).status_code == 201
        assert post(client, "/v1/payments", order()).status_code == 201
        assert client.get("/_sim/stats").json()["created"] == 1


def test_real_process_signs_and_duplicates_notifications():
    with (
        Receiver() as receiver,
        simulator_process(
            "payment", "--secret", "test-secret", "--latency-ms", "0,5", "--duplicate-rate", "1",
            "--time-scale", "1000",
        ) as base,
        httpx.Client(base_url=base, timeout=5) as client,
    ):  # fmt: skip
        created = post(client, "/v1/payments", order(notify_url=receiver.url + "/notify"))
        assert created.status_code == 201
        assert created.json()["pay_url"].startswith(base + "/pay/")
        client.post(f"/pay/{created.json()['payment_id']}/confirm")
        events = wait_for(lambda: len(receiver.at("/notify")) >= 2 and receiver.at("/notify"))
        assert all(event.verifies() for event in events)
        assert events[0].json == events[1].json and events[0].json["type"] == "payment.succeeded"
        stats = wait_for(lambda: (s := client.get("/_sim/stats").json())["callbacks_duplicated"]
                         and s)  # fmt: skip
        assert stats["callbacks_sent"] == 1 and stats["callbacks_duplicated"] == 1
