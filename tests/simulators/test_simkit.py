"""The simulators' shared machinery: config, fault injection, signatures, callback delivery."""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import httpx
import pytest

from haoka import simkit, simulate
from haoka.core import signing
from haoka.payments import simulator as payment_sim
from tests.support.simulators import FakeNetwork, TestClient, fast, get, post, signed

# ---------------------------------------------------------------- configuration


def test_config_comes_from_defaults_then_env_then_flags():
    parser = argparse.ArgumentParser()
    simulate.add_sim_arguments(parser)
    args = parser.parse_args(["--failure-rate", "0.25", "--latency-ms", "5,9", "--seed", "3"])
    env = {"HAOKA_SIM_FAILURE_RATE": "0.5", "HAOKA_SIM_TIME_SCALE": "60", "HAOKA_SIM_SECRET": "s"}
    config = simulate.config_from(args=args, env=env, callback_url="http://x/cb")
    assert config.failure_rate == 0.25  # the flag wins over the environment
    assert config.time_scale == 60.0
    assert config.latency_ms == (5, 9)
    assert config.seed == 3
    assert config.secret == "s"
    assert config.callback_url == "http://x/cb"
    assert "secret" not in config.public()


@pytest.mark.parametrize(
    "changes",
    [{"failure_rate": 1.5}, {"latency_ms": [9, 5]}, {"time_scale": 0}, {"secret": "x"},
     {"nonsense": 1}, {"timeout_rate": "abc"}],
)  # fmt: skip
def test_bad_settings_are_refused_and_change_nothing(changes):
    config = simkit.SimConfig(failure_rate=0.1)
    with pytest.raises(simkit.SimError) as caught:
        config.update({"duplicate_rate": 0.5, **changes})
    assert caught.value.status == 400
    assert config.duplicate_rate == 0.0 and config.failure_rate == 0.1


def test_sim_config_and_stats_routes():
    with TestClient(payment_sim.create_app(fast())) as client:
        assert client.get("/_sim/config").json()["time_scale"] == 1_000_000
        changed = client.post("/_sim/config", json={"failure_rate": 0.3, "latency_ms": [1, 2]})
        assert changed.json()["failure_rate"] == 0.3 and changed.json()["latency_ms"] == [1, 2]
        bad = client.post("/_sim/config", json={"failure_rate": 2})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_config"
        stats = client.get("/_sim/stats").json()
        for key in simkit.STAT_KEYS:
            assert stats[key] == 0


def test_simulate_builds_each_app_with_its_defaults():
    args = simulate.parser().parse_args(["courier", "--time-scale", "3600"])
    app = simulate.build(args.kind, args)
    assert app.state.sim.config.time_scale == 3600
    assert app.state.sim.config.callback_url.endswith("/api/v1/callbacks/couriers/simexpress")
    assert simulate.main(["payment", "--failure-rate", "7"]) == 2


# ---------------------------------------------------------------- signatures and faults


def test_signature_is_required_fresh_and_right():
    payload = {"merchant_order_id": "m1", "amount_fen": 100, "method": "wechat",
               "notify_url": "http://h/cb"}  # fmt: skip
    with TestClient(payment_sim.create_app(fast())) as client:
        unsigned = client.post("/v1/payments", json=payload)
        wrong = post(client, "/v1/payments", payload, secret="other")
        stale = post(client, "/v1/payments", payload, timestamp=int(time.time()) - 301)
        body, headers = signed(payload)
        tampered = client.post("/v1/payments", content=body + b" ", headers=headers)
        for response in (unsigned, wrong, stale, tampered):
            assert response.status_code == 401
            assert response.json() == {"error": "bad_signature"}
        assert client.get("/_sim/stats").json()["created"] == 0
        assert post(client, "/v1/payments", payload).status_code == 201


def test_timeout_sleeps_past_the_callers_timeout_and_creates_nothing():
    payload = {"merchant_order_id": "m1", "amount_fen": 100, "method": "alipay",
               "notify_url": "http://h/cb"}  # fmt: skip
    with TestClient(payment_sim.create_app(fast(timeout_rate=1, caller_timeout=0.3))) as client:
        started = time.monotonic()
        response = post(client, "/v1/payments", payload)
        assert time.monotonic() - started > 0.3
        assert response.status_code == 504
        stats = client.get("/_sim/stats").json()
        assert stats["timeouts_injected"] == 1 and stats["created"] == 0
        assert stats["create_requests"] == 0


def test_seeded_faults_are_reproducible():
    def codes(seed: int) -> list[int]:
        config = fast(failure_rate=0.5, seed=seed, latency_ms=[0, 3])
        with TestClient(payment_sim.create_app(config)) as client:
            return [get(client, "/v1/payments/nope").status_code for _ in range(30)]

    first = codes(7)
    assert first == codes(7)
    assert set(first) == {503, 404}
    assert first != codes(8)


