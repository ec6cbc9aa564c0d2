"""The whole platform as real processes, for end-to-end tests, fault tests and benchmarks:
a fresh database (SQLite file, or a new PostgreSQL database when DATABASE_URL names one),
`haoka demo --setup-only`, then `haoka serve`, `haoka worker` and the three simulators, each
on a free port. Every process can be stopped (or killed with SIGKILL) and started again.

    with Stack(tmp_path, numbers=300, carrier_faults={"failure_rate": 0.3}) as stack:
        stack.base          # http://127.0.0.1:<port> of haoka
        stack.sim_stats("carrier")
        stack.kill("worker"); stack.start("worker")
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from haoka.core import signing

REPO = Path(__file__).resolve().parents[2]
PII_KEY = "dGVzdC1vbmx5LXBpaS1rZXktMDAwMDAwMDAwMDAwMDA="  # test data only
SIM_SECRET = "sandbox-secret"  # the simulators' default shared secret
PROCESSES = ("payment", "courier", "carrier", "web", "worker")
NRF_INSTANCE_ID = "0b6c5d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"  # the NRF simulator's, when nrf=True
FINAL_STATES = frozenset({"ACTIVATED", "CANCELLED", "KYC_REJECTED", "CARRIER_REJECTED"})
#: What the demo seeded (its agents' sales: orders, their numbers, payments, carrier
#: callbacks), read once after setup; the checks look at what the run itself made.
SEEDED_CODE = """
import json
from haoka.orders.models import Order
from haoka.payments.models import Payment
print(json.dumps({
    "orders": sorted(Order.objects.values_list("ref", flat=True)),
    "msisdns": sorted(Order.objects.values_list("msisdn", flat=True)),
    "payments": sorted(Payment.objects.values_list("id", flat=True)),
}))
"""
#: The run's state (``SEEDED`` is defined before it: see ``Stack.platform_state``).
STATE_CODE = """
import json
from collections import Counter
from django_tasks_db.models import DBTaskResult
from haoka.carriers.models import CarrierCallback
from haoka.core import ledger
from haoka.lines import queries as line_queries
from haoka.lines.models import Line
from haoka.numbers.models import PhoneNumber
from haoka.orders.models import Order
from haoka.payments.models import Payment, Refund

orders = []
for o in Order.objects.exclude(ref__in=SEEDED["orders"]).order_by("id"):
    orders.append({
        "ref": o.ref, "state": o.state, "carrier": o.carrier_code, "plan": o.plan_code,
        "msisdn": o.msisdn, "user_id": o.user_id, "amount_due_fen": o.amount_due_fen,
        "first_topup_fen": o.first_topup_fen, "number_price_fen": o.number_price_fen,
        "refund_state": o.refund_state, "submit_attempts": o.submit_attempts,
        "last_error": o.last_error, "iccid": o.iccid,
        "events": [
            [e.from_state, e.to_state, e.actor, e.reason]
            for e in o.events.order_by("at", "id")
        ],
    })
msisdns = {o["msisdn"] for o in orders}
numbers = {
    n.msisdn: [n.status, n.order_ref]
    for n in PhoneNumber.objects.filter(msisdn__in=msisdns).order_by("id")
}
lines = [
    {"msisdn": l.msisdn, "order_ref": l.order_ref, "status": l.status, "user_id": l.user_id,
     "balance_fen": line_queries.wallet_balance_fen(line=l),
     "activated_at": l.activated_at.isoformat() if l.activated_at else None}
    for l in Line.objects.order_by("id")
]
payments = [
    {"reference": p.reference, "attempt": p.attempt, "status": p.status,
     "amount_fen": p.amount_fen, "refunded_fen": p.refunded_fen,
     "gateway_payment_id": p.gateway_payment_id}
    for p in Payment.objects.exclude(id__in=SEEDED["payments"]).order_by("id")
]
refunds = [
    {"refund_id": r.refund_id, "reference": r.payment.reference, "status": r.status,
     "amount_fen": r.amount_fen}
    for r in Refund.objects.exclude(payment_id__in=SEEDED["payments"])
    .select_related("payment").order_by("id")
]
carrier_events = {}
callbacks = CarrierCallback.objects.exclude(order_ref__in=SEEDED["orders"])
for ref, event_id in callbacks.order_by("id").values_list("order_ref", "event_id"):
    carrier_events.setdefault(ref, []).append(event_id)
