"""Benchmark of charging on PostgreSQL. Prints one JSON document.

(a) online: simulated sessions (create, several updates, release) over HTTP against the real
    processes (``haoka serve --server granian``, 2 workers x 4 threads; ``--server gunicorn``
    for the other server), one line per client thread (5 by default), each sending its next
    request when the last is answered; ops/s and p50/p95/p99 per operation, over HTTP/1.1
    (``online``) and, in the same run, over HTTP/2 cleartext with prior knowledge as SMFs speak
    it (``online_h2``; ``--http 1.1`` or ``--http 2`` for one only); in the same run
    ``pgbench -b simple-update`` on the same server, and the ratio.
(b) offline: rate and store usage records (the ``haoka usage import`` path, in one process):
    records/s.

    .venv/bin/python bench/charging.py                          # 30 s online, 1,000,000 records
    .venv/bin/python bench/charging.py --seconds 10 --records 100000
    .venv/bin/python bench/charging.py --sponsored --http 1.1 --skip-offline  # 定向免流 too
    .venv/bin/python bench/charging.py --family --http 1.1 --skip-offline     # 家庭共享 too

Targets: online >= 1,000 ops/s with p95 <= 10 ms; offline >= 20,000 records/s.
"""

from __future__ import annotations

import sys

# bench/numbers.py shadows the stdlib module ``numbers``: keep this folder off the front of the
# import path (it is appended at the end below, for _machine).
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("bench")]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # for tests.support (the e2e stack)
sys.path.append(str(ROOT / "bench"))

import httpx  # noqa: E402

from _machine import cpu_by_group, machine, percentile  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/test"
PLAN = "CM-MANGO-39"
MB = 1024 * 1024
BASE = "/nchf-convergedcharging/v3/chargingdata"

MAKE_LINES = """
import json
from haoka.accounts import operations as accounts
from haoka.accounts.models import User
from haoka.core import clock
from haoka.lines import operations as lines
now = clock.now()
out = []
for i in range({start}, {start} + {count}):
    user = User.objects.create(username="bench%07d" % i, phone="136%08d" % i)
    line = lines.open_line(user_id=user.pk, msisdn="135%08d" % i, carrier_code="CMCC",
        plan_code="{plan}", iccid="89860099%012d" % i, imsi="4600099%08d" % i,
        opening_balance_fen=100000, actor="bench", now=now)
    out.append(line.imsi)
token = accounts.create_api_token(name="bench-smf", scopes=["charging"], username=None, now=now)
print(json.dumps({{"imsis": out, "token": token.token}}))
"""


#: A 定向免流 campaign of an approved sponsor, for 抖音 (rating group 1006 of the seed catalog),
#: its budget covering 10,000 lines at a cap no bench line reaches (every slice of the run is
#: taken and settled for real; the cap is not what is measured).
SPONSORED_GROUP = 1006
MAKE_CAMPAIGN = """
import datetime as dt, json
from haoka.accounts.models import User
from haoka.core import clock, ledger
from haoka.sponsors import campaigns, operations
from haoka.sponsors.models import Sponsor
now = clock.now()
user = User.objects.create(username="bench-sponsor", phone="13599999999")
sponsor = operations.apply(user_id=user.pk, company_name="压测科技有限公司",
    uscc="91440300424242425K", kind="APP", contact_name="压测", contact_phone="13599999999",
    now=now)
sponsor = operations.decide(sponsor_id=sponsor.sponsor_id, approve=True, actor="bench",
    reason="", now=now)
lines, cap_mb, price = 10000, 100 * 1024, 500
budget = lines * cap_mb * price // 1024
ledger.post(legs=[ledger.Leg("liability:customer_prepayments", budget),
                  ledger.Leg("liability:sponsor:" + sponsor.sponsor_id, -budget)],
            kind="sponsor.topup", key="bench:fund")
campaign = campaigns.create(sponsor=Sponsor.objects.get(pk=sponsor.pk), actor="bench",
    now=now, kind="APP_FREE_FLOW", name="抖音免流（压测）", budget_fen=budget,
    valid_from=now - dt.timedelta(hours=1), valid_to=now + dt.timedelta(days=30),
    rating_groups=[{group}], per_line_cap_mb=cap_mb, price_fen_per_gb=price,
    eligibility={{"all": True}})
print(json.dumps({{"campaign_id": campaign.campaign_id, "budget_fen": budget,
                  "lines_covered": lines}}))
"""

