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

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PII_KEY = "dGVzdC1vbmx5LXBpaS1rZXktMDAwMDAwMDAwMDAwMDA="  # test data only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database(home: Path) -> tuple[str, str | None]:
    """A database URL for this stack, and the PostgreSQL database name to drop afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{home / 'haoka.sqlite3'}", None
    import psycopg

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
        extra_env: dict | None = None,
    ) -> None:
        self.home = Path(home)
        self.numbers = numbers
        self.time_scale = time_scale
        self.faults = {
            "carrier": carrier_faults or {},
            "payment": payment_faults or {},
            "courier": courier_faults or {},
        }
        self.ports = {name: free_port() for name in ("web", "payment", "carrier", "courier")}
        self.base = f"http://127.0.0.1:{self.ports['web']}"
        self.serve_workers = serve_workers
        self.procs: dict[str, subprocess.Popen] = {}
        self.database_url, self._pg_name = _fresh_database(self.home)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
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
            **(extra_env or {}),
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
            ],
            "worker": [*base, "worker", "--interval", "0.2"],
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
            raise RuntimeError(f"setup failed: {setup.stderr[-3000:]}")
        for name in ("payment", "courier", "carrier", "web", "worker"):
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
            import psycopg

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

    def manage(self, code: str) -> str:
        """Run Python inside haoka against this stack's database (``haoka manage shell -c``);
        returns what it printed."""
        out = subprocess.run(
            [sys.executable, "-m", "haoka.cli", "manage", "shell", "-c", code],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return out.stdout