print(json.dumps({
    "orders": orders, "numbers": numbers, "lines": lines, "payments": payments,
    "refunds": refunds,
    "number_status": dict(Counter(
        PhoneNumber.objects.exclude(msisdn__in=SEEDED["msisdns"]).values_list("status", flat=True)
    )),
    "carrier_callbacks": callbacks.count(),
    "carrier_events": carrier_events,
    "carrier_callback_ids": callbacks.values("event_id").distinct().count(),
    "tasks": dict(Counter(
        f"{path.rsplit('.', 1)[-1]}:{status}"
        for path, status in DBTaskResult.objects.values_list("task_path", "status")
    )),
    "trial_balance_fen": ledger.trial_balance_fen(),
    "unbalanced": ledger.unbalanced_transactions(),
}, default=str))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database(home: Path) -> tuple[str, str | None]:
    """A database URL for this stack, and the PostgreSQL database name to drop afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{home / 'haoka.sqlite3'}", None

    name = f"haoka_stack_{uuid.uuid4().hex[:10]}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}", name


class Stack:
    def __init__(
        self,
        home: Path,
        *,
        numbers: int = 300,
        time_scale: float = 36000,
        carrier_faults: dict | None = None,
        payment_faults: dict | None = None,
        courier_faults: dict | None = None,
        serve_workers: int = 1,
        server: str = "granian",
        serve_threads: int = 8,
        extra_env: dict | None = None,
        nrf: bool = False,
    ) -> None:
        self.home = Path(home)
        self.numbers = numbers
        self.seeded: dict = {"orders": [], "msisdns": [], "payments": []}
        self.time_scale = time_scale
        self.faults = {
            "carrier": carrier_faults or {},
            "payment": payment_faults or {},
            "courier": courier_faults or {},
        }
        # With nrf: the NRF simulator too, haoka serve registering there and trusting its tokens.
        self.processes = (*PROCESSES[:3], "nrf", *PROCESSES[3:]) if nrf else PROCESSES
        names = ("web", "payment", "carrier", "courier", *(("nrf",) if nrf else ()))
        self.ports = {name: free_port() for name in names}
        self.base = f"http://127.0.0.1:{self.ports['web']}"
        self.serve_workers = serve_workers
        self.server = server  # haoka serve --server: granian (the default) or gunicorn
        self.serve_threads = serve_threads
        self.procs: dict[str, subprocess.Popen] = {}
        self.database_url, self._pg_name = _fresh_database(self.home)
        self.env = {
            # Not the test run's own DJANGO_*/HAOKA_* settings: under pytest they include
            # HAOKA_TASKS_BACKEND=immediate (settings_test), which would run every task inside
            # the web process and leave the worker idle.
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HAOKA_"))},
            "DATABASE_URL": self.database_url,
            "HAOKA_HOME": str(self.home),
            "HAOKA_SANDBOX": "1",
            "HAOKA_SECRET_KEY": "stack-test",
            "HAOKA_PII_KEYS": PII_KEY,
            "HAOKA_PII_HASH_KEY": "stack-test",
            "HAOKA_OTP_SECRET": "stack-test",
            "HAOKA_PORT": str(self.ports["web"]),
            "HAOKA_NODE_MODULES": str(REPO / "node_modules"),
            "HAOKA_PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{self.ports['payment']}",
            "HAOKA_CARRIER_API_URL": f"http://127.0.0.1:{self.ports['carrier']}",
            "HAOKA_COURIER_API_URL": f"http://127.0.0.1:{self.ports['courier']}",
            "PYTHONPATH": str(REPO / "src"),
            **(self._nrf_env() if nrf else {}),
            **(extra_env or {}),
        }

    def _nrf_env(self) -> dict[str, str]:
        return {
            "HAOKA_NRF_URL": f"http://127.0.0.1:{self.ports['nrf']}",
            "HAOKA_NRF_SIM_KEY_FILE": str(self.home / "nrf-sim-key.pem"),
            "HAOKA_NRF_PUBLIC_KEY": str(self.home / "nrf-sim-key.pem.pub"),
            "HAOKA_NRF_INSTANCE_ID": NRF_INSTANCE_ID,
            "HAOKA_NRF_SIM_HEARTBEAT": "2",
        }

    # ---------------------------------------------------------------- processes

    def _command(self, name: str) -> list[str]:
        scale = str(self.time_scale)
        base = [sys.executable, "-m", "haoka.cli"]
        return {
            "web": [
                *base,
                "serve",
                "--port",
                str(self.ports["web"]),
                "--quiet",
                "--workers",
                str(self.serve_workers),
                "--threads",
                str(self.serve_threads),
                "--server",
                self.server,
            ],
            "worker": [*base, "worker", "--interval", "0.2"],
            "nrf": [
                *base,
                "simulate",
                "nrf",
                "--port",
                str(self.ports.get("nrf")),
                "--latency-ms",
                "1,5",
            ],
            "payment": [
                *base,
                "simulate",
                "payment",
                "--port",
                str(self.ports["payment"]),
                "--time-scale",
                scale,
                "--latency-ms",
                "1,5",
            ],
            "carrier": [
                *base,
                "simulate",
                "carrier",
                "--port",
                str(self.ports["carrier"]),
                "--time-scale",
                scale,
                "--latency-ms",
                "1,5",
                "--caller-timeout",
                "5",
                "--courier-url",
                f"http://127.0.0.1:{self.ports['courier']}",
            ],
            "courier": [
                *base,
                "simulate",
                "courier",
                "--port",
                str(self.ports["courier"]),
                "--time-scale",
                scale,
                "--latency-ms",
                "1,5",
                "--callback-url",
                f"{self.base}/api/v1/callbacks/couriers/simexpress",
            ],
        }[name]

    def start(self, name: str) -> None:
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs[name] = subprocess.Popen(
            self._command(name), env=self.env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=15)

    def __enter__(self) -> Stack:
        setup = subprocess.run(
            [
                sys.executable,
                "-m",
                "haoka.cli",
                "demo",
                "--setup-only",
                "--numbers",
                str(self.numbers),
            ],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if setup.returncode != 0:
            self.__exit__(None, None, None)
            raise RuntimeError(f"setup failed: {setup.stderr[-3000:]}")
        self.seeded = self.manage_json(SEEDED_CODE)
        try:
            for name in self.processes:
                self.start(name)
            for name in ("payment", "carrier", "courier"):
                self._wait_up(f"http://127.0.0.1:{self.ports[name]}/_sim/stats")
                if self.faults[name]:
                    httpx.post(
                        f"http://127.0.0.1:{self.ports[name]}/_sim/config",
                        json=self.faults[name],
                        timeout=5,
                    ).raise_for_status()
            self._wait_up(f"{self.base}/healthz")
        except Exception:
            # Why: a with-block whose __enter__ fails never calls __exit__ (leaked processes
            # and databases).
            report = self.logs_report(20)
            self.__exit__(None, None, None)
            raise RuntimeError(f"the stack did not come up\n{report}") from None
        return self

    def __exit__(self, *exc) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._pg_name:
            admin = self.database_url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self._pg_name} WITH (FORCE)")

    @staticmethod
    def _wait_up(url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not come up")

    # ---------------------------------------------------------------- inspection

    def sim(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def sim_stats(self, name: str) -> dict:
        return httpx.get(f"{self.sim(name)}/_sim/stats", timeout=5).json()

    def sim_config(self, name: str, **settings) -> dict:
        response = httpx.post(f"{self.sim(name)}/_sim/config", json=settings, timeout=5)
        response.raise_for_status()
        return response.json()

    def sim_get(self, name: str, path: str) -> httpx.Response:
        """A signed GET on a simulator's API (as haoka would make it), e.g.
        ``sim_get("payment", "/v1/payments/pay_...")``."""
        headers = {signing.HEADER: signing.sign(secret=SIM_SECRET, body=b"")}
        return httpx.get(f"{self.sim(name)}{path}", headers=headers, timeout=10)

    def manage(self, code: str) -> str:
        """Run Python inside haoka against this stack's database (``haoka manage shell -c``);
        returns what it printed. Raises RuntimeError with the end of stderr when it fails."""
        out = subprocess.run(
            [sys.executable, "-m", "haoka.cli", "manage", "shell", "-c", code],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage failed ({out.returncode}): {out.stderr[-3000:]}")
        return out.stdout

    def manage_json(self, code: str):
        """Run ``code`` (which must ``print(json.dumps(...))`` as its last output line) and
        return the decoded value."""
        lines = [line for line in self.manage(code).splitlines() if line.strip()]
        return json.loads(lines[-1])

    def create_consumers(self, phones: list[str]) -> dict[str, str]:
        """Consumers signed in without OTP (whose sending is rate-limited per IP): one session
        token per phone, made in a single process. Returns {phone: token}."""
        code = f"""
