"""The carrier simulator (docs/integrations.md, "Carrier"), alone and with the courier."""

from __future__ import annotations

import contextlib
import random
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haoka.carriers import simulator as carrier_sim
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

CALLBACK = "http://haoka.test/api/v1/callbacks/carriers/sim"
TRACKING_NO = "SX000000000042"
MSISDN = {"CMCC": "13800138000", "CUCC": "18612345678", "CTCC": "18912345678",
          "CBN": "19212345678", "HAOKA": "17071234567"}  # fmt: skip


def order(order_id: str = "HK-1", msisdn: str = "18612345678", name: str = "张三", **extra):
    return {
        "order_id": order_id, "plan_code": "CU-DAWANG-19", "msisdn": msisdn,
        "customer": {"name": name, "id_number": "110101199003074516"},
        "shipping_address": {"province": "广东", "city": "深圳", "district": "南山区",
                             "detail": "科技园1号", "receiver": name, "phone": "13900000000"},
        "callback_url": CALLBACK, **extra,
    }  # fmt: skip


@contextlib.contextmanager
def carrier(**changes):
    shipments = []

    def courier(request: httpx.Request) -> httpx.Response:
        shipments.append(request)
        return httpx.Response(201, json={"tracking_no": TRACKING_NO, "courier": "SIMEXPRESS"})

    network = FakeNetwork(routes={"courier.test/v1/shipments": courier})
    config = fast(courier_url="http://courier.test", **changes)
    with TestClient(carrier_sim.create_app(config, transport=network.transport())) as client:
        yield client, network


def delivered_notice(tracking_no: str = TRACKING_NO, event_id: str = "evt_c1") -> dict:
    return {
        "event_id": event_id, "type": "parcel.delivered", "tracking_no": tracking_no,
        "reference": "HK-1", "status": "DELIVERED", "occurred_at": "2025-01-01T00:00:00Z",
    }  # fmt: skip


def test_full_journey_in_process():
    with carrier() as (client, network):
        created = post(client, "/v1/CUCC/orders", order())
        assert created.status_code == 202 and created.json()["status"] == "RECEIVED"
        assert post(client, "/v1/CUCC/orders", order()).json() == created.json()
        wait_for(lambda: network.types(CALLBACK) == ["order.accepted", "order.shipped"])
        accepted, shipped = (c.json for c in network.to(CALLBACK))
        assert accepted["iccid"].startswith("898601") and accepted["imsi"].startswith("46001")
        assert accepted["carrier_order_id"] == created.json()["carrier_order_id"]
        assert shipped["tracking_no"] == TRACKING_NO and shipped["courier"] == "SIMEXPRESS"
        shipment = network.to("courier.test")[0]
        assert shipment.verifies() and shipment.json["iccid"] == accepted["iccid"]
        assert shipment.json["notify_url"] == "http://testserver/_courier/notify"
        assert shipment.json["reference"] == "HK-1"
        early = post(client, "/v1/CUCC/orders/HK-1/activate", {"iccid_last6": "000000"})
        assert early.status_code == 409 and early.json() == {"error": "not_delivered"}
        assert post(client, "/_courier/notify", delivered_notice()).status_code == 200
        assert post(client, "/_courier/notify", delivered_notice()).json()["status"] == "ignored"
        wait_for(lambda: network.types(CALLBACK)[-1:] == ["order.delivered"])
        shown = get(client, "/v1/CUCC/orders/HK-1").json()
        assert shown["status"] == "DELIVERED" and shown["iccid"] == accepted["iccid"]
        assert [e["type"] for e in shown["events"]] == network.types(CALLBACK)
        wrong = post(client, "/v1/CUCC/orders/HK-1/activate", {"iccid_last6": "999999x"})
        assert wrong.status_code == 422 and wrong.json() == {"error": "iccid_mismatch"}
        body = {"iccid_last6": accepted["iccid"][-6:]}
        first = post(client, "/v1/CUCC/orders/HK-1/activate", body)
        assert first.status_code == 200 and first.json()["status"] == "ACTIVATED"
        assert post(client, "/v1/CUCC/orders/HK-1/activate", body).json() == first.json()
        wait_for(lambda: network.types(CALLBACK)[-1:] == ["order.activated"])
        assert network.to(CALLBACK)[-1].json["activated_at"] == first.json()["activated_at"]
        assert len(network.to(CALLBACK)) == 4 and all(c.verifies() for c in network.seen)
        stats = client.get("/_sim/stats").json()
        assert (stats["created"], stats["repeats"], stats["orders"]) == (1, 1, 1)
        assert stats["orders_by_status"] == {"ACTIVATED": 1}


