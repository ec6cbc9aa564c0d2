"""流量控 over HTTP against the real processes (issue 23, "Must show"): line A's owner gives
line B 1 GB with the code the SMS sandbox received on A's number, B's sessions over Nchf spend
the gift before B's plan data; then A's owner opens a family group, invites line C with a
monthly cap, C's owner accepts with the code sent to C's number, and C (no data of its own, no
money) draws A's plan data up to the cap, which A's family page shows; B joins too (a family of
three), A's history (what its bill lists) shows the gift, and A's owner converts 2 GB of a pack
into points and spends them on a pack in the points shop. The ledger's trial balances stay at
zero in every unit.

The three lines are opened by staff in one ``haoka manage`` process (buying three cards is the
journey tests' subject); everything the owners and the network do goes over HTTP."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from tests.support.journey import Shopper

STACK_OPTIONS = {"numbers": 20}
MB = 1024 * 1024
GB = 1024 * MB
#: A rating group no plan here counts as targeted (电信星卡 targets 1003, 1006, 1007, 1012).
GENERAL = 100
NCHF = "/nchf-convergedcharging/v3/chargingdata"
A, B, C = "19912352301", "19912352302", "19912352303"
OWNERS = {A: "13912352301", B: "13912352302", C: "13912352303"}
#: Staff open the three lines: A and B on 电信星卡19元 (60 GB general data), C on 0 月租 with no
#: money (nothing of its own to spend); then an API token for the network.
OPEN_LINES = """
import json
from haoka.accounts import operations as accounts
from haoka.accounts.queries import user_by_phone
from haoka.core import clock
from haoka.lines import operations
for n, (msisdn, phone, plan, money) in enumerate(%(lines)r):
    operations.open_line(
        user_id=user_by_phone(phone=phone).pk, msisdn=msisdn, carrier_code="CTCC",
        plan_code=plan, iccid=f"8986032026120723{n:04d}", imsi=f"46011202612{n:04d}",
        opening_balance_fen=money, actor="staff:e2e", now=clock.now())
print(json.dumps(accounts.create_api_token(
    name="e2e-smf", scopes=["charging"], username=None, now=clock.now()).token))
"""
#: Staff put a 1 GB day pack on sale in the points shop for ``price`` points.
SHOP_ITEM = """
from haoka.charging import points_shop
points_shop.put_on_sale(code="e2e-pack-1g", name="1G 日包", kind="PACK", price_points=%(price)d,
                        pack_code="PK-DATA-1G-1D")