import json
from haoka.accounts import operations
from haoka.accounts.models import Role, User
from haoka.core import clock
tokens = {{}}
for phone in {list(phones)!r}:
    user, _ = User.objects.get_or_create(
        phone=phone, defaults={{"username": phone, "role": Role.CONSUMER}}
    )
    tokens[phone] = operations._issue_session(user=user, now=clock.now()).token
print(json.dumps(tokens))
"""
        return self.manage_json(code)

    def platform_state(self) -> dict:
        """Everything the end-to-end checks look at, read from the database in one process:
        orders with their events, their numbers, lines, payments, refunds, carrier callbacks,
        background tasks and the ledger's trial balance."""
        return self.manage_json(f"SEEDED = {self.seeded!r}\n{STATE_CODE}")

    def unfinished_orders_report(self) -> str:
        """States and recent events of every order not in a final state (or with a refund
        still pending), for a failing test's output."""
        try:
            state = self.platform_state()
        except Exception as exc:  # the report must never hide the real failure
            return f"(could not read the database: {exc})"
        lines = []
        for order in state["orders"]:
            if order["state"] in FINAL_STATES and order["refund_state"] != "PENDING":
                continue
            lines.append(
                f"{order['ref']} {order['carrier']} {order['state']} refund={order['refund_state']}"
                f" attempts={order['submit_attempts']} error={order['last_error']!r}"
            )
            lines += [f"    {e}" for e in order["events"][-6:]]
        lines.append(f"tasks by status: {state['tasks']}")
        return "\n".join(lines) or "(every order is final)"

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def logs_report(self, lines: int = 40) -> str:
        """The end of every process's log, for a failing test's output."""
        return "\n".join(
            f"----- {name}.log (last {lines} lines) -----\n{self.log_tail(name, lines)}"
            for name in self.processes
        )
