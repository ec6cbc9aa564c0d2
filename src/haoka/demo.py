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
