"""The courier simulator (docs/integrations.md, "Courier")."""

from __future__ import annotations

import contextlib

import httpx

from haoka import simkit
from haoka.logistics import simulator as courier_sim
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

HAOKA = "http://haoka.test/api/v1/callbacks/couriers/simexpress"
CARRIER = "http://carrier.test/_courier/notify"
STATUSES = ["PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]


def shipment(reference: str = "HK-1", **extra) -> dict:
    return {
        "reference": reference, "iccid": "89860112345678901234", "receiver": "张三",
        "phone": "13900000000", "notify_url": CARRIER,
        "address": {
            "province": "广东", "city": "深圳", "district": "南山区", "detail": "科技园1号",
        },
        **extra,
    }  # fmt: skip


@contextlib.contextmanager
def courier(**changes):
    network = FakeNetwork()
    config = fast(callback_url=HAOKA, **changes)
    with TestClient(courier_sim.create_app(config, transport=network.transport())) as client:
        yield client, network


def test_create_is_idempotent_by_reference():
    with courier(time_scale=1) as (client, network):
        first = post(client, "/v1/shipments", shipment())
        assert first.status_code == 201 and first.json()["courier"] == "SIMEXPRESS"
        assert first.json()["tracking_no"].startswith("SX")
        assert post(client, "/v1/shipments", shipment()).json() == first.json()
        parcel = get(client, f"/v1/parcels/{first.json()['tracking_no']}").json()
        assert parcel["status"] == "CREATED" and parcel["events"] == []
        assert parcel["iccid"] == "89860112345678901234" and parcel["reference"] == "HK-1"
        stats = client.get("/_sim/stats").json()
        assert (stats["created"], stats["repeats"], stats["parcels"]) == (1, 1, 1)
        assert network.seen == []  # a day of simulated time has not passed


def test_tracking_events_then_delivery_notice():
    with courier() as (client, network):
        tracking_no = post(client, "/v1/shipments", shipment()).json()["tracking_no"]
        wait_for(lambda: network.to(CARRIER), what="delivery notice")
        scans = [c.json for c in network.to(HAOKA)]
        assert [s["status"] for s in scans] == STATUSES
        assert all(
            s["type"] == "parcel.tracking" and s["tracking_no"] == tracking_no for s in scans
        )
        assert scans[0]["description"].startswith("已揽收")
        assert scans[1]["description"].startswith("运输中") and "深圳" in scans[1]["description"]
        assert scans[2]["description"].startswith("派送中")
        assert scans[3]["description"].startswith("已签收") and scans[3]["location"] == "深圳南山区"
        notice = network.to(CARRIER)[0].json
        assert notice["type"] == "parcel.delivered" and notice["reference"] == "HK-1"
        assert notice["event_id"] != scans[3]["event_id"]
        assert all(c.verifies() for c in network.seen)
        parcel = get(client, f"/v1/parcels/{tracking_no}").json()
        assert parcel["status"] == "DELIVERED" and len(parcel["events"]) == 4


def test_out_of_order_scans(monkeypatch):
    monkeypatch.setattr(simkit, "HOLD_SECONDS", 0.1)
    with courier(out_of_order_rate=1) as (client, network):
        post(client, "/v1/shipments", shipment(notify_url=None))
        wait_for(lambda: len(network.to(HAOKA)) == 4, what="four scans")
        assert [c.json["status"] for c in network.to(HAOKA)] == [
            "IN_TRANSIT", "PICKED_UP", "DELIVERED", "OUT_FOR_DELIVERY",
        ]  # fmt: skip
        assert client.get("/_sim/stats").json()["callbacks_reordered"] == 2


def test_bad_requests():
    with courier() as (client, _network):
        assert post(client, "/v1/shipments", shipment(address="")).json()["field"] == "address"
        text_address = post(client, "/v1/shipments", shipment("HK-2", address="北京市朝阳区1号"))
        assert text_address.status_code == 201
        assert post(client, "/v1/shipments", shipment(iccid=None)).json()["field"] == "iccid"
        missing = get(client, "/v1/parcels/SX0")
        assert missing.status_code == 404 and missing.json() == {"error": "unknown_parcel"}
        assert get(client, "/v1/parcels/SX0", secret="wrong").status_code == 401


def test_real_process_pushes_signed_scans_and_retries():
    with (
        Receiver(fail_first=1) as receiver,
        simulator_process(
            "courier", "--secret", "test-secret", "--latency-ms", "0,5", "--time-scale", "200000",
            "--callback-url", receiver.url + "/haoka",
        ) as base,
        httpx.Client(base_url=base, timeout=5) as client,
    ):  # fmt: skip
        body = shipment(notify_url=receiver.url + "/carrier")
        for _ in range(2):
            assert post(client, "/v1/shipments", body).status_code == 201
        wait_for(lambda: receiver.at("/carrier"), timeout=15, what="delivery notice")
        # Scans are delivered one after the other (each retried once, 0.5 s later).
        wait_for(lambda: len(receiver.at("/haoka")) == 4, timeout=15, what="four scans")
        scans = receiver.at("/haoka")
        assert [s.json["status"] for s in scans] == STATUSES
        assert all(s.verifies() for s in [*scans, *receiver.at("/carrier")])
        # The simulator counts a callback once its answer is back, a moment after the receiver
        # has recorded it: wait for the counters rather than read them at once.
        wait_for(
            lambda: client.get("/_sim/stats").json()["callbacks_sent"] == 5,
            timeout=5,
            what="the simulator's count of callbacks",
        )
        stats = client.get("/_sim/stats").json()
        assert stats["created"] == 1 and stats["repeats"] == 1
        assert stats["callbacks_sent"] == 5 and stats["callbacks_failed"] == 5  # each retried once