#: A family (家庭共享) for the ``--family`` run: the first line (40 GB plan) is the main line;
#: every odd-numbered client line is a member on a plan with no data of its own (电信无忧卡 0 月租),
#: so all its traffic draws the main line's pool; the others are plain lines. The members join
#: the real way: invited, then accepting with the code the sandbox SMS outbox received.
MAKE_FAMILY = """
import json, re
from haoka.accounts import operations as accounts
from haoka.accounts.models import SandboxSms, User
from haoka.charging import family
from haoka.core import clock
from haoka.lines import operations as lines
now = clock.now()
out, main = [], None
for i in range({start}, {start} + {count}):
    member = main is not None and (i - {start}) % 2 == 1
    user = User.objects.create(username="bench%07d" % i, phone="136%08d" % i)
    line = lines.open_line(user_id=user.pk, msisdn="135%08d" % i,
        carrier_code="CTCC" if member else "CMCC",
        plan_code="CT-WUYOU-0" if member else "{plan}", iccid="89860099%012d" % i,
        imsi="4600099%08d" % i, opening_balance_fen=100000, actor="bench", now=now)
    out.append(line.imsi)
    if main is None:
        main = line
        family.create(line_id=line.pk, user_id=user.pk, now=now)
    elif member:
        invited = family.invite(line_id=main.pk, user_id=main.user_id, msisdn=line.msisdn,
            monthly_cap_mb=100 * 1024, client_ip="bench", now=now)
        sms = SandboxSms.objects.filter(phone=line.msisdn).latest("id").text
        family.accept(member_id=invited.pk, line_id=line.pk, user_id=user.pk,
            code=re.search(r"(\\d{{6}})", sms).group(1), now=now)
token = accounts.create_api_token(name="bench-smf-family", scopes=["charging"], username=None,
    now=now)
print(json.dumps({{"imsis": out, "token": token.token}}))
"""
#: What the family run's members drew on the pool (the bench's lines are 135...).
FAMILY_FACTS = """
import json
from django.db.models import Count, Sum
from haoka.charging.models import Bucket
found = Bucket.objects.filter(source="FAMILY", line__msisdn__startswith="135").aggregate(
    members=Count("line_id", distinct=True), bytes=Sum("amount"), used=Sum("used"))
print(json.dumps({{k: int(v or 0) for k, v in found.items()}}))
"""

#: What the sponsored run drew on the campaign (so the figure is known to include the path).
CAMPAIGN_FACTS = """
import json
from django.db.models import Count, Sum
from haoka.sponsors.models import Slice
found = Slice.objects.filter(campaign__campaign_id="{campaign_id}").aggregate(
    slices=Count("id"), bytes=Sum("bytes"), lines=Count("line_id", distinct=True))
print(json.dumps({{k: int(v or 0) for k, v in found.items()}}))
"""


# ---------------------------------------------------------------- (a) online


def _http1(base: str, headers: dict) -> tuple[Callable[[str, bytes], tuple[int, str]], Callable]:
    """A POST over one HTTP/1.1 connection (the standard library's: the least client CPU)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def post(path: str, data: bytes) -> tuple[int, str]:
        conn.request("POST", path, data, headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""

    return post, conn.close


def _http2(base: str, headers: dict) -> tuple[Callable[[str, bytes], tuple[int, str]], Callable]:
    """A POST over one HTTP/2 cleartext connection with prior knowledge (httpx + h2)."""
    client = httpx.Client(base_url=base, http1=False, http2=True, timeout=30, headers=headers)

    def post(path: str, data: bytes) -> tuple[int, str]:
        response = client.post(path, content=data)
        return response.status_code, response.headers.get("location", "")

    return post, client.close


def _session_loop(
    *, base, token, imsi, until, updates, timings, lock, errors, h2, rating_group=1003
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    post, close = (_http2 if h2 else _http1)(base, headers)
    mine: dict[str, list[float]] = {"create": [], "update": [], "release": []}
    n = 0

    def call(op: str, path: str, body: dict) -> tuple[int, str]:
        start = time.perf_counter()
        answer = post(path, json.dumps(body).encode())
        mine[op].append((time.perf_counter() - start) * 1000)
        return answer

    def body(seq: int, *, request: bool, used: int | None) -> dict:
        unit: dict = {"ratingGroup": rating_group}
        if request:
            unit["requestedUnit"] = {"totalVolume": MB}
        if used is not None:
            unit["usedUnitContainer"] = [{"totalVolume": used}]
        return {
            "subscriberIdentifier": f"imsi-{imsi}",
            "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": f"bench-{n}"},
            "invocationTimeStamp": f"2026-05-10T04:00:{n % 60:02d}Z",
            "invocationSequenceNumber": seq,
            "multipleUnitUsage": [unit],
        }

    while time.monotonic() < until:
        n += 1
        status, location = call("create", BASE, body(0, request=True, used=None))
        if status != 201:
            errors.append(f"create {status}")
            continue
        ref = location.rsplit("/", 1)[1]
        for seq in range(1, updates + 1):
            status, _ = call(
                "update", f"{BASE}/{ref}/update", body(seq, request=True, used=MB // 2)
            )
            if status != 200:
                errors.append(f"update {status}")
        status, _ = call(
            "release", f"{BASE}/{ref}/release", body(updates + 1, request=False, used=1)
        )
        if status != 204:
            errors.append(f"release {status}")
    close()
    with lock:
        for op, values in mine.items():
            timings[op].extend(values)


def _own_postgres_cpu(database: str) -> float:
    """CPU seconds so far of the PostgreSQL backends serving ``database`` (the machine is
    shared: other databases' backends are not this benchmark's)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if f" {database} ".encode() not in fh.read():
                    continue
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / tick
    return used


