"""The floor under bench/checkout.py: what the same stack (granian, Django, ninja, bearer
tokens, PostgreSQL, all on this machine) costs for an API request that does almost nothing,
driven by the same load generator. Prints one JSON document.

    .venv/bin/python bench/api_floor.py                  # GET /api/v1/me for 10 s, 16 clients

``GET /api/v1/me`` authenticates the bearer token (one statement) and answers a small JSON
body: every checkout request pays at least that. A checkout order is seven such requests to
the platform (hold, create, kyc, contract read and sign, payment, the gateway's notification),
so ``orders_per_s_ceiling`` = requests/s / 7 is what the checkout could reach if its own work
cost nothing.
"""

from __future__ import annotations

import sys

sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # for tests.support (the e2e stack)
sys.path.append(str(ROOT / "bench"))

from _machine import cpu_by_group, local_postgres_url, machine, percentile  # noqa: E402
from checkout import MAKE_TOKENS, SERVE_THREADS, _client  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

#: Requests to the platform per checkout order (see the module docstring).
REQUESTS_PER_ORDER = 7


def run(
    *, seconds: float, clients: int, serve_workers: int, serve_threads: int, server: str
) -> dict:
    os.environ.setdefault("DATABASE_URL", local_postgres_url())
    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(
            Path(tmp),
            numbers=10,
            serve_workers=serve_workers,
            serve_threads=serve_threads,
            server=server,
        ) as stack,
    ):
        tokens = json.loads(stack.manage(MAKE_TOKENS.format(count=clients)).split("TOKENS", 1)[1])
        latencies: list[float] = []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def load(i: int) -> int:
            client = _client(stack.base)
            auth = {"Authorization": f"Bearer {tokens[i][1]}"}
            done, mine = 0, []
            while time.perf_counter() < stop:
                start = time.perf_counter()
                answer = client.request("GET", "/api/v1/me", headers=auth)
                mine.append((time.perf_counter() - start) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
                done += 1
            with lock:
                latencies.extend(mine)
            return done

        groups = {name: proc.pid for name, proc in stack.procs.items()}
        cpu_before = cpu_by_group(groups)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            total = sum(pool.map(load, range(clients)))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_by_group(groups)
    per_s = total / elapsed
    return {
        "requests": total,
        "clients": clients,
        "serve_workers": serve_workers,
        "serve_threads": serve_threads,
        "server": server,
        "database_url": os.environ["DATABASE_URL"],
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(per_s, 1),
        "cpu_ms_per_request": {
            k: round((cpu_after[k] - cpu_before[k]) * 1000 / max(total, 1), 3) for k in cpu_after
        },
        "latency_ms": {"p50": round(percentile(latencies, 0.5), 2),
                       "p95": round(percentile(latencies, 0.95), 2)},
        "requests_per_order": REQUESTS_PER_ORDER,
        "orders_per_s_ceiling": round(per_s / REQUESTS_PER_ORDER, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--serve-workers", type=int, default=2)
    parser.add_argument("--serve-threads", type=int, default=SERVE_THREADS)
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="granian")
    result = run(**vars(parser.parse_args()))  # the options are run()'s arguments
    head = {"benchmark": "api_floor", "machine": machine(), "database": "postgresql"}
    print(json.dumps({**head, **result}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
