"""An SMF for end-to-end tests of online charging, behaving as free5gc's SMF does towards its
CHF (the open-source 5G core an operator is most likely to test with), run as its own process:

    python -m tests.support.smf_emulator --nrf http://127.0.0.1:8104 --imsi 460002026112201 \\
        --rating-groups 100,1011,1003 --updates 5 --seed 7 > summary.json

- It takes an OAuth2 access token from the NRF (Nnrf_AccessToken, client credentials, scope
  ``nchf-convergedcharging``) and finds the CHF there (Nnrf_NFDiscovery), then speaks to it
  over HTTP/2 cleartext with prior knowledge only.
- ``invocationSequenceNumber`` is always 0 (free5gc never sets it); usage is reported as
  ``uplinkVolume`` + ``downlinkVolume`` without ``totalVolume``; every rating group carries the
  user plane's ``uPFID``, and usage reporting rules are found by (uPFID, rating group).
- A grant becomes a volume quota at the UPF only when its ``triggers`` hold QUOTA_EXHAUSTED, a
  threshold only with QUOTA_THRESHOLD, a validity timer only with VALIDITY_TIME; traffic beyond an
  installed quota is dropped (not sent, not reported); traffic of a rating group with no quota
  installed is not metered at all (that is what an SMF does with a grant it cannot act on, and
  what this emulator exists to catch).
- Its notify endpoint (``notifyUri``) is an h2c server of its own; REAUTHORIZATION makes it ask
  again for the listed rating groups, ABORT_CHARGING makes it release the session.

It prints a JSON summary: per rating group the bytes it reported (what the CHF must have
charged, exactly once), the bytes it dropped, and what the CHF answered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import uuid
from dataclasses import dataclass, field

import httpx

from tests.support.h2c_sink import H2cSink

SCOPE = "nchf-convergedcharging"
UPF_ID = "upf-emulated-01"


@dataclass
class Urr:
    """A usage reporting rule at the UPF for one (uPFID, rating group)."""

    rating_group: int
    quota: int | None = None  # installed only on QUOTA_EXHAUSTED
    threshold: int | None = None  # installed only on QUOTA_THRESHOLD
    validity_s: int | None = None  # installed only on VALIDITY_TIME
    used_since_report: tuple[int, int] = (0, 0)  # (uplink, downlink)
    reported: int = 0
    dropped: int = 0
    unmetered: int = 0
    answers: list[dict] = field(default_factory=list)


class Smf:
    def __init__(self, *, nrf: str, chf: str | None = None) -> None:
        self.nrf = nrf.rstrip("/")
        self.instance_id = str(uuid.uuid4())
        self.http = httpx.Client(http1=False, http2=True, timeout=10.0)
        self.nrf_http = httpx.Client(http1=True, http2=False, timeout=10.0)
        self.token = self._token()
        self.chf = (chf or self._discover()).rstrip("/")

    # ------------------------------------------------------------------ the NRF
    def _token(self) -> str:
        reply = self.nrf_http.post(
            f"{self.nrf}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "nfInstanceId": self.instance_id,
                "nfType": "SMF",
                "targetNfType": "CHF",
                "scope": SCOPE,
            },
        )
        reply.raise_for_status()
        return reply.json()["access_token"]

    def _discover(self) -> str:
        reply = self.nrf_http.get(
            f"{self.nrf}/nnrf-disc/v1/nf-instances",
            params={"target-nf-type": "CHF", "requester-nf-type": "SMF", "service-names": SCOPE},
        )
        reply.raise_for_status()
        for profile in reply.json()["nfInstances"]:
            for service in profile.get("nfServices") or []:
                if service.get("serviceName") == SCOPE and service.get("apiPrefix"):
                    return service["apiPrefix"]
        raise RuntimeError("no CHF offers nchf-convergedcharging at the NRF")

    # ------------------------------------------------------------------ Nchf
    def post(self, path: str, body: dict) -> httpx.Response:
        return self.http.post(
            f"{self.chf}/nchf-convergedcharging/v3/chargingdata{path}", json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )  # fmt: skip

    def request(self, imsi: str, units: list[dict], *, notify_uri: str | None = None) -> dict:
        body = {
            "subscriberIdentifier": f"imsi-{imsi}",
            "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": self.instance_id},
            "invocationTimeStamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "invocationSequenceNumber": 0,
            "multipleUnitUsage": units,
        }
        if notify_uri:
            body["notifyUri"] = notify_uri
        return body


def install(urr: Urr, info: dict) -> None:
    """What the SMF installs at the UPF from one multipleUnitInformation."""
    urr.answers.append(info)
    triggers = {t.get("triggerType") for t in info.get("triggers") or []}
    granted = (info.get("grantedUnit") or {}).get("totalVolume")
    urr.quota = granted if "QUOTA_EXHAUSTED" in triggers and granted is not None else None
    threshold = info.get("volumeQuotaThreshold")
    urr.threshold = threshold if "QUOTA_THRESHOLD" in triggers else None
    urr.validity_s = info.get("validityTime") if "VALIDITY_TIME" in triggers else None


def send_traffic(urr: Urr, amount: int) -> None:
    """The UE sends ``amount`` bytes of the rating group; the UPF enforces the quota."""
    if urr.quota is None:
        urr.unmetered += amount
        return
    up, down = urr.used_since_report
    room = max(urr.quota - (up + down), 0)
    sent = min(amount, room)
    urr.dropped += amount - sent
    up_part = sent // 5
    urr.used_since_report = (up + up_part, down + sent - up_part)


def report(urr: Urr, *, ask: bool, trigger: str) -> dict:
    up, down = urr.used_since_report
    unit: dict = {"ratingGroup": urr.rating_group, "uPFID": UPF_ID}
    if ask:
        unit["requestedUnit"] = {}
    if up or down or trigger == "FINAL":
        unit["usedUnitContainer"] = [{
            "localSequenceNumber": len(urr.answers), "uplinkVolume": up, "downlinkVolume": down,
            "triggers": [{"triggerType": trigger, "triggerCategory": "IMMEDIATE_REPORT"}],
            "triggerTimestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }]  # fmt: skip
    urr.reported += up + down
    urr.used_since_report = (0, 0)
    return unit


def run_session(smf: Smf, *, imsi: str, groups: list[int], updates: int, seed: int) -> dict:
    rng = random.Random(seed)
    urrs = {g: Urr(g) for g in groups}
    with H2cSink() as sink:
        units = [{"ratingGroup": g, "uPFID": UPF_ID, "requestedUnit": {}} for g in groups]
        created = smf.post(
            "", smf.request(imsi, units, notify_uri=sink.url("/nsmf-callback/charging"))
        )
        if created.status_code != 201:
            return {"error": created.status_code, "body": created.text}
        ref = created.headers["location"].rstrip("/").rsplit("/", 1)[1]
        statuses = [created.status_code]
        for info in created.json().get("multipleUnitInformation", []):
            install(urrs[info["ratingGroup"]], info)
        for _ in range(updates):
            for urr in urrs.values():
                send_traffic(urr, rng.randint(200_000, 3_000_000))
            units = [report(u, ask=True, trigger=_trigger(u)) for u in urrs.values()]
            answer = smf.post(f"/{ref}/update", smf.request(imsi, units))
            statuses.append(answer.status_code)
            for info in answer.json().get("multipleUnitInformation", []) if answer.content else []:
                install(urrs[info["ratingGroup"]], info)
        final = [report(u, ask=False, trigger="FINAL") for u in urrs.values()]
        released = smf.post(f"/{ref}/release", smf.request(imsi, final))
        statuses.append(released.status_code)
        notified = [r.body for r in sink.requests]
    return {
        "ref": ref, "statuses": statuses, "notifications": notified,
        "groups": {str(g): {"reported": u.reported, "dropped": u.dropped, "unmetered": u.unmetered,
                            "answers": u.answers} for g, u in urrs.items()},
    }  # fmt: skip


def _trigger(urr: Urr) -> str:
    up, down = urr.used_since_report
    if urr.quota is not None and up + down >= urr.quota:
        return "QUOTA_EXHAUSTED"
    if (
        urr.threshold is not None
        and urr.quota is not None
        and urr.quota - (up + down) <= urr.threshold
    ):
        return "QUOTA_THRESHOLD"
    return "VALIDITY_TIME" if urr.validity_s is not None else "PERIODIC"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nrf", required=True)
    parser.add_argument("--chf", help="the CHF's apiRoot (default: discovered at the NRF)")
    parser.add_argument("--imsi", required=True)
    parser.add_argument("--rating-groups", default="100,1011,1003")
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    smf = Smf(nrf=args.nrf, chf=args.chf)
    groups = [int(g) for g in args.rating_groups.split(",")]
    summary = run_session(smf, imsi=args.imsi, groups=groups, updates=args.updates, seed=args.seed)
    json.dump(summary, sys.stdout, ensure_ascii=False)
    return 0 if "error" not in summary else 1


if __name__ == "__main__":
    sys.exit(main())