def test_sleep_is_divided_by_the_time_scale():
    sim = simkit.Sim(fast(time_scale=3600))

    async def run() -> float:
        started = time.monotonic()
        await sim.sleep(360)  # six simulated minutes = 0.1 s
        return time.monotonic() - started

    assert 0.09 < asyncio.run(run()) < 0.5


# ---------------------------------------------------------------- callback delivery


def deliver(config: simkit.SimConfig, network: FakeNetwork, events: list[tuple[str, str]],
            *, until: int, timeout: float = 10.0) -> simkit.Sim:  # fmt: skip
    """Send ``events`` (key, type) through a CallbackSender and wait for ``until`` deliveries."""
    sim = simkit.Sim(config, transport=network.transport())

    async def run() -> None:
        await sim.startup()
        rng = random.Random(1)
        for key, kind in events:
            sim.callbacks.send(url="http://haoka/cb", payload={"type": kind}, key=key, rng=rng)
        deadline = time.monotonic() + timeout
        while sum(1 for c in network.seen if c.url.endswith("/cb")) < until:
            assert time.monotonic() < deadline, "callbacks not delivered"
            await asyncio.sleep(0.01)
        await sim.shutdown()

    asyncio.run(run())
    return sim


def test_callbacks_are_signed_and_in_order_per_object():
    def slow_first(request: httpx.Request) -> httpx.Response:
        # The first attempt of o1's first event fails: o1's later events must wait for it.
        if b'"o1-a"' in request.content and not slow_first.failed:
            slow_first.failed = True
            return httpx.Response(500)
        return httpx.Response(200)

    slow_first.failed = False
    network = FakeNetwork(routes={"/cb": slow_first})
    events = [("o1", "o1-a"), ("o2", "o2-a"), ("o1", "o1-b"), ("o1", "o1-c"), ("o2", "o2-b")]
    sim = deliver(fast(), network, events, until=6)
    assert all(c.verifies() for c in network.seen)
    delivered = [c.json["type"] for c in network.seen]
    assert [t for t in delivered if t.startswith("o1")] == ["o1-a", "o1-a", "o1-b", "o1-c"]
    assert [t for t in delivered if t.startswith("o2")] == ["o2-a", "o2-b"]
    assert delivered.index("o2-a") < delivered.index("o1-b")  # other objects do not wait
    assert len({c.json["event_id"] for c in network.seen}) == 5
    assert sim.stats["callbacks_sent"] == 5 and sim.stats["callbacks_failed"] == 1


def test_callbacks_are_retried_until_2xx():
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(200)

    network = FakeNetwork(routes={"/cb": flaky})
    sim = deliver(fast(), network, [("o1", "a")], until=3)
    assert sim.stats["callbacks_failed"] == 2 and sim.stats["callbacks_sent"] == 1
    assert len({c.json["event_id"] for c in network.seen}) == 1
    signatures = {c.headers[signing.HEADER.lower()] for c in network.seen}
    assert all(c.verifies() for c in network.seen) and signatures


def test_duplicates_resend_the_same_event_id():
    network = FakeNetwork()
    sim = deliver(fast(duplicate_rate=1), network, [("o1", "a"), ("o1", "b")], until=4)
    ids = [c.json["event_id"] for c in network.seen]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert sim.stats["callbacks_sent"] == 2 and sim.stats["callbacks_duplicated"] == 2


def test_out_of_order_delivers_the_next_event_of_the_object_first(monkeypatch):
    monkeypatch.setattr(simkit, "HOLD_SECONDS", 0.2)
    network = FakeNetwork()
    events = [("o1", "a"), ("o1", "b"), ("o1", "c")]
    sim = deliver(fast(out_of_order_rate=1), network, events, until=3)
    assert [c.json["type"] for c in network.seen] == ["b", "a", "c"]  # c: released after hold
    assert sim.stats["callbacks_reordered"] == 1 and sim.stats["callbacks_sent"] == 3


def test_shutdown_cancels_pending_deliveries():
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    sim = simkit.Sim(fast(), transport=FakeNetwork(routes={"/cb": down}).transport())

    async def run() -> None:
        await sim.startup()
        sim.callbacks.send(url="http://haoka/cb", payload={}, key="k", rng=random.Random(1))
        await asyncio.sleep(0.1)
        assert sim.pending() == 1
        await sim.shutdown()
        assert sim.pending() == 0

    asyncio.run(run())
    assert sim.stats["callbacks_failed"] >= 1 and sim.stats["callbacks_sent"] == 0
