"""A line's life over HTTP against the real processes: the consumer buys and activates a card,
the network charges its data online (Nchf, with an API token), usage records arrive offline,
the owner tops up through the payment gateway and buys a pack; the dashboard and the ledger
agree with all of it. Then an SMF's way in, as 5G core functions go: it finds the CHF at the
NRF (which ``haoka serve`` registered with), takes an access token from it and charges over
HTTP/2 cleartext (h2c, prior knowledge) as well as HTTP/1.1; stopped, serve deregisters.
The web process runs on granian, ``haoka serve``'s default (the distribution journey keeps
``--server gunicorn`` covered)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from haoka.charging import domain
from haoka.core import clock
from tests.support.h2c_sink import H2cSink
from tests.support.journey import Shopper, whole_journey
from tests.support.smf_emulator import UPF_ID, Smf

STACK_OPTIONS = {"numbers": 100, "nrf": True}
REPO = Path(__file__).resolve().parents[2]
DEMO_LINE = "13912345678"  # seeded by haoka demo --setup-only (haoka.demo.DEMO_LINES)
DEMO_IMSI = "460002026112201"
SMF_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
MB = 1024 * 1024
NCHF = "/nchf-convergedcharging/v3/chargingdata"
MAKE_TOKEN = """
import json
from haoka.accounts import operations
from haoka.core import clock
print(json.dumps(operations.create_api_token(
    name="e2e-smf", scopes=["charging"], username=None, now=clock.now()).token))
"""
LEDGER = """
import json
from haoka.core import ledger
print(json.dumps([ledger.trial_balance_fen(), ledger.unbalanced_transactions()]))
"""


#: What haoka charged a session, per rating group (bytes as reported), and whether the ledger
#: balances; then the session's CHF record as its hour's file holds it.
CHARGED = """
import json
from django.db.models import Sum
from haoka.charging.models import UsageRecord
from haoka.core import ledger
rows = (UsageRecord.objects.filter(record_id__startswith="nchf:%(ref)s:")
        .values("rating_group").annotate(total=Sum("raw_amount")).order_by("rating_group"))
print(json.dumps([{str(r["rating_group"]): r["total"] for r in rows},
                  ledger.trial_balance_fen(), ledger.unbalanced_transactions()]))
"""
CDR_OF = """
import json
from pathlib import Path
from django.conf import settings
from haoka.charging import cdr, cdr_files
from haoka.charging.models import ChargingDataRecord
from haoka.core import clock
cdr_files.record_closed_sessions(now=clock.now())
row = ChargingDataRecord.objects.get(session__ref="%(ref)s")
written = cdr_files.write_hour(hour=row.hour, now=clock.now())
lines = (Path(settings.CDR_DIR) / written.name).read_text().splitlines()
print(json.dumps([json.loads(line) for line in lines
                  if json.loads(line)["chargingSessionIdentifier"] == "%(ref)s"]))
"""
#: A line of its owner's with no money and no allowance (0 月租, pay as you go).
PAYG_LINE = """
import json
from haoka.accounts.queries import user_by_phone
from haoka.core import clock
from haoka.lines import operations
user = user_by_phone(phone="%(phone)s")
line = operations.open_line(
    user_id=user.pk, msisdn="%(msisdn)s", carrier_code="CTCC", plan_code="CT-WUYOU-0",
    iccid="89860320261207000017", imsi="%(imsi)s", opening_balance_fen=0, actor="staff:e2e",
    now=clock.now())
print(json.dumps(line.msisdn))
"""
PAID_AT = """
import json
from haoka.charging.models import TopUp
print(json.dumps(TopUp.objects.get(ref="%(ref)s").paid_at.timestamp()))
"""
SUSPEND = """
from haoka.core import clock
from haoka.lines import operations
from haoka.lines.models import Line
line = Line.objects.get(msisdn="%(msisdn)s")
operations.change_status(line_id=line.pk, to="SUSPENDED", suspend_reason="POLICY",
                         actor="staff:e2e", reason="e2e", now=clock.now())
