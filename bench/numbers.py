"""Benchmark of the number pool: import 1,000,000 generated numbers, then time 20 typical
searches, on SQLite and on PostgreSQL. Prints one JSON document.

    .venv/bin/python bench/numbers.py                 # both databases, 1,000,000 numbers
    .venv/bin/python bench/numbers.py --db sqlite --count 100000

Targets (issue "Foundation, catalog and number picking"): import >= 20,000 numbers/s;
search p95 <= 30 ms at 1M numbers.
"""

from __future__ import annotations

import sys

# This file is named like the stdlib module ``numbers`` (the issue names it): drop its folder
# from the front of the import path before anything imports ``numbers`` (decimal does).
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]
sys.path.append(str(ROOT / "bench"))

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "haoka_bench"
CARRIERS = ("CMCC", "CUCC", "CTCC", "CBN", "HAOKA")
SEARCH_REPEATS = 10

#: Twenty searches a buyer actually makes on the 选号 page.
SEARCHES = [
    ("first page, best tier first", {}),
    ("first page, cheapest first", {"sort": "price"}),
    ("most expensive first", {"sort": "-price"}),
    ("carrier CMCC", {"carrier": "CMCC"}),
    ("carrier CUCC, cheapest", {"carrier": "CUCC", "sort": "price"}),
    ("province 广东", {"province": "广东"}),
    ("province 北京, carrier CMCC", {"province": "北京", "carrier": "CMCC"}),
    ("city 深圳", {"province": "广东", "city": "深圳"}),
    ("tail 8888", {"tail": "8888"}),
    ("tail 520", {"tail": "520"}),
    ("tail 1314, carrier CTCC", {"tail": "1314", "carrier": "CTCC"}),
    ("tail 8", {"tail": "8"}),
    ("contains 168", {"contains": "168"}),
    ("contains 520, no 4", {"contains": "520", "exclude_four": True}),
    ("no digit 4", {"exclude_four": True}),
    ("pattern AABB", {"pattern": "AABB"}),
    ("tier S", {"tier": "S"}),
    ("tier B, CMCC, 浙江", {"tier": "B", "carrier": "CMCC", "province": "浙江"}),
    ("price 100 to 500 yuan", {"min_price_fen": 10_000, "max_price_fen": 50_000, "sort": "price"}),
    ("second page, best tier first", {"__page": 2}),
]


def _child(count: int) -> dict:
    """Runs inside a process whose DATABASE_URL names an empty database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haoka.settings_test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from _machine import percentile
    from haoka.catalog import operations as catalog_ops
    from haoka.numbers import domain, importer, queries
    from haoka.numbers import operations as number_ops

    call_command("migrate", interactive=False, verbosity=0)
    catalog_ops.load_seed_catalog()
    number_ops.ensure_default_tier_prices()
    per_carrier = count // len(CARRIERS)
    t0 = time.perf_counter()
    rows = []
    for i, carrier in enumerate(CARRIERS):
        for msisdn in importer.generated_msisdns(carrier=carrier, count=per_carrier, seed=i):
            rows.append(importer.Row(line=len(rows) + 2, msisdn=msisdn, carrier=carrier))
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = importer.import_rows(rows=rows, source="bench")
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = importer.import_rows(rows=rows, source="bench-repeat")
    reimport_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    results, all_ms = [], []
    for name, params in SEARCHES:
        params = dict(params)
        page = params.pop("__page", 1)
        filters = queries.SearchFilters(**params)
        timings = []
        found = 0
        for _ in range(SEARCH_REPEATS + 1):
            start = time.perf_counter()
            result = queries.search(filters=filters, limit=20)
            if page == 2 and result.next:
                result = queries.search(filters=filters, limit=20, after=result.next)
            found = len(result.items)
            timings.append((time.perf_counter() - start) * 1000)
        timings = timings[1:]  # the first run warms caches
        all_ms.extend(timings)
        results.append(
            {
                "search": name,
                "found": found,
                "p50_ms": round(percentile(timings, 0.5), 2),
                "p95_ms": round(percentile(timings, 0.95), 2),
            }
        )
    classify_start = time.perf_counter()
    for row in rows[:200_000]:
        domain.classify(row.msisdn)
    classify_rate = min(len(rows), 200_000) / (time.perf_counter() - classify_start)
    return {
        "database": connection.vendor,
        "database_version": ".".join(map(str, connection.Database.sqlite_version_info))
        if connection.vendor == "sqlite"
        else connection.cursor().connection.info.server_version,
        "numbers": report.imported,
        "rejected": report.rejected,
        "generate_s": round(generate_s, 2),
        "import_s": round(import_s, 2),
        "import_numbers_per_s": round(report.imported / import_s),
        "reimport_changed": again.imported,
        "reimport_numbers_per_s": round(len(rows) / reimport_s),
        "classify_per_s_single_core": round(classify_rate),
        "searches": results,
        "search_p50_ms": round(percentile(all_ms, 0.5), 2),
        "search_p95_ms": round(percentile(all_ms, 0.95), 2),
        "search_max_ms": round(max(all_ms), 2),
        "targets": {"import_numbers_per_s": 20_000, "search_p95_ms": 30},
    }


def _run_child(database_url: str, count: int) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "HAOKA_HOME": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--count", str(count)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.count), ensure_ascii=False))
        return
    from _machine import machine

    runs = {}
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            runs["sqlite"] = _run_child(f"sqlite:///{tmp}/bench.sqlite3", args.count)
    if args.db in ("postgres", "both"):
        runs["postgres"] = _run_child(_fresh_postgres(), args.count)
    print(
        json.dumps(
            {"benchmark": "numbers", "machine": machine(), "count": args.count, "runs": runs},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