@pytest.mark.parametrize(
    ("name", "msisdn", "reject_rate", "code"),
    [("王拒", "18612345678", 0, "NAME_CHECK_FAILED"),
     ("李四", "13800138000", 0, "MSISDN_NOT_OF_CARRIER"),
     ("李四", "18612345678", 1, "RISK_CONTROL")],
)  # fmt: skip
def test_rejections(name, msisdn, reject_rate, code):
    with carrier(reject_rate=reject_rate) as (client, network):
        post(client, "/v1/CUCC/orders", order(name=name, msisdn=msisdn))
        wait_for(lambda: network.to(CALLBACK), what="rejection")
        event = network.to(CALLBACK)[0].json
        assert event["type"] == "order.rejected" and event["reason_code"] == code
        assert event["reason"]
        shown = get(client, "/v1/CUCC/orders/HK-1").json()
        assert shown["status"] == "REJECTED" and shown["iccid"] is None
        assert (
            post(client, "/v1/CUCC/orders/HK-1/activate", {"iccid_last6": "1"}).status_code == 409
        )
        assert network.to("courier.test") == []


@pytest.mark.parametrize("code", sorted(MSISDN))
def test_every_carrier_accepts_its_own_segments(code):
    with carrier() as (client, network):
        post(client, f"/v1/{code}/orders", order(msisdn=MSISDN[code]))
        wait_for(lambda: network.to(CALLBACK), what="acceptance")
        event = network.to(CALLBACK)[0].json
        assert event["type"] == "order.accepted" and event["carrier"] == code
        mnc = carrier_sim.MNC[code]
        assert event["iccid"].startswith("8986" + mnc) and event["imsi"].startswith("460" + mnc)


def test_bad_requests():
    with carrier() as (client, _network):
        unknown = post(client, "/v1/XYZ/orders", order())
        assert unknown.status_code == 404 and unknown.json() == {"error": "unknown_carrier"}
        assert (
            post(client, "/v1/CUCC/orders", order(msisdn="2861234567")).json()["field"] == "msisdn"
        )
        broken = order()
        del broken["shipping_address"]["receiver"]
        response = post(client, "/v1/CUCC/orders", broken)
        assert response.status_code == 400
        assert response.json()["field"] == "shipping_address.receiver"
        missing = get(client, "/v1/CUCC/orders/nope")
        assert missing.status_code == 404 and missing.json() == {"error": "unknown_order"}
        assert post(client, "/_courier/notify", delivered_notice(), secret="x").status_code == 401
        stray = post(client, "/_courier/notify", delivered_notice("SX999"))
        assert stray.status_code == 404  # the courier retries: the carrier may learn it later
        assert client.get("/_sim/stats").json()["created"] == 0


def test_injected_failure_creates_nothing():
    with carrier(failure_rate=1) as (client, network):
        assert post(client, "/v1/CUCC/orders", order()).status_code == 503
        time.sleep(0.05)
        stats = client.get("/_sim/stats").json()
        assert stats["orders"] == 0 and stats["create_requests"] == 0 and network.seen == []


# ---------------------------------------------------------------- ICCID and IMSI


def test_luhn_known_values():
    assert carrier_sim.luhn_valid("79927398713")
    assert not carrier_sim.luhn_valid("79927398710")
    assert carrier_sim.luhn_check_digit("7992739871") == "3"


