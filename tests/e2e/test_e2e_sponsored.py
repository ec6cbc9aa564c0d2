"""Sponsored data (后向流量, issue 22) end to end, over HTTP against the real processes: a
person signs in, applies as a sponsor, staff approve with a token of scope ``sponsors``, the
sponsor tops up its wallet at the payment gateway and opens a 定向免流 campaign for 抖音 with
a 1 GB cap a line; a consumer's line then uses 1.5 GB of 抖音 over Nchf. The sponsor pays
exactly 1 GB at the campaign's price (once the slices settle), the line's own buckets pay the
other 0.5 GB, the campaign report and the line's page say so, and the ledger balances."""

from __future__ import annotations

import datetime as dt
import time

import httpx

from tests.support.journey import Shopper

STACK_OPTIONS = {"numbers": 50}
MB = 1024 * 1024
GB = 1024 * MB
NCHF = "/nchf-convergedcharging/v3/chargingdata"
PRICE_FEN_PER_GB = 800
COMPANY = "端到端短视频科技有限公司"
DEMO_SPONSOR_PHONE = "13600136000"  # haoka.demo_sponsors.DEMO_SPONSOR
USCC = "91440300000000422D"  # valid per GB 32100-2015 (tests.support.sponsors.make_uscc(42))
MAKE_TOKEN = """
import json
from haoka.accounts import operations
from haoka.core import clock
print(json.dumps(operations.create_api_token(
    name="e2e-%(name)s", scopes=["%(scope)s"], username=None, now=clock.now()).token))
"""
#: The rating group the catalog gives 抖音.
DOUYIN_GROUP = """
import json
from haoka.catalog import queries
print(json.dumps([n for n, name in queries.rating_group_names().items() if name == "抖音"]))
"""
#: A CMCC line (40 GB of general data a month) of the signed-in consumer.
OPEN_LINE = """
import json
from haoka.accounts.queries import user_by_phone
from haoka.core import clock
from haoka.lines import operations
user = user_by_phone(phone="%(phone)s")
line = operations.open_line(
    user_id=user.pk, msisdn="%(msisdn)s", carrier_code="CMCC", plan_code="CM-MANGO-39",
    iccid="89860020261207002201", imsi="%(imsi)s", opening_balance_fen=5000,
    actor="staff:e2e", now=clock.now())
print(json.dumps(line.msisdn))
"""
#: What the settling worker does every minute, now (the test does not wait a minute).
SETTLE = """
import json
from haoka.charging import tasks
print(json.dumps(tasks.settle_sponsored.call()))
"""
#: The demo's sponsor, whose 抖音 campaign is open to every line (``haoka.demo_sponsors``).
DEMO_SPONSOR = """
import json
from haoka import demo_sponsors
from haoka.sponsors.models import Sponsor
print(json.dumps(Sponsor.objects.get(company_name=demo_sponsors.COMPANY).sponsor_id))
"""
LEDGER = """
import json
from haoka.core import ledger
print(json.dumps([ledger.trial_balance_fen(), ledger.unbalanced_transactions()]))
"""