"""
LEDGER = """
import json
from haoka.core import ledger
print(json.dumps([ledger.trial_balances(), ledger.unbalanced_transactions()]))
"""


class Network:
    """An SMF charging data sessions over Nchf with its API token."""

    def __init__(self, base: str, token: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}

    def _post(self, path: str, msisdn: str, seq: int, unit: dict) -> httpx.Response:
        body = {
            "subscriberIdentifier": f"msisdn-86{msisdn}",
            "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "e2e-smf"},
            "invocationTimeStamp": dt.datetime.now(dt.UTC).isoformat(),  # after the gift
            "invocationSequenceNumber": seq,
            "multipleUnitUsage": [{"ratingGroup": GENERAL, **unit}],
        }
        return self.client.post(path, json=body, headers=self.headers)

    def open(self, msisdn: str, asking: int) -> tuple[str, int]:
        """A session asking ``asking`` bytes: its ref and the bytes granted."""
        created = self._post(NCHF, msisdn, 0, {"requestedUnit": {"totalVolume": asking}})
        assert created.status_code == 201, created.text
        (info,) = created.json()["multipleUnitInformation"]
        ref = created.headers["location"].rsplit("/", 1)[1]
        return ref, info.get("grantedUnit", {}).get("totalVolume", 0)

    def use(self, msisdn: str, ref: str, used: int, *, seq: int, asking: int = 0) -> int:
        """Report ``used`` bytes and ask ``asking`` more (update ``seq``); the bytes granted."""
        unit = {"usedUnitContainer": [{"totalVolume": used}],
                "requestedUnit": {"totalVolume": asking}}  # fmt: skip
        answer = self._post(f"{NCHF}/{ref}/update", msisdn, seq, unit)
        assert answer.status_code == 200, answer.text
        (info,) = answer.json()["multipleUnitInformation"]
        return info.get("grantedUnit", {}).get("totalVolume", 0)

    def release(self, msisdn: str, ref: str, used: int, *, seq: int = 1) -> None:
        unit = {"usedUnitContainer": [{"totalVolume": used}]}
        assert self._post(f"{NCHF}/{ref}/release", msisdn, seq, unit).status_code == 204


def _code_sent_to(owner: Shopper, msisdn: str) -> str:
    """The newest code the SMS sandbox holds for ``msisdn`` (the SIM in the owner's hand)."""
    sms = owner.call("GET", "/api/v1/sandbox/sms", params={"phone": msisdn})
    return re.search(r"(\d{6})", sms[0]["text"]).group(1)


def _buckets(owner: Shopper, msisdn: str) -> dict[str, dict]:
    dashboard = owner.call("GET", f"/api/v1/lines/{msisdn}")
    return {b["source"]: b for b in dashboard["buckets"] if b["label"] != "套餐语音"}


def _general(owner: Shopper, msisdn: str) -> int:
    dashboard = owner.call("GET", f"/api/v1/lines/{msisdn}")
    (plan,) = [b for b in dashboard["buckets"] if b["label"] == "套餐通用流量"]
    return plan["remaining"]


def _owners(stack) -> tuple[dict[str, Shopper], Network]:
    tokens = stack.create_consumers(list(OWNERS.values()))
    lines = [(A, OWNERS[A], "CT-XINGKA-19", 5000), (B, OWNERS[B], "CT-XINGKA-19", 5000),
             (C, OWNERS[C], "CT-WUYOU-0", 0)]  # fmt: skip
    network = Network(stack.base, stack.manage_json(OPEN_LINES % {"lines": lines}))
    owners = {m: Shopper(base=stack.base, phone=p, token=tokens[p]) for m, p in OWNERS.items()}
    return owners, network


def test_a_gift_is_spent_first_by_its_receiver_and_a_family_member_draws_the_pool(module_stack):
    stack = module_stack
    owners, network = _owners(stack)
    a, b, c = owners[A], owners[B], owners[C]
    a_before, b_before = _general(a, A), _general(b, B)

    # A's owner gives B 1 GB: the code goes to A's own number, never to anyone else's.
    asked = a.call("POST", f"/api/v1/lines/{A}/data-gifts", 201,
                   json={"to_msisdn": B, "megabytes": 1024})  # fmt: skip
    assert (asked["status"], asked["to_msisdn"]) == ("CODE_SENT", "199****2302")
    assert b.request("POST", f"/api/v1/lines/{A}/data-gifts/{asked['gift_id']}/confirm",
                     json={"code": "000000"}).status_code == 404  # fmt: skip
    confirm = f"/api/v1/lines/{A}/data-gifts/{asked['gift_id']}/confirm"
    done = a.call("POST", confirm, json={"code": _code_sent_to(a, A)})
    assert (done["status"], done["amount_bytes"]) == ("DONE", GB)
    assert a.call("POST", confirm, json={"code": _code_sent_to(a, A)})["status"] == "DONE"
    assert _general(a, A) == a_before - GB  # once, though confirmed twice
    dashboard = a.call("GET", f"/api/v1/lines/{A}")  # A's dashboard shows what it gave away
    (plan,) = [x for x in dashboard["buckets"] if x["label"] == "套餐通用流量"]
    assert plan["moved_out"] == GB
    assert _buckets(b, B)["GIFT"]["remaining"] == GB

    # B's session spends the gift before its own plan data.
    ref, granted = network.open(B, 300 * MB)
    assert granted == 300 * MB
    network.release(B, ref, 300 * MB)
    gift = _buckets(b, B)["GIFT"]
    assert (gift["used"], gift["remaining"]) == (300 * MB, GB - 300 * MB)
    assert _general(b, B) == b_before

    # A's owner opens a family group and invites C with a 200 MB monthly cap.
    group = a.call("POST", f"/api/v1/lines/{A}/family", 201)
    assert (group["role"], group["main_msisdn"]) == ("MAIN", "199****2301")
    assert [m["msisdn"] for m in group["members"]] == ["199****2301"]  # the main line alone
    invited = a.call("POST", f"/api/v1/lines/{A}/family/invites", 201,
                     json={"msisdn": C, "monthly_cap_mb": 200})  # fmt: skip
    accept = f"/api/v1/lines/{C}/family-invites/{invited['member_id']}/accept"
    wrong = c.request("POST", accept, json={"code": "000000"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "step_up_code_invalid")
    joined = c.call("POST", accept, json={"code": _code_sent_to(c, C)})
    assert joined["state"] == "ACTIVE", joined

    # C has nothing of its own: its session draws A's plan data, at most its cap.
    ref, granted = network.open(C, 150 * MB)
    assert granted == 150 * MB
    assert network.use(C, ref, 150 * MB, seq=1, asking=150 * MB) == 50 * MB  # the cap's rest
    assert network.use(C, ref, 50 * MB, seq=2, asking=150 * MB) == 0
    network.release(C, ref, 0, seq=3)
    seen = a.call("GET", f"/api/v1/lines/{A}/family")
    (member,) = [m for m in seen["members"] if m["msisdn"] == "199****2303"]
    assert (member["used_bytes"], member["cap_bytes"]) == (200 * MB, 200 * MB)
    assert _general(a, A) == a_before - GB - 200 * MB

    # B joins too: a family of three lines sharing A's plan.
    invited = a.call("POST", f"/api/v1/lines/{A}/family/invites", 201,
                     json={"msisdn": B, "monthly_cap_mb": 100})  # fmt: skip
    accept = f"/api/v1/lines/{B}/family-invites/{invited['member_id']}/accept"
    assert b.call("POST", accept, json={"code": _code_sent_to(b, B)})["state"] == "ACTIVE"
    family = a.call("GET", f"/api/v1/lines/{A}/family")
    assert sorted(m["msisdn"] for m in family["members"] if m["state"] == "ACTIVE") == [
        "199****2301", "199****2302", "199****2303"
    ]  # fmt: skip

    # A's history (what its bill lists) shows the gift to B.
    moved = a.call("GET", f"/api/v1/lines/{A}/data-movements")["items"]
    assert [m["text"] for m in moved if m["kind"] == "GIFT_OUT"] == ["转赠给 199****2302 1GB"]

    # A's owner buys a pack, converts 2 GB into points and spends them on a pack in the shop.
    a.call("POST", f"/api/v1/lines/{A}/packs", 201, json={"pack_code": "PK-DATA-10G-7D"})
    converted = a.call("POST", f"/api/v1/lines/{A}/conversions", 201, json={"megabytes": 2048},
                       headers={"Idempotency-Key": "e2e-convert-1"})  # fmt: skip
    earned = converted["points"]
    assert earned > 0 and a.call("GET", "/api/v1/points")["balance"] == earned
    stack.manage(SHOP_ITEM % {"price": earned})
    assert "e2e-pack-1g" in [i["code"] for i in a.call("GET", "/api/v1/points/shop")]
    bought = a.call("POST", "/api/v1/points/redemptions", 201,
                    json={"item": "e2e-pack-1g", "msisdn": A},
                    headers={"Idempotency-Key": "e2e-redeem-1"})  # fmt: skip
    assert bought["points"] == earned
    assert a.call("GET", "/api/v1/points")["balance"] == 0
    purchases = a.call("GET", f"/api/v1/lines/{A}/pack-purchases")["items"]
    assert {p["pack_code"] for p in purchases} == {"PK-DATA-10G-7D", "PK-DATA-1G-1D"}

    # Nobody else sees A's family; the ledger balances in every unit.
    assert c.request("GET", f"/api/v1/lines/{A}/family").status_code == 404
    balances, unbalanced = stack.manage_json(LEDGER)
    assert set(balances.values()) <= {0} and unbalanced == [], balances