@settings(max_examples=300)
@given(seed=st.integers(0, 2**64), code=st.sampled_from(sorted(carrier_sim.MNC)))
def test_property_allocated_iccids_and_imsis_are_well_formed(seed, code):
    rng = random.Random(seed)
    iccid = carrier_sim.allocate_iccid(carrier=code, rng=rng)
    assert len(iccid) == 20 and iccid.isdigit() and iccid.startswith("8986")
    assert carrier_sim.luhn_valid(iccid)
    assert not carrier_sim.luhn_valid(iccid[:-1] + str((int(iccid[-1]) + 1) % 10))
    imsi = carrier_sim.allocate_imsi(carrier=code, rng=rng)
    assert len(imsi) == 15 and imsi.startswith("460" + carrier_sim.MNC[code])


def test_many_allocations_are_unique_and_valid():
    api = carrier_sim.CarrierApi(sim=None)  # allocation needs no simulator state
    iccids = [api._new_iccid("CMCC") for _ in range(20_000)]
    assert len(set(iccids)) == 20_000 and all(carrier_sim.luhn_valid(i) for i in iccids)


# ---------------------------------------------------------------- real processes


def test_real_processes_full_journey_with_duplicates_and_a_timeout():
    with (
        Receiver() as receiver,
        simulator_process(
            "courier", "--secret", "test-secret", "--latency-ms", "0,5", "--time-scale", "100000",
            "--callback-url", "",
        ) as courier_url,
        simulator_process(
            "carrier", "--secret", "test-secret", "--latency-ms", "0,5", "--time-scale", "100000",
            "--courier-url", courier_url, "--duplicate-rate", "1", "--seed", "11",
        ) as carrier_url,
        httpx.Client(base_url=carrier_url, timeout=5) as client,
    ):  # fmt: skip
        callback = receiver.url + "/carrier"
        # A timeout: the request hangs past the caller's timeout and creates nothing.
        client.post("/_sim/config", json={"timeout_rate": 1, "caller_timeout": 0.3})
        with pytest.raises(httpx.TimeoutException):
            body = order(callback_url=callback)
            with httpx.Client(base_url=carrier_url, timeout=0.3) as impatient:
                post(impatient, "/v1/HAOKA/orders", {**body, "msisdn": "17071234567"})
        client.post("/_sim/config", json={"timeout_rate": 0})
        assert client.get("/_sim/stats").json()["orders"] == 0
        for _ in range(3):  # haoka's retries: the carrier sees the order once
            created = post(client, "/v1/HAOKA/orders", {**body, "msisdn": "17071234567"})
            assert created.status_code == 202
        wanted = ["order.accepted", "order.shipped", "order.delivered"]
        types = lambda: [c.json["type"] for c in receiver.at("/carrier")]  # noqa: E731
        wait_for(lambda: [t for i, t in enumerate(types()) if i % 2 == 0] == wanted, timeout=15)
        events = receiver.at("/carrier")
        accepted = events[0].json
        tracking_no = events[2].json["tracking_no"]
        with httpx.Client(base_url=courier_url, timeout=5) as courier_client:
            parcel = get(courier_client, f"/v1/parcels/{tracking_no}").json()
        assert parcel["iccid"] == accepted["iccid"]  # the card in the consumer's hand
        last6 = {"iccid_last6": parcel["iccid"][-6:]}
        activated = post(client, "/v1/HAOKA/orders/HK-1/activate", last6)
        assert activated.status_code == 200
        wait_for(lambda: len(receiver.at("/carrier")) == 8, timeout=10, what="order.activated")
        events = receiver.at("/carrier")
        assert all(e.verifies() for e in events)
        ids = [e.json["event_id"] for e in events]
        assert ids[0::2] == ids[1::2] and len(set(ids)) == 4  # each event exactly twice
        assert [e.json["type"] for e in events[0::2]] == [*wanted, "order.activated"]
        stats = client.get("/_sim/stats").json()
        assert stats["orders"] == 1 and stats["created"] == 1 and stats["repeats"] == 2
        assert stats["timeouts_injected"] == 1
        assert stats["callbacks_sent"] == 4 and stats["callbacks_duplicated"] == 4
