"""The NRF simulator (TS 29.510: NFManagement, NFDiscovery, AccessToken), every body checked
against the 3GPP OpenAPI definitions, and the CHF's registration client (haoka.charging.nrf)
against it: register, heartbeat, register again when forgotten, deregister, an NRF that does
not answer."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from haoka.charging import nrf
from haoka.charging import nrf_simulator as nrf_sim
from tests.support import nchf_spec
from tests.support.simulators import TestClient, fast

NFM, AT = "TS29510_Nnrf_NFManagement.yaml", "TS29510_Nnrf_AccessToken.yaml"
CHF_ID = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
NRF_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
SMF_ID = "11111111-2222-4333-8444-555555555555"
CHF_PROFILE = nrf.profile(instance_id=CHF_ID, base_url="http://10.0.0.5:8000")


@pytest.fixture
def sim(tmp_path):
    app = nrf_sim.create_app(
        fast(), key_file=tmp_path / "nrf.pem", heartbeat=30, instance_id=NRF_ID
    )
    with TestClient(app, base_url="http://nrf.test") as client:
        yield client


def _register(client, profile=CHF_PROFILE):
    return client.put(f"{nrf_sim.NFM}/{profile['nfInstanceId']}", json=profile)


def _token(client, **form):
    fields = {"grant_type": "client_credentials", "nfInstanceId": SMF_ID, "nfType": "SMF",
              "targetNfType": "CHF", "scope": "nchf-convergedcharging", **form}  # fmt: skip
    return client.post("/oauth2/token", data={k: v for k, v in fields.items() if v is not None})


def test_the_chf_profile_is_an_nf_profile_as_ts_29510_defines_it():
    nchf_spec.check(CHF_PROFILE, "NFProfile", spec=NFM)
    (service,) = CHF_PROFILE["nfServices"]
    assert service["serviceName"] == "nchf-convergedcharging"
    assert service["ipEndPoints"] == [{"ipv4Address": "10.0.0.5", "transport": "TCP", "port": 8000}]
    assert service["apiPrefix"] == "http://10.0.0.5:8000"
    by_name = nrf.profile(instance_id=CHF_ID, base_url="https://chf.haoka.example")
    nchf_spec.check(by_name, "NFProfile", spec=NFM)
    assert by_name["fqdn"] == "chf.haoka.example" and by_name["nfServices"][0]["scheme"] == "https"


def test_a_registration_is_answered_with_the_profile_and_its_heartbeat_timer(sim):
    created = _register(sim)
    assert created.status_code == 201
    assert created.headers["location"] == f"http://nrf.test{nrf_sim.NFM}/{CHF_ID}"
    nchf_spec.check(created.json(), "NFProfile", spec=NFM)
    assert created.json()["heartBeatTimer"] == 30
    again = _register(sim)  # the same instance: replaced, not created
    assert again.status_code == 200
    nchf_spec.check(again.json(), "NFProfile", spec=NFM)


def test_a_body_that_is_not_a_profile_of_that_instance_is_refused_with_problem_details(sim):
    url = f"{nrf_sim.NFM}/{CHF_ID}"
    for body, cause in (
        ({"nfType": "CHF", "nfStatus": "REGISTERED"}, "MANDATORY_IE_MISSING"),
        ({**CHF_PROFILE, "nfInstanceId": SMF_ID}, "MANDATORY_IE_INCORRECT"),
    ):
        refused = sim.put(url, json=body)
        assert refused.status_code == 400 and refused.json()["cause"] == cause
        assert refused.headers["content-type"] == "application/problem+json"
        nchf_spec.check(refused.json(), "ProblemDetails", spec="TS29571_CommonData.yaml")
    assert sim.put(url, content=b"[1").status_code == 400
    assert sim.get(url).status_code == 404  # nothing was registered


def test_heartbeat_and_deregistration_and_an_unknown_instance(sim):
    _register(sim)
    patch = [{"op": "replace", "path": "/nfStatus", "value": "REGISTERED"}]
    headers = {"content-type": "application/json-patch+json"}
    url = f"{nrf_sim.NFM}/{CHF_ID}"
    assert sim.patch(url, json=patch, headers=headers).status_code == 204
    bad = sim.patch(url, json=[{"op": "replace", "path": "/nfType", "value": "SMF"}])
    assert bad.status_code == 400  # the NF type is not the heartbeat's to change
    assert sim.delete(url).status_code == 204
    for answer in (sim.delete(url), sim.patch(url, json=patch, headers=headers)):
        assert answer.status_code == 404
        nchf_spec.check(answer.json(), "ProblemDetails", spec="TS29571_CommonData.yaml")
    stats = sim.get("/_sim/stats").json()
    assert (stats["registrations"], stats["heartbeats"], stats["deregistrations"]) == (1, 1, 1)


def test_discovery_finds_registered_chfs_by_type_and_service(sim):
    _register(sim)
    smf = {"nfInstanceId": SMF_ID, "nfType": "SMF", "nfStatus": "REGISTERED"}
    _register(sim, smf)
    query = {"target-nf-type": "CHF", "requester-nf-type": "SMF"}
    found = sim.get(nrf_sim.DISC, params=query)
    assert found.status_code == 200
    # A SearchResult (NFDiscovery's definitions are not among the specs: its profiles are
    # checked as NFManagement's NFProfile, which they extend).
    assert set(found.json()) == {"validityPeriod", "nfInstances"}
    for profile in found.json()["nfInstances"]:
        nchf_spec.check(profile, "NFProfile", spec=NFM)
    assert [p["nfInstanceId"] for p in found.json()["nfInstances"]] == [CHF_ID]
    other = sim.get(nrf_sim.DISC, params={**query, "service-names": "nudm-sdm"})
    assert other.json()["nfInstances"] == []
    missing = sim.get(nrf_sim.DISC, params={"target-nf-type": "CHF"})
    assert missing.status_code == 400 and missing.json()["cause"] == "MANDATORY_IE_MISSING"


def test_an_nf_whose_heartbeat_is_overdue_is_not_discovered(sim):
    _register(sim)
    sim.app.state.nrf.seen[CHF_ID] = time.monotonic() - 61  # two 30 s timers and more
    query = {"target-nf-type": "CHF", "requester-nf-type": "SMF"}
    assert sim.get(nrf_sim.DISC, params=query).json()["nfInstances"] == []


def test_an_access_token_is_a_jwt_with_the_claims_ts_29510_names(sim, tmp_path):
    _register(sim)
    before = int(time.time())
    issued = _token(sim)
    after = time.time()
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    nchf_spec.check(issued.json(), "AccessTokenRsp", spec=AT)
    public = (tmp_path / "nrf.pem.pub").read_bytes()
    claims = jwt.decode(issued.json()["access_token"], public, algorithms=["RS256"],
                        audience="CHF", issuer=NRF_ID)  # fmt: skip
    nchf_spec.check(claims, "AccessTokenClaims", spec=AT)
    assert claims["sub"] == SMF_ID and claims["scope"] == "nchf-convergedcharging"
    assert before <= claims["exp"] - nrf_sim.DEFAULT_TOKEN_TTL <= after
    for_one = _token(sim, targetNfInstanceId=CHF_ID, targetNfType=None)
    claims = jwt.decode(for_one.json()["access_token"], public, algorithms=["RS256"],
                        audience=CHF_ID, issuer=NRF_ID)  # fmt: skip
    assert claims["aud"] == [CHF_ID]


def test_token_requests_the_nrf_cannot_grant_are_access_token_errors(sim):
    assert _token(sim).json()["error"] == "invalid_scope"  # no CHF registered yet
    _register(sim)
    for form, error in (
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"nfInstanceId": None}, "invalid_request"),
        ({"targetNfType": None}, "invalid_request"),
        ({"targetNfInstanceId": str(uuid.uuid4())}, "invalid_request"),
        ({"scope": "nchf-convergedcharging nudm-sdm"}, "invalid_scope"),
    ):
        refused = _token(sim, **form)
        assert refused.status_code == 400 and refused.json()["error"] == error, form
        nchf_spec.check(refused.json(), "AccessTokenErr", spec=AT)


def test_injected_failures_reach_the_nrf_too(sim):
    sim.post("/_sim/config", json={"failure_rate": 1.0})
    assert _register(sim).status_code == 503
    assert _token(sim).status_code == 503


# ---------------------------------------------------------------- the CHF's registration


def _registration(client) -> nrf.Registration:
    return nrf.Registration(nrf_url="http://nrf.test", nf_profile=CHF_PROFILE, client=client)


def test_the_chf_registers_heartbeats_and_deregisters(sim):
    registration = _registration(sim)
    registration.register()
    assert registration.heartbeat_seconds == 30  # the NRF's timer, not the profile's
    registration.heartbeat()
    nrf_state = sim.app.state.nrf
    assert nrf_state.profiles[CHF_ID]["nfStatus"] == "REGISTERED"
    registration.deregister()
    assert CHF_ID not in nrf_state.profiles


def test_a_chf_the_nrf_forgot_registers_again_at_its_next_heartbeat(sim):
    registration = _registration(sim)
    registration.register()
    sim.app.state.nrf.profiles.clear()  # the NRF restarted
    registration.heartbeat()
    assert CHF_ID in sim.app.state.nrf.profiles


def test_the_registration_thread_registers_at_once_and_deregisters_when_stopped(tmp_path):
    app = nrf_sim.create_app(fast(), key_file=tmp_path / "k.pem", heartbeat=1, instance_id=NRF_ID)
    with TestClient(app, base_url="http://nrf.test") as client:
        stats = lambda: client.get("/_sim/stats").json()  # noqa: E731
        # Its own client: stopping closes it.
        running = _registration(TestClient(app, base_url="http://nrf.test")).start()
        deadline = time.monotonic() + 10
        while stats()["heartbeats"] < 1:
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.05)
        running.stop()
        assert stats()["registrations"] == 1 and stats()["deregistrations"] == 1
        assert app.state.nrf.profiles == {}


def test_an_nrf_that_does_not_answer_is_retried_without_raising():
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("refused", request=request)

    registration = _registration(httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(nrf.NrfError):
        registration.register()
    registration.start()
    deadline = time.monotonic() + 10
    while len(calls) < 2:  # the thread's first attempt came and failed
        assert time.monotonic() < deadline
        time.sleep(0.01)
    registration.stop()  # never registered: nothing to deregister
    assert set(calls) == {"PUT"} and not registration.registered


def test_no_nrf_configured_means_no_registration(settings):
    settings.NRF_URL = ""
    assert nrf.start_registration() is None
