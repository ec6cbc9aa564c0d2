"""The simulators' ports follow haoka's (``HAOKA_PORT`` + 101..103) unless their URLs are set, so
two demos on one machine do not collide; the demo starts them there, tells the web process and
the worker, and prints them (issue "Hardening", item 18)."""

from __future__ import annotations

import os
import subprocess
import sys

from haoka import demo, simulate

URL_VARIABLES = ("HAOKA_PAYMENT_GATEWAY_URL", "HAOKA_CARRIER_API_URL", "HAOKA_COURIER_API_URL")


def _option(proc: demo.Proc, flag: str) -> str:
    return proc.args[proc.args.index(flag) + 1]


def _sims(procs: list[demo.Proc]) -> dict[str, demo.Proc]:
    return {p.args[1]: p for p in procs if p.args[0] == "simulate"}


def test_the_simulators_ports_sit_beside_haokas_port():
    assert [simulate.default_port(k, web_port=8000) for k in simulate.SIMULATORS] == [
        8101,
        8102,
        8103,
        8104,
    ]
    assert simulate.sim_urls(web_port=8080, env={}) == {
        "payment": "http://127.0.0.1:8181",
        "carrier": "http://127.0.0.1:8182",
        "courier": "http://127.0.0.1:8183",
        "nrf": "http://127.0.0.1:8184",
    }


def test_a_simulator_url_set_in_the_environment_wins():
    env = {"HAOKA_CARRIER_API_URL": "http://127.0.0.1:9402"}
    urls = simulate.sim_urls(web_port=8080, env=env)
    assert urls["carrier"] == "http://127.0.0.1:9402" and urls["courier"].endswith(":8183")
    assert simulate.listen_port("http://127.0.0.1:9402") == 9402
    assert simulate.listen_port("https://pay.example") == 443


def test_the_demo_starts_its_simulators_beside_its_own_port_and_says_so_to_everyone():
    procs, env = demo.plan(port=8080, env={"PATH": "/bin"})
    sims = _sims(procs)
    assert {k: _option(p, "--port") for k, p in sims.items()} == {
        "payment": "8181",
        "carrier": "8182",
        "courier": "8183",
        "nrf": "8184",
    }
    assert _option(sims["carrier"], "--courier-url") == "http://127.0.0.1:8183"
    assert _option(sims["courier"], "--callback-url").startswith("http://127.0.0.1:8080/api/")
    assert [env[v] for v in URL_VARIABLES] == [
        "http://127.0.0.1:8181",
        "http://127.0.0.1:8182",
        "http://127.0.0.1:8183",
    ]
    assert env["HAOKA_PORT"] == "8080" and env["PATH"] == "/bin"
    # serve registers with the NRF simulator and trusts the key it signs tokens with.
    assert env["HAOKA_NRF_URL"] == "http://127.0.0.1:8184"
    assert env["HAOKA_NRF_PUBLIC_KEY"] == env["HAOKA_NRF_SIM_KEY_FILE"] + ".pub"
    assert env["HAOKA_NRF_INSTANCE_ID"] == simulate.NRF_SIM_INSTANCE_ID
    shown = demo.banner(port=8080, env=env)
    assert all(f"http://127.0.0.1:{p}" in shown for p in (8080, 8181, 8182, 8183, 8184))


def test_two_demos_on_different_ports_use_different_ports_for_everything():
    ports = []
    for port in (8000, 8080):
        procs, _env = demo.plan(port=port, env={})
        ports += [port, *(int(_option(p, "--port")) for p in _sims(procs).values())]
    assert len(set(ports)) == len(ports) == 10


def test_the_demo_starts_a_simulator_on_the_port_of_its_url_when_one_is_set():
    procs, env = demo.plan(port=8080, env={"HAOKA_PAYMENT_GATEWAY_URL": "http://127.0.0.1:9301"})
    assert _option(_sims(procs)["payment"], "--port") == "9301"
    assert env["HAOKA_PAYMENT_GATEWAY_URL"] == "http://127.0.0.1:9301"


def test_the_settings_find_the_simulators_where_the_demo_starts_them(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAOKA_", "DJANGO_"))}
    env |= {"HAOKA_HOME": str(tmp_path), "HAOKA_SANDBOX": "1", "HAOKA_PORT": "8080"}
    load = (
        "import haoka.settings as s; "
        "print(s.PAYMENT_GATEWAY_URL, s.CARRIER_API_URL, s.COURIER_API_URL, s.PUBLIC_BASE_URL)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", load], env=env, capture_output=True, text=True, timeout=60
    )
    assert loaded.returncode == 0, loaded.stderr
    urls = simulate.sim_urls(web_port=8080, env={})
    assert loaded.stdout.split() == [
        urls["payment"],
        urls["carrier"],
        urls["courier"],
        "http://127.0.0.1:8080",
    ]


def test_a_lone_simulator_looks_for_its_neighbours_beside_haokas_port(monkeypatch):
    for variable in URL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HAOKA_PORT", "8080")
    carrier = simulate.build("carrier").state.sim.config
    assert carrier.courier_url == "http://127.0.0.1:8183"
    courier = simulate.build("courier").state.sim.config
    assert courier.callback_url.startswith("http://127.0.0.1:8080/api/v1/callbacks/couriers/")