def online(
    stack: Stack, *, clients: int, seconds: float, updates: int, h2: bool = False,
    sponsored: bool = False, family: bool = False,
) -> dict:  # fmt: skip
    """One online run. ``sponsored``: half the clients' traffic is 抖音 on a live 定向免流
    campaign (slices taken on the hot path, settled by the worker), the other half plain.
    ``family``: half the client lines are family members drawing the first line's pool."""
    first = (3 if family else 2 if sponsored else 1 if h2 else 0) * clients
    script = MAKE_FAMILY if family else MAKE_LINES
    made = stack.manage_json(
        script.format(start=first, count=clients, plan=PLAN)
    )  # lines of their own: each run after the first has new ones
    campaign = None
    if sponsored:
        campaign = stack.manage_json(MAKE_CAMPAIGN.format(group=SPONSORED_GROUP))
        time.sleep(6)  # the servers' copy of the live campaigns is at most 5 s old
    timings: dict[str, list[float]] = {"create": [], "update": [], "release": []}
    lock, errors = threading.Lock(), []
    groups = {name: proc.pid for name, proc in stack.procs.items()}
    database = stack.database_url.rsplit("/", 1)[1]
    cpu_before = {**cpu_by_group(groups), "postgres_own_db": _own_postgres_cpu(database)}
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_session_loop,
            kwargs=dict(
                base=stack.base,
                token=made["token"],
                imsi=imsi,
                until=until,
                updates=updates,
                timings=timings,
                lock=lock,
                errors=errors,
                h2=h2,
                rating_group=SPONSORED_GROUP if sponsored and i % 2 == 0 else 1003,
            ),
        )
        for i, imsi in enumerate(made["imsis"])
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu_after = {**cpu_by_group(groups), "postgres_own_db": _own_postgres_cpu(database)}
    ops = sum(len(v) for v in timings.values())
    every = [x for v in timings.values() for x in v]
    extra = {}
    if family:
        extra["family"] = {
            "members": clients // 2, "pool": stack.manage_json(FAMILY_FACTS.format()),
        }  # fmt: skip
    if campaign:
        on = (clients + 1) // 2
        drawn = stack.manage_json(CAMPAIGN_FACTS.format(campaign_id=campaign["campaign_id"]))
        extra["sponsored"] = {
            **campaign, "clients_on_campaign": on, "group": SPONSORED_GROUP, "slices": drawn,
        }  # fmt: skip
    return {
        "protocol": "HTTP/2 (h2c, prior knowledge)" if h2 else "HTTP/1.1",
        **extra,
        "clients": clients,
        "updates_per_session": updates,
        "seconds": round(elapsed, 1),
        "sessions": len(timings["release"]),
        "ops": ops,
        "errors": len(errors),
        "errors_sample": errors[:5],
        "ops_per_s": round(ops / elapsed, 1),
        "latency_ms": {
            op: _pcts(values) for op, values in {**timings, "all": every}.items() if values
        },
        "cpu_ms_per_op": {
            k: round((cpu_after[k] - cpu_before[k]) * 1000 / max(ops, 1), 2) for k in cpu_after
        },
    }


def _pcts(values: list[float]) -> dict:
    return {f"p{q}": round(percentile(values, q / 100), 2) for q in (50, 95, 99)}