def _until(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def _nchf_usage(stack, msisdn: str, group: int, used_mb: list[int]) -> None:
    """One Nchf session of rating group ``group``: create asking 512 MB, then one report of
    each of ``used_mb`` (updates, the last one in the release)."""
    token = stack.manage_json(MAKE_TOKEN % {"name": "smf", "scope": "charging"})
    network = httpx.Client(
        base_url=stack.base, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )

    def body(seq: int, unit: dict) -> dict:
        return {
            "subscriberIdentifier": f"msisdn-86{msisdn}",
            "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "e2e-smf"},
            "invocationTimeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "invocationSequenceNumber": seq,
            "multipleUnitUsage": [{"ratingGroup": group, **unit}],
        }

    asking = {"requestedUnit": {"totalVolume": 512 * MB}}
    created = network.post(NCHF, json=body(0, asking))
    assert created.status_code == 201, created.text
    ref = created.headers["location"].rsplit("/", 1)[1]
    for seq, used in enumerate(used_mb[:-1], start=1):
        report = {**asking, "usedUnitContainer": [{"totalVolume": used * MB}]}
        answer = network.post(f"{NCHF}/{ref}/update", json=body(seq, report))
        assert answer.status_code == 200, answer.text
        (info,) = answer.json()["multipleUnitInformation"]
        assert info["resultCode"] == "SUCCESS", info
    last = {"usedUnitContainer": [{"totalVolume": used_mb[-1] * MB}]}
    released = network.post(f"{NCHF}/{ref}/release", json=body(len(used_mb), last))
    assert released.status_code == 204, released.text
    network.close()


def _general_left(dashboard: dict) -> int:
    (general,) = [b for b in dashboard["buckets"] if b["label"] == "套餐通用流量"]
    return general["remaining"]


def _total(wallet: dict) -> int:
    return wallet["balance_fen"] + wallet["held_fen"]


def test_a_sponsor_pays_a_lines_douyin_up_to_its_cap_and_the_line_pays_the_rest(module_stack):
    stack = module_stack
    # A person signs in with a code from the SMS and applies; staff approve with a token.
    person = Shopper(base=stack.base, phone="13612340001")
    person.sign_in()
    applied = person.call("POST", "/api/v1/sponsors/apply", 201, json={
        "company_name": COMPANY, "uscc": USCC, "kind": "APP",
        "contact_name": "张小明", "contact_phone": "13612340001",
    })  # fmt: skip
    assert applied["status"] == "PENDING"
    review = Shopper(base=stack.base, phone="")
    review.token = stack.manage_json(MAKE_TOKEN % {"name": "review", "scope": "sponsors"})
    decided = review.call("POST", f"/api/v1/staff/sponsors/{applied['id']}/decision",
                          json={"approve": True, "reason": ""})  # fmt: skip
    assert decided["status"] == "APPROVED"

    # The sponsor's member funds the wallet at the gateway and opens the campaign.
    started = person.call("POST", "/api/v1/sponsor/topups", 201,
                          json={"amount_fen": 500_00, "method": "alipay"})  # fmt: skip
    assert httpx.post(f"{started['pay_url']}/confirm", timeout=30).status_code == 200
    _until(lambda: person.call("GET", "/api/v1/sponsor/wallet")["balance_fen"] == 500_00,
           "the sponsor's top-up never arrived")  # fmt: skip
    (douyin,) = stack.manage_json(DOUYIN_GROUP)
    now = dt.datetime.now(dt.UTC)
    campaign = person.call("POST", "/api/v1/sponsor/campaigns", 201, json={
        "kind": "APP_FREE_FLOW", "name": "抖音免流", "budget_fen": 100_00,
        "valid_from": (now - dt.timedelta(hours=1)).isoformat(),
        "valid_to": (now + dt.timedelta(days=30)).isoformat(),
        "rating_groups": [douyin], "per_line_cap_mb": 1024,
        "price_fen_per_gb": PRICE_FEN_PER_GB, "eligibility": {"all": True},
    })  # fmt: skip
    assert campaign["status"] == "ACTIVE"
    funded = person.call("GET", "/api/v1/sponsor/wallet")
    assert (funded["balance_fen"], funded["held_fen"]) == (400_00, 100_00)

    # A consumer's line watches 1.5 GB of 抖音.
    consumer = Shopper(base=stack.base, phone="13912340002")
    consumer.sign_in()
    msisdn = stack.manage_json(OPEN_LINE % {"phone": consumer.phone, "msisdn": "13712340002",
                                            "imsi": "460002026120722"})  # fmt: skip
    # The demo's sponsor pays 抖音 for every line too: its owner refuses that one.
    demo = stack.manage_json(DEMO_SPONSOR)
    consumer.call("POST", f"/api/v1/lines/{msisdn}/sponsors/{demo}/opt-out")
    before = consumer.call("GET", f"/api/v1/lines/{msisdn}")
    _nchf_usage(stack, msisdn, douyin, [512, 512, 512])

    # The sponsor paid 1 GB (and only it), the line's own buckets the other 0.5 GB.
    after = consumer.call("GET", f"/api/v1/lines/{msisdn}")
    assert _general_left(before) - _general_left(after) == 512 * MB
    assert after["wallet"]["balance_fen"] == before["wallet"]["balance_fen"]
    sponsored = [b for b in after["buckets"] if b["label"] == f"由 {COMPANY} 赞助"]
    assert sum(b["used"] for b in sponsored) == GB, after["buckets"]
    assert all(b["label"] in ("套餐通用流量", f"由 {COMPANY} 赞助") or b["used"] == 0
               for b in after["buckets"]), after["buckets"]  # fmt: skip

    # The owner sees which sponsors know the number: this one paid, the demo's was refused.
    known = consumer.call("GET", f"/api/v1/lines/{msisdn}/sponsors")
    assert {(s["sponsor_id"], s["sliced"], s["opted_out"]) for s in known} == {
        (applied["id"], True, False), (demo, False, True)}  # fmt: skip

    # Once settled, the sponsor's wallet moved by exactly the price of 1 GB.
    stack.manage_json(SETTLE)
    cid = campaign["campaign_id"]
    _until(lambda: person.call("GET", f"/api/v1/sponsor/campaigns/{cid}")["held_fen"] == 0,
           "the sponsor's slices never settled")  # fmt: skip
    settled = person.call("GET", "/api/v1/sponsor/wallet")
    assert _total(funded) - _total(settled) == PRICE_FEN_PER_GB
    assert person.call("GET", f"/api/v1/sponsor/campaigns/{cid}")["spent_fen"] == PRICE_FEN_PER_GB
    days = person.call("GET", f"/api/v1/sponsor/campaigns/{cid}/report")["days"]
    assert sum(d["bytes_settled"] for d in days) == GB
    assert sum(d["spend_fen"] for d in days) == PRICE_FEN_PER_GB
    assert sum(d["lines_reached"] for d in days) == 1

    # Another sponsor's people see none of it, a consumer has no way in; the ledger balances.
    other = Shopper(base=stack.base, phone=DEMO_SPONSOR_PHONE)
    other.sign_in()
    for path in (f"/api/v1/sponsor/campaigns/{cid}", f"/api/v1/sponsor/campaigns/{cid}/report"):
        assert other.request("GET", path).status_code == 404
        assert consumer.request("GET", path).status_code == 403
    assert stack.manage_json(LEDGER) == [0, []]
