"""``haoka demo``: migrate, seed realistic demo data, then run every process of the platform
(web + API, worker; later issues add the carrier, payment and courier simulators) and keep
them running until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.core.management import call_command

DEMO_STAFF = ("admin", "haoka-admin")  # sandbox-only credentials, printed at start
DEMO_TIME_SCALE = "3600"  # a day of carrier and courier work in about 30 s


def seed(*, numbers_per_carrier: int) -> None:
    """Idempotent: running it again changes nothing (numbers come from a fixed seed)."""
    from haoka.accounts.models import Role, User
    from haoka.catalog import operations as catalog_ops
    from haoka.catalog import queries as catalog_queries
    from haoka.numbers import importer
    from haoka.numbers import operations as number_ops

    counts = catalog_ops.load_seed_catalog()
    print(
        f"目录：{counts['carriers']} 家运营商，{counts['plans']} 个套餐，{counts['packs']} 个加油包"
    )
    number_ops.ensure_default_tier_prices()
    for i, carrier in enumerate(sorted(catalog_queries.carrier_codes())):
        if numbers_per_carrier <= 0:
            break
        importer.cli_generate(
            carrier=carrier, count=numbers_per_carrier, seed=1000 + i, output=None
        )
    username, password = DEMO_STAFF
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username=username, password=password, role=Role.STAFF)
    _seed_lines()


#: The demo consumer: signs in with this phone (the code is in the sandbox SMS outbox).
DEMO_CONSUMER = "13800138000"
DEMO_LINES = (
    # msisdn, carrier, plan, opening balance (fen), ICCID (Luhn), IMSI
    ("13912345678", "CMCC", "CM-MANGO-39", 5000, "89860020261122000016", "460002026112201"),
    ("18612345678", "CUCC", "CU-MAYI-RIZU", 3000, "89860120261122000023", "460012026112202"),
)


def _seed_lines() -> None:
    """Two lines of the demo consumer, opened at the start of this Beijing month, with a few
    weeks of rated usage (data, voice, SMS), so the line pages have something to show."""
    import datetime as dt
    import random

    from haoka.accounts.models import Role, User
    from haoka.charging import cycle
    from haoka.charging import operations as charging_ops
    from haoka.core import clock
    from haoka.lines import operations as line_ops
    from haoka.lines.models import Line

    user, _ = User.objects.get_or_create(
        phone=DEMO_CONSUMER, defaults={"username": DEMO_CONSUMER, "role": Role.CONSUMER}
    )
    now = clock.now()
    month_start, _ = cycle.beijing_month(now)
    opened = month_start + dt.timedelta(hours=10)
    rng = random.Random(20261122)  # noqa: S311 - demo data, the same every time
    for msisdn, carrier, plan, balance, iccid, imsi in DEMO_LINES:
        if Line.objects.filter(msisdn=msisdn).exists():
            continue
        line_ops.open_line(
            user_id=user.pk, msisdn=msisdn, carrier_code=carrier, plan_code=plan, iccid=iccid,
            imsi=imsi, opening_balance_fen=balance, actor="demo", now=opened,
        )  # fmt: skip
        records, at, k = [], opened + dt.timedelta(hours=1), 0
        while at < now:
            free_app = 1011 if plan == "CM-MANGO-39" else 1013  # the plan's zero-rated app
            for service, rg, top in (
                ("data", 1003, 600),
                ("data", free_app, 1500),
                ("voice", None, 0),
            ):
                amount = rng.randrange(50, top) * 1024 * 1024 if service == "data" else 0
                if service == "voice":
                    service, amount = "voice", rng.randrange(0, 300)
                records.append(charging_ops.RecordIn(
                    record_id=f"demo-{msisdn}-{k}", subscriber=msisdn, service=service,
                    amount=amount, started_at=at, rating_group=rg,
                ))  # fmt: skip
                k += 1
            at += dt.timedelta(hours=rng.randrange(8, 30))
        for i in range(0, len(records), charging_ops.MAX_BATCH):
            charging_ops.rate_records(records=records[i : i + charging_ops.MAX_BATCH], now=now)


@dataclass
class Proc:
    name: str
    args: list[str]
    popen: subprocess.Popen | None = None


def _spawn(proc: Proc, env: dict[str, str]) -> None:
    proc.popen = subprocess.Popen([sys.executable, "-m", "haoka.cli", *proc.args], env=env)  # noqa: S603


def run(*, port: int, seed_numbers: int, setup_only: bool) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    seed(numbers_per_carrier=seed_numbers)
    if setup_only:
        return 0
    env = {**os.environ, "HAOKA_PORT": str(port)}
    callbacks = f"http://127.0.0.1:{port}/api/v1/callbacks/couriers/simexpress"
    procs = [
        Proc("web", ["serve", "--port", str(port)]),
        Proc("worker", ["worker"]),
        # The outside systems, as separate processes (docs/integrations.md). The time scale
        # makes a day of carrier and courier work pass in about a minute.
        Proc("payment-sim", ["simulate", "payment", "--time-scale", DEMO_TIME_SCALE]),
        Proc("carrier-sim", ["simulate", "carrier", "--time-scale", DEMO_TIME_SCALE]),
        Proc(
            "courier-sim",
            ["simulate", "courier", "--time-scale", DEMO_TIME_SCALE, "--callback-url", callbacks],
        ),
    ]
    for proc in procs:
        _spawn(proc, env)
    username, password = DEMO_STAFF
    print(
        f"\n号卡演示已启动： http://127.0.0.1:{port}/\n"
        "  套餐 /plans/   选号 /numbers/   API 文档 /api/v1/docs\n"
        f"  运营后台 /admin/ （{username} / {password}）   沙箱短信 /api/v1/sandbox/sms?phone=...\n"
        f"  演示用户 {DEMO_CONSUMER}（两条在网线路；登录验证码在沙箱短信里）\n"
        "按 Ctrl+C 停止。\n"
    )
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for proc in procs:
                if proc.popen is not None and proc.popen.poll() is not None:
                    print(
                        f"进程 {proc.name} 退出（{proc.popen.returncode}），正在重启",
                        file=sys.stderr,
                    )
                    time.sleep(1)
                    _spawn(proc, env)
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.popen is not None and proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in procs:
            if proc.popen is not None:
                try:
                    proc.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
    return 0