"""


def _nchf(client: httpx.Client, token: str, path: str, body: dict) -> httpx.Response:
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def _body(msisdn: str, seq: int, unit: dict) -> dict:
    return {
        "subscriberIdentifier": f"msisdn-86{msisdn}",
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "e2e-smf"},
        "invocationTimeStamp": "2026-11-22T04:00:00Z",
        "invocationSequenceNumber": seq,
        "multipleUnitUsage": [unit],
    }


def _dashboard(owner: Shopper, msisdn: str) -> dict:
    return owner.call("GET", f"/api/v1/lines/{msisdn}")


def _general_left(dashboard: dict) -> int:
    (general,) = [b for b in dashboard["buckets"] if b["label"] == "套餐通用流量"]
    return general["remaining"]


def test_a_line_is_charged_online_and_offline_topped_up_and_buys_a_pack(module_stack):
    stack = module_stack
    owner = Shopper(base=stack.base, phone="13912349001")
    owner.sign_in()
    order = whole_journey(
        base=stack.base, phone=owner.phone, token=owner.token, serial=41, plan="CM-MANGO-39"
    )
    assert order["state"] == "ACTIVATED", order["events"][-3:]
    msisdn = order["msisdn"]
    start = _dashboard(owner, msisdn)
    # Its first month (¥39, prorated by the Beijing days left today) is charged at activation.
    today = clock.beijing_date(clock.now())
    first_month = domain.prorate(3900, activated_on=today, allowance=False)
    assert start["status"] == "ACTIVE" and start["wallet"]["balance_fen"] == -first_month
    before = _general_left(start)

    # The network charges 30 MB online: reserve, report, release.
    token = stack.manage_json(MAKE_TOKEN)
    network = httpx.Client(base_url=stack.base, timeout=30)
    created = _nchf(network, token, NCHF, _body(msisdn, 0, {"ratingGroup": 1003,
                    "requestedUnit": {"totalVolume": 20 * MB}}))  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["multipleUnitInformation"][0]["grantedUnit"] == {"totalVolume": 20 * MB}
    ref = created.headers["location"].rsplit("/", 1)[1]
    update = _body(msisdn, 1, {"ratingGroup": 1003, "requestedUnit": {"totalVolume": 20 * MB},
                               "usedUnitContainer": [{"totalVolume": 20 * MB}]})  # fmt: skip
    assert _nchf(network, token, f"{NCHF}/{ref}/update", update).status_code == 200
    again = _nchf(
        network, token, f"{NCHF}/{ref}/update", {**update, "retransmissionIndicator": True}
    )
    assert again.status_code == 200  # a retransmission: answered again, charged once
    release = _body(
        msisdn, 2, {"ratingGroup": 1003, "usedUnitContainer": [{"totalVolume": 10 * MB}]}
    )
    assert _nchf(network, token, f"{NCHF}/{ref}/release", release).status_code == 204

    # 1,000 seconds of calls arrive as a CDR (17 started minutes), twice.
    call = {"record_id": f"e2e-{msisdn}-1", "subscriber": msisdn, "service": "voice",
            "amount": 1000, "started_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
    cdr = {"records": [call]}
    rated = network.post("/api/v1/usage-records", json=cdr,
                         headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert rated["rated"] == 1
    repeat = network.post("/api/v1/usage-records", json=cdr,
                          headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert repeat["duplicates"] == 1

    after_use = _dashboard(owner, msisdn)
    assert _general_left(after_use) == before - 30 * MB
    (voice,) = [b for b in after_use["buckets"] if b["label"] == "套餐语音"]
    assert voice["used"] == min(17 * 60, voice["used"] + voice["remaining"])  # prorated

    # The owner tops up ¥30 (and the first month) at the gateway and buys a pack from it.
    started = owner.call("POST", f"/api/v1/lines/{msisdn}/topups", 201,
                         json={"amount_fen": 3000 + first_month, "method": "alipay"})  # fmt: skip
    assert httpx.post(f"{started['pay_url']}/confirm", timeout=30).status_code == 200
    deadline = time.monotonic() + 30
    while _dashboard(owner, msisdn)["wallet"]["balance_fen"] != 3000:
        assert time.monotonic() < deadline, "the top-up never arrived"
        time.sleep(0.3)
    packs = owner.call("GET", f"/api/v1/lines/{msisdn}/packs")
    pack = min((p for p in packs if p["price_fen"] <= 3000 and p["kind"] == "DATA"),
               key=lambda p: p["price_fen"])  # fmt: skip
    owner.call("POST", f"/api/v1/lines/{msisdn}/packs", 201, json={"pack_code": pack["code"]})
    end = _dashboard(owner, msisdn)
    assert end["wallet"]["balance_fen"] == 3000 - pack["price_fen"]
    assert any(b["source"] == "PACK" for b in end["buckets"])

    # Someone else sees nothing of it; the ledger balances.
    stranger = Shopper(base=stack.base, phone="13912349002")
    stranger.sign_in()
    assert stranger.request("GET", f"/api/v1/lines/{msisdn}").status_code == 404
    assert stack.manage_json(LEDGER) == [0, []]


def _chf_at_nrf(nrf: httpx.Client) -> list[dict]:
    query = {"target-nf-type": "CHF", "requester-nf-type": "SMF"}
    return nrf.get("/nnrf-disc/v1/nf-instances", params=query).json()["nfInstances"]


def _until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_an_smf_finds_the_chf_at_the_nrf_and_charges_over_h2c_with_its_token(module_stack):
    stack = module_stack
    nrf = httpx.Client(base_url=stack.sim("nrf"), http2=True, http1=False, timeout=30)
    _until(lambda: _chf_at_nrf(nrf), "serve never registered with the NRF")
    (chf,) = _chf_at_nrf(nrf)
    (service,) = chf["nfServices"]
    assert service["serviceName"] == "nchf-convergedcharging" and service["apiPrefix"] == stack.base
    granted = nrf.post("/oauth2/token", data={
        "grant_type": "client_credentials", "nfInstanceId": SMF_ID, "nfType": "SMF",
        "targetNfType": "CHF", "scope": "nchf-convergedcharging",
    })  # fmt: skip
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]

    smf = httpx.Client(base_url=service["apiPrefix"], http2=True, http1=False, timeout=30)
    created = _nchf(smf, token, NCHF, _body(DEMO_LINE, 0, {"ratingGroup": 100,
                    "requestedUnit": {"totalVolume": MB}}))  # fmt: skip
    assert (created.http_version, created.status_code) == ("HTTP/2", 201), created.text
    ref = created.headers["location"].rsplit("/", 1)[1]
    release = _body(DEMO_LINE, 1, {"ratingGroup": 100, "usedUnitContainer": [{"totalVolume": MB}]})
    assert _nchf(smf, token, f"{NCHF}/{ref}/release", release).status_code == 204
    old_school = httpx.Client(base_url=stack.base, timeout=30)  # HTTP/1.1, the same port
    again = _nchf(old_school, token, NCHF, _body(DEMO_LINE, 0, {"ratingGroup": 100,
                  "requestedUnit": {"totalVolume": MB}}))  # fmt: skip
    assert (again.http_version, again.status_code) == ("HTTP/1.1", 201), again.text
    wrong = smf.get(NCHF, headers={"Authorization": f"Bearer {token}"})
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    forged = _nchf(smf, token[:-4] + "AAAA", NCHF, _body(DEMO_LINE, 0, {"ratingGroup": 100}))
    assert forged.status_code == 401 and "invalid_token" in forged.headers["www-authenticate"]

    for client in (smf, old_school):
        client.close()
    stack.kill("web", signal.SIGTERM)  # serve deregisters on its way out
    assert _chf_at_nrf(nrf) == []
    nrf.close()
    stack.start("web")
    stack._wait_up(f"{stack.base}/healthz")


def test_an_smf_like_free5gcs_charges_a_pdu_session_of_three_rating_groups_once(module_stack):
    """The SMF emulator, its own process: sequence numbers all 0, usage as uplink + downlink,
    URRs by (uPFID, rating group), quota installed only on QUOTA_EXHAUSTED; a token from the
    NRF, the CHF found there, HTTP/2 cleartext only."""
    stack = module_stack
    nrf = httpx.Client(base_url=stack.sim("nrf"), timeout=30)
    _until(lambda: _chf_at_nrf(nrf), "serve never registered with the NRF")
    nrf.close()
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.smf_emulator", "--nrf", stack.sim("nrf"),
         "--imsi", DEMO_IMSI, "--rating-groups", "100,1011,1003", "--updates", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout)
    assert summary["statuses"] == [201, 200, 200, 200, 200, 200, 204]
    groups = summary["groups"]
    for group in groups.values():
        # Every grant could be installed: nothing went unmetered or was cut off.
        assert (group["unmetered"], group["dropped"]) == (0, 0) and group["reported"] > 0
        assert all(a["resultCode"] == "SUCCESS" and a["uPFID"] == "upf-emulated-01"
                   for a in group["answers"])  # fmt: skip

    charged, trial_balance, unbalanced = stack.manage_json(CHARGED % {"ref": summary["ref"]})
    assert charged == {g: v["reported"] for g, v in groups.items()}  # every byte, once
    assert (trial_balance, unbalanced) == (0, [])
    (record,) = stack.manage_json(CDR_OF % {"ref": summary["ref"]})
    assert record["causeForRecClosing"] == 0  # normalRelease
    in_cdr = {
        str(u["ratingGroup"]): sum(c["dataTotalVolume"] for c in u["usedUnitContainers"])
        for u in record["listOfMultipleUnitUsage"]
    }
    assert in_cdr == charged


def test_a_blocked_session_hears_of_a_top_up_within_a_second_and_of_a_suspension(module_stack):
    stack = module_stack
    owner = Shopper(base=stack.base, phone="13912349003")
    owner.sign_in()
    msisdn, imsi = "19912349003", "460112026120703"
    stack.manage_json(PAYG_LINE % {"phone": owner.phone, "msisdn": msisdn, "imsi": imsi})
    nrf = httpx.Client(base_url=stack.sim("nrf"), timeout=30)
    _until(lambda: _chf_at_nrf(nrf), "serve never registered with the NRF")
    nrf.close()
    smf = Smf(nrf=stack.sim("nrf"))
    asking = [{"ratingGroup": 100, "uPFID": UPF_ID, "requestedUnit": {}}]
    with H2cSink() as sink:
        created = smf.post("", smf.request(imsi, asking, notify_uri=sink.url("/nsmf-cb/1")))
        assert created.status_code == 201, created.text
        (info,) = created.json()["multipleUnitInformation"]
        assert info["resultCode"] == "QUOTA_LIMIT_REACHED"  # no money, no allowance
        ref = created.headers["location"].rsplit("/", 1)[1]

        started = owner.call("POST", f"/api/v1/lines/{msisdn}/topups", 201,
                             json={"amount_fen": 1000, "method": "alipay"})  # fmt: skip
        assert httpx.post(f"{started['pay_url']}/confirm", timeout=30).status_code == 200
        (reauth,) = sink.wait_for(1, timeout=30)
        paid_at = stack.manage_json(PAID_AT % {"ref": started["ref"]})
        assert reauth.body == {"notificationType": "REAUTHORIZATION",
                               "reauthorizationDetails": [{"ratingGroup": 100}]}  # fmt: skip
        assert reauth.received_at - paid_at < 1.0, reauth.received_at - paid_at
        again = smf.post(f"/{ref}/update", smf.request(imsi, asking))
        (info,) = again.json()["multipleUnitInformation"]
        assert (again.status_code, info["resultCode"]) == (200, "SUCCESS")
        assert info["grantedUnit"]["totalVolume"] > 0

        stack.manage(SUSPEND % {"msisdn": msisdn})
        received = sink.wait_for(2, timeout=30)
    assert [r.body["notificationType"] for r in received] == ["REAUTHORIZATION", "ABORT_CHARGING"]
    assert all(r.path == "/nsmf-cb/1" and r.method == "POST" for r in received)
