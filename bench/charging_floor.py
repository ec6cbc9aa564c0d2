"""The floor under bench/charging.py's online figure: the same load generator (one thread
per subscriber, create, updates, release, each request sent when the last is answered) against
the same server (granian, WSGI, ``--http auto``, 2 workers x 4 threads) serving an app that does
nothing of haoka's (``bench/floor/floor_wsgi.py``), first with no database, then with one
PostgreSQL UPDATE per request. Prints one JSON document.

    .venv/bin/python bench/charging_floor.py --seconds 10

What haoka's online charging costs above ``server_and_one_update`` is its own work (Django,
authentication, parsing, rating, the session's statements); what ``server_and_one_update``
costs is what no Nchf server in Python on this stack can avoid.
"""

from __future__ import annotations

import sys

sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "bench"))

import psycopg  # noqa: E402

from _machine import cpu_by_group, machine, percentile  # noqa: E402
from charging import _own_postgres_cpu, _session_loop  # noqa: E402

SERVE = """
from granian import Granian
from granian.constants import HTTPModes, Interfaces
Granian(target="floor_wsgi:app", address="127.0.0.1", port={port}, interface=Interfaces.WSGI,
        http=HTTPModes.auto, workers={workers}, blocking_threads={threads},
        log_access=False).serve()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the floor server did not start")


def run(*, database: str | None, clients: int, seconds: float, updates: int, h2: bool,
        workers: int, threads: int) -> dict:  # fmt: skip
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench" / "floor")}
    env.pop("FLOOR_DATABASE_URL", None)
    if database:
        env["FLOOR_DATABASE_URL"] = database
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(port=port, workers=workers, threads=threads)],
        env=env,
        stdout=subprocess.DEVNULL,  # granian logs there: this script prints only its JSON
    )
    try:
        _wait_for(port)
        subscribers = [f"imsi-46000990{i:07d}" for i in range(clients)]
        timings: dict[str, list[float]] = {"create": [], "update": [], "release": []}
        lock, errors = threading.Lock(), []
        own_db = database.rsplit("/", 1)[1] if database else None
        cpu = lambda: {  # noqa: E731
            **cpu_by_group({"server": server.pid}),
            **({"postgres_own_db": _own_postgres_cpu(own_db)} if own_db else {}),
        }
        before = cpu()
        until = time.monotonic() + seconds
        base = f"http://127.0.0.1:{port}"
        shared = dict(base=base, token="floor", until=until, updates=updates, timings=timings,
                      lock=lock, errors=errors, h2=h2)  # fmt: skip
        workers_ = [
            threading.Thread(
                target=_session_loop, kwargs={**shared, "imsi": s.removeprefix("imsi-")}
            )
            for s in subscribers
        ]
        start = time.perf_counter()
        for t in workers_:
            t.start()
        for t in workers_:
            t.join()
        elapsed = time.perf_counter() - start
        after = cpu()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ops = sum(len(v) for v in timings.values())
    every = [x for v in timings.values() for x in v]
    return {
        "protocol": "HTTP/2 (h2c, prior knowledge)" if h2 else "HTTP/1.1",
        "ops": ops,
        "errors": len(errors),
        "ops_per_s": round(ops / elapsed, 1),
        "latency_ms": {f"p{q}": round(percentile(every, q / 100), 2) for q in (50, 95, 99)},
        "cpu_ms_per_op": {k: round((after[k] - before[k]) * 1000 / max(ops, 1), 3) for k in after},
    }


def _scratch_database(clients: int) -> str:
    name = f"bench_floor_{uuid.uuid4().hex[:8]}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE floor_line (subscriber text PRIMARY KEY, n bigint NOT NULL)")
        for i in range(clients):
            conn.execute("INSERT INTO floor_line VALUES (%s, 0)", (f"imsi-46000990{i:07d}",))
    return url


def _drop(url: str) -> None:
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--serve-workers", type=int, default=2)
    parser.add_argument("--serve-threads", type=int, default=4)
    args = parser.parse_args()
    common = dict(clients=args.clients, seconds=args.seconds, updates=args.updates,
                  workers=args.serve_workers, threads=args.serve_threads)  # fmt: skip
    database = _scratch_database(args.clients)
    try:
        result = {
            f"{name}_{proto}": run(database=db, h2=h2, **common)
            for name, db in (("server_only", None), ("server_and_one_update", database))
            for proto, h2 in (("http1", False), ("h2c", True))
        }
    finally:
        _drop(database)
    head = {"benchmark": "charging_floor", "machine": machine(), **common}
    print(json.dumps({**head, **result}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