def pgbench(*, seconds: int, clients: int) -> dict:
    """``pgbench -b simple-update`` on a scratch database of the same server."""
    name = f"bench_pgbench_{uuid.uuid4().hex[:8]}"
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["createdb", *base, name], check=True)
    try:
        subprocess.run(["pgbench", *base, "-i", "-s", "10", "-q", name], check=True,
                       capture_output=True)  # fmt: skip
        out = subprocess.run(
            ["pgbench", *base, "-b", "simple-update", "-c", str(clients), "-j", "2",
             "-T", str(seconds), name],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    finally:
        subprocess.run(["dropdb", *base, name], check=False)
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    return {
        "clients": clients,
        "seconds": seconds,
        "tps": round(tps, 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
    }


# ---------------------------------------------------------------- (b) offline

OFFLINE = """
import datetime as dt, json, random, time
from haoka.accounts.models import User
from haoka.charging import operations
from haoka.core import clock
from haoka.lines import operations as lines
from haoka.lines.models import Line
now = clock.now()
LINES, PER_LINE = {lines}, {per_line}
made = []
for i in range(LINES):
    user = User.objects.create(username="off%07d" % i, phone="134%08d" % i)
    made.append(lines.open_line(user_id=user.pk, msisdn="133%08d" % i, carrier_code="CMCC",
        plan_code="{plan}", iccid="89860088%012d" % i, imsi="4600088%08d" % i,
        opening_balance_fen=100000, actor="bench", now=now))
rng = random.Random(7)
services = [("data", 1003, 5 * 1024 * 1024), ("data", 1011, 20 * 1024 * 1024),
            ("voice", None, 600), ("sms", None, 2)]
batches = []  # made before the clock starts: the figure is rating and storing, not generating
for line in made:
    records = []
    for k in range(PER_LINE):
        service, rg, top = services[rng.randrange(4)]
        records.append(operations.RecordIn(
            record_id="%s-%d" % (line.msisdn, k), subscriber=line.msisdn, service=service,
            amount=rng.randrange(1, top), rating_group=rg,
            started_at=now - dt.timedelta(seconds=PER_LINE - k)))
    for at in range(0, len(records), operations.MAX_BATCH):
        batches.append(records[at:at + operations.MAX_BATCH])
PROFILE = {profile!r}
if PROFILE:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
start = time.perf_counter()
rated = 0
for batch in batches:
    out = operations.rate_records(records=batch, now=now)
    rated += sum(o.status == "RATED" for o in out)
elapsed = time.perf_counter() - start
if PROFILE:
    profiler.disable()
    profiler.dump_stats(PROFILE)
print(json.dumps({{"records": LINES * PER_LINE, "rated": rated, "lines": LINES,
                  "seconds": round(elapsed, 1), "records_per_s": round(rated / elapsed, 1)}}))
"""


def offline(stack: Stack, *, records: int, per_line: int, profile: str | None = None) -> dict:
    lines = max(1, records // per_line)
    code = OFFLINE.format(lines=lines, per_line=per_line, plan=PLAN, profile=profile)
    out = subprocess.run(
        [sys.executable, "-m", "haoka.cli", "manage", "shell", "-c", code],
        env=stack.env, cwd=stack.home, capture_output=True, text=True, timeout=7200,
        check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads([x for x in out.stdout.splitlines() if x.strip()][-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--serve-workers", type=int, default=2)
    parser.add_argument("--serve-threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-line", type=int, default=500)
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-online", action="store_true")
    parser.add_argument("--http", choices=["1.1", "2", "both"], default="both")
    parser.add_argument(
        "--family", action="store_true",
        help="also a run (HTTP/1.1) with half the lines family members drawing a pool",
    )  # fmt: skip
    parser.add_argument(
        "--sponsored", action="store_true",
        help="also a run (HTTP/1.1) with half the traffic on a 定向免流 campaign",
    )  # fmt: skip
    parser.add_argument(
        "--profile-offline", metavar="FILE", help="write cProfile stats of the offline run"
    )
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", PG)
    result: dict = {"benchmark": "charging", "machine": machine(), "database": "postgresql"}
    result["serve"] = {
        "server": args.server, "workers": args.serve_workers, "threads": args.serve_threads,
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Stack(
        Path(tmp), numbers=10, serve_workers=args.serve_workers, time_scale=1,
        serve_threads=args.serve_threads, server=args.server,
    ) as stack:  # fmt: skip
        if not args.skip_online:
            for key, h2 in (("online", False), ("online_h2", True)):
                if args.http in ("both", "2" if h2 else "1.1"):
                    result[key] = online(
                        stack, clients=args.clients, seconds=args.seconds, updates=args.updates,
                        h2=h2,
                    )  # fmt: skip
            if args.sponsored:
                result["online_sponsored"] = online(
                    stack, clients=args.clients, seconds=args.seconds, updates=args.updates,
                    sponsored=True,
                )  # fmt: skip
            if args.family:
                result["online_family"] = online(
                    stack, clients=args.clients, seconds=args.seconds, updates=args.updates,
                    family=True,
                )  # fmt: skip
            result["pgbench_simple_update"] = pgbench(
                seconds=int(args.seconds), clients=args.clients
            )
            for key in ("online", "online_h2", "online_sponsored", "online_family"):
                if key in result:
                    result[f"{key}_to_pgbench_ratio"] = round(
                        result[key]["ops_per_s"] / result["pgbench_simple_update"]["tps"], 3
                    )
        if not args.skip_offline:
            result["offline"] = offline(
                stack, records=args.records, per_line=args.per_line, profile=args.profile_offline
            )
    result["targets"] = {"online_ops_per_s": 1000, "online_p95_ms": 10, "offline_per_s": 20000}
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
