"""Benchmark of the commission engine on PostgreSQL: accrual of N activations (``process_due``),
then settlement (``settle_due``) and release (``release_due``) at later times. Prints one JSON
document: entries/s and ledger transactions/s per phase, the queries one fact, one sale or one
entry costs, and a check that the books balance.

    .venv/bin/python bench/commission.py                      # 100,000 activations, 1,000 agents
    .venv/bin/python bench/commission.py --activations 20000 --workers 4

The sweeps take a hundred facts or sales per database transaction (``--limit`` rows per call);
with ``--workers`` above 1 they skip the rows another worker holds.

Set-up (not timed): 1,000 level-1 agents each with ``--subagents`` sub-agents (approved, ledger
accounts opened with ``commission.open_agent_accounts``), a distribution product with one rule
of each kind, every sub-agent selling it with a markup; then N sales (``Sale`` rows with the
terms ``domain.terms_for`` gives, as ``operations.attribute_order`` writes them), their ACTIVE
lines and N unprocessed ``ACTIVATED`` facts in the inbox (as ``receivers`` record them). Every
sale is a sub-agent's: each activation writes 秒返, 次月返 (each with the parent's override)
and the markup, five entries and six ledger transactions.

``--workers W`` runs each phase in W processes at once, each looping over the sweep.
"""

from __future__ import annotations

import sys

# bench/numbers.py shadows the stdlib module ``numbers``: keep this folder off the front of the
# import path (it is appended at the end below, for _machine).
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("bench")]

import argparse  # noqa: E402
import collections  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]
sys.path.append(str(ROOT / "bench"))

from _machine import machine  # noqa: E402

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PLAN = "CM-MANGO-39"
ACTIVATED_AT = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing, 1 March
PROCESS_AT = ACTIVATED_AT + dt.timedelta(minutes=1)
SETTLE_AT = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)  # past the hold and 1 May (次月返)
RELEASE_AT = SETTLE_AT + dt.timedelta(days=8)  # past the T+7 cool-down
BATCH = 5000
PHASES = {
    # phase: (sweep, when, ledger transaction kinds it posts)
    "accrual": ("process_due", PROCESS_AT, ("distribution.accrue", "distribution.markup_revenue")),
    "settlement": ("settle_due", SETTLE_AT, ("distribution.settled",)),
    "release": ("release_due", RELEASE_AT, ("distribution.withdrawable",)),
}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haoka.settings_test")
    import django

    django.setup()
    threshold = os.environ.get("BENCH_PREPARE_THRESHOLD")
    if threshold:  # an experiment: Django turns psycopg's prepared statements off by default
        from django.db import connections

        connections["default"].settings_dict["OPTIONS"]["prepare_threshold"] = int(threshold)


# ---------------------------------------------------------------------------- set-up


def _agents(*, count: int, subagents: int, markup_fen: int) -> list[tuple[int, int]]:
    """Approved level-1 agents and their sub-agents; returns (sub-agent id, parent id)."""
    from django.db import transaction

    from haoka.accounts.models import User
    from haoka.core import pii
    from haoka.distribution import commission, domain
    from haoka.distribution.models import Agent, ShopItem

    def people(start: int, n: int) -> list[User]:
        rows = [User(username=f"a{start + i:09d}", phone=f"17{start + i:09d}") for i in range(n)]
        return User.objects.bulk_create(rows, batch_size=BATCH)

    def agent(user: User, *, serial: int, parent: Agent | None) -> Agent:
        return Agent(
            user=user,
            code=f"A{serial:07d}",
            invite_code=None if parent else f"Y{serial:07d}",
            parent=parent,
            level=2 if parent else 1,
            status=domain.AgentStatus.APPROVED,
            real_name="王小明",
            name_hash=pii.lookup_hash(f"n{serial}", purpose="name"),
            id_number=f"44030519900101{serial % 1000:03d}X",
            id_hash=f"id{serial}",
            phone_hash=f"ph{serial}",
            payee_channel="ALIPAY",
            payee_account=f"agent{serial}@example.com",
            shop_name=f"小店{serial}",
            tier=domain.NEW_AGENT_TIER,
            applied_at=ACTIVATED_AT,
            decided_at=ACTIVATED_AT,
        )

    with transaction.atomic():
        parents = Agent.objects.bulk_create(
            [agent(u, serial=i, parent=None) for i, u in enumerate(people(0, count))],
            batch_size=BATCH,
        )
        subs_users = people(count, count * subagents)
        children = Agent.objects.bulk_create(
            [
                agent(u, serial=count + i, parent=parents[i // subagents])
                for i, u in enumerate(subs_users)
            ],
            batch_size=BATCH,
        )
        commission.open_system_accounts()
        for a in [*parents, *children]:
            commission.open_agent_accounts(agent_id=a.pk, code=a.code)
        ShopItem.objects.bulk_create(
            [ShopItem(agent=c, plan_code=PLAN, markup_fen=markup_fen) for c in children],
            batch_size=BATCH,
        )
    return [(c.pk, c.parent_id) for c in children]


def _product() -> None:
    from haoka.distribution import operations as dist_ops
    from haoka.distribution.models import CommissionRule, Product

    Product.objects.create(plan_code=PLAN, margin_fen=100_00, max_markup_fen=20_00)
    for kind, fields in (
        ("ACTIVATION", {"amount_fen": 30_00}),
        ("FIRST_TOPUP", {"amount_fen": 10_00, "threshold_fen": 50_00}),
        ("NEXT_MONTH", {"amount_fen": 20_00}),
        ("RECURRING", {"rate_bp": 1000, "months": 6}),
        ("OVERRIDE", {"rate_bp": 2000}),
    ):
        dist_ops.save_rule(
            rule=CommissionRule(
                plan_code=PLAN,
                tier="",
                kind=kind,
                valid_from=ACTIVATED_AT - dt.timedelta(days=30),
                **fields,
            )
        )


def _sales(*, chain: list[tuple[int, int]], count: int, markup_fen: int) -> None:
    """N sales with their terms, their ACTIVE lines and their ACTIVATED facts, in bulk."""
    from django.db import transaction

    from haoka.accounts.models import User
    from haoka.distribution import domain
    from haoka.distribution import operations as dist_ops
    from haoka.distribution.models import Inbox, Product, Sale
    from haoka.lines.models import Line

    product = Product.objects.get(plan_code=PLAN)
    terms = domain.terms_for(
        dist_ops._rules(PLAN),
        plan_code=PLAN,
        seller_tier="C",
        parent_tier="C",
        margin_fen=product.margin_fen,
        markup_fen=min(markup_fen, product.max_markup_fen),
        at=ACTIVATED_AT - dt.timedelta(days=1),
    )
    customer = User.objects.create(username="customer", phone="13000000000")
    for start in range(0, count, BATCH):
        n = range(start, min(count, start + BATCH))
        with transaction.atomic():
            sales = Sale.objects.bulk_create(
                [
                    Sale(
                        order_ref=f"HKB{i:010d}",
                        agent_id=chain[i % len(chain)][0],
                        parent_id=chain[i % len(chain)][1],
                        seller_tier="C",
                        parent_tier="C",
                        plan_code=PLAN,
                        terms=terms.as_json(),
                        margin_fen=terms.margin_fen,
                        customer_user_id=customer.pk,
                        msisdn=f"150{i:08d}",
                        created_at=ACTIVATED_AT - dt.timedelta(days=1),
                    )
                    for i in n
                ]
            )
            lines = Line.objects.bulk_create(
                [
                    Line(
                        msisdn=s.msisdn,
                        user=customer,
                        carrier_code="CMCC",
                        plan_code=PLAN,
                        status="ACTIVE",
                        iccid=f"8986{i:016d}",
                        imsi=f"46000{i:010d}",
                        order_ref=s.order_ref,
                        activated_at=ACTIVATED_AT,
                        created_at=ACTIVATED_AT,
                    )
                    for i, s in zip(n, sales, strict=True)
                ]
            )
            Inbox.objects.bulk_create(
                [
                    Inbox(
                        key=f"ACTIVATED:{line.pk}",
                        kind="ACTIVATED",
                        sale=s,
                        data={"line_id": line.pk},
                        at=ACTIVATED_AT,
                    )
                    for s, line in zip(sales, lines, strict=True)
                ]
            )


# ---------------------------------------------------------------------------- phases


#: Tables that grow or churn in the sweeps, analyzed as autovacuum would when it is off.
GROWING = (
    "distribution_inbox, distribution_sale, distribution_entry, core_ledgeraccount, "
    "core_ledgertransaction, core_ledgerentry"
)


def _sweep(phase: str, *, limit: int, upkeep: bool = True) -> dict:
    """Run the phase's sweep until nothing is left for it: what it did, and the CPU seconds
    this process and its PostgreSQL backend spent on it.

    With ``upkeep`` on a server whose autovacuum is off, the growing tables are analyzed
    when 50 rows + 10 % have changed (autovacuum's default trigger): otherwise the plans of
    the foreign-key checks PostgreSQL caches per connection, made while the ledger tables
    were empty, stay sequential scans and every commit gets slower as the tables grow."""
    from django.db import connection

    from haoka.distribution import commission
    from haoka.distribution.models import Inbox

    name, at, _ = PHASES[phase]
    sweep = getattr(commission, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('autovacuum')")
        backend, autovacuum = cursor.fetchone()
    upkeep = upkeep and autovacuum == "off"
    cpu, backend_cpu = time.process_time(), _proc_cpu(backend)
    done, analyzed_at, analyze_s = 0, 0, 0.0
    while True:
        got = sweep(now=at, limit=limit)
        got = sum(got.values()) if isinstance(got, dict) else got
        done += got
        if upkeep and done - analyzed_at >= 50 + done // 10:
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {GROWING}")
            analyze_s += time.perf_counter() - start
            analyzed_at = done
        if got:
            continue
        # With other workers, the sweep can come back empty while they hold the last rows.
        left = Inbox.objects.filter(processed_at__isnull=True, attempts__lt=20)
        if phase == "accrual" and left.exists():
            time.sleep(0.01)
            continue
        return {
            "done": done,
            "python_cpu_s": time.process_time() - cpu,
            "postgres_cpu_s": _proc_cpu(backend) - backend_cpu,
            "analyze_s": analyze_s,
        }


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a process on this machine (the database backend serving us)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profile(phase: str) -> dict:
    """One small sweep with every query captured: queries per unit and the statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from haoka.distribution import commission
    from haoka.distribution.models import Entry

    name, at, _ = PHASES[phase]
    status = {"accrual": None, "settlement": "SETTLED", "release": "WITHDRAWABLE"}[phase]
    rows = Entry.objects.filter(status=status) if status else Entry.objects.all()
    entries_before = rows.count()
    sales_before = rows.values("sale_id").distinct().count()
    connection.queries_log.clear()  # the log keeps 9,000 queries: make room for this one
    with CaptureQueriesContext(connection) as captured:
        getattr(commission, name)(now=at, limit={"release": 250}.get(phase, 50))
    entries = rows.count() - entries_before
    sales = rows.values("sale_id").distinct().count() - sales_before
    statements = collections.Counter(_shape(q["sql"]) for q in captured.captured_queries)
    return {
        "sales": sales,
        "entries": entries,
        "queries": len(captured),
        "queries_per_sale": round(len(captured) / max(sales, 1), 1),
        "queries_per_entry": round(len(captured) / max(entries, 1), 2),
        "statements": dict(statements.most_common(20)),
    }


def _shape(sql: str) -> str:
    """A statement without its values: the verb and the main table."""
    verb = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.I)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql.upper() else ""
    return f"{verb} {table.group(1) if table else ''}{lock}".strip()


def _run_phase(phase: str, *, workers: int, limit: int, upkeep: bool) -> dict:
    from django.db import connection

    from haoka.core.models import LedgerTransaction
    from haoka.distribution.models import Entry

    kinds = PHASES[phase][2]
    txns_before = LedgerTransaction.objects.filter(kind__in=kinds).count()
    entries_before = Entry.objects.count()
    connection.close()
    start = time.perf_counter()
    if workers == 1:
        runs = [_sweep(phase, limit=limit, upkeep=upkeep)]
    else:
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", phase, "--limit", str(limit)]
                + ([] if i == 0 and upkeep else ["--no-upkeep"]),  # one worker analyzes
                stdout=subprocess.PIPE,
                text=True,
                env=os.environ.copy(),
            )
            for i in range(workers)
        ]
        runs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in children]
    seconds = time.perf_counter() - start
    done = sum(r["done"] for r in runs)
    txns = LedgerTransaction.objects.filter(kind__in=kinds).count() - txns_before
    entries = done if phase != "accrual" else Entry.objects.count() - entries_before
    return {
        "workers": workers,
        "seconds": round(seconds, 2),
        "entries": entries,
        "ledger_transactions": txns,
        "entries_per_s": round(entries / seconds, 1),
        "ledger_transactions_per_s": round(txns / seconds, 1),
        # Where the wall time went: Python (ORM, driver), the database backends, and the
        # rest (waiting: round trips, commits, locks, other processes on the machine).
        "cpu_ms_per_entry": {
            "python": round(sum(r["python_cpu_s"] for r in runs) * 1000 / max(entries, 1), 2),
            "postgres": round(sum(r["postgres_cpu_s"] for r in runs) * 1000 / max(entries, 1), 2),
        },
        "wall_ms_per_entry": round(seconds * 1000 / max(entries, 1), 2),
        "done_per_worker": [r["done"] for r in runs],
        "analyze_s": round(sum(r["analyze_s"] for r in runs), 2),
    }


def _verify() -> dict:
    """The trial balance, and every agent's accounts (cached and summed from entries) against
    the sums of their commission entries by status."""
    from django.db.models import F, Sum

    from haoka.core import ledger
    from haoka.core.models import LedgerAccount, LedgerEntry
    from haoka.distribution.models import Entry, Sale

    expected: dict[str, int] = collections.Counter()
    stage = {"PENDING": "pending", "SETTLED": "settled", "WITHDRAWABLE": "withdrawable"}
    rows = Entry.objects.exclude(status="CLAWED_BACK").values("agent_id", "status")
    for row in rows.annotate(s=Sum("amount_fen")):
        expected[f"liability:agent:{row['agent_id']}:{stage[row['status']]}"] -= row["s"]
    accounts = LedgerAccount.objects.filter(code__startswith="liability:agent:")
    cached = {code: bal for code, bal in accounts.values_list("code", "balance_fen")}
    summed = dict(
        LedgerEntry.objects.filter(account__code__startswith="liability:agent:")
        .values_list("account__code")
        .annotate(s=Sum("amount_fen"))
    )
    wrong = [
        code
        for code in cached
        if not (cached[code] == summed.get(code, 0) == expected.get(code, 0))
    ]
    over = Sale.objects.filter(committed_fen__gt=F("margin_fen")).count()
    return {
        "trial_balance_fen": ledger.trial_balance_fen(),
        "unbalanced_transactions": len(ledger.unbalanced_transactions()),
        "agent_accounts_checked": len(cached),
        "agent_accounts_wrong": len(wrong),
        "sales_over_margin": over,
        "ok": ledger.trial_balance_fen() == 0 and not wrong and not over,
    }


def _child(args) -> dict:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from haoka.core.models import LedgerTransaction
    from haoka.distribution.models import Entry, Inbox

    call_command("migrate", interactive=False, verbosity=0)
    start = time.perf_counter()
    _product()
    chain = _agents(count=args.agents, subagents=args.subagents, markup_fen=args.markup)
    _sales(chain=chain, count=args.activations, markup_fen=args.markup)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('autovacuum'),"
            " current_setting('synchronous_commit'), current_setting('jit')"
        )
        names = ("server_version", "autovacuum", "synchronous_commit", "jit")
        server = dict(zip(names, cursor.fetchone(), strict=True))
    out: dict = {"server": server, "setup_s": round(setup_s, 1), "profile": {}, "phases": {}}
    for phase in PHASES:
        if not args.no_profile:
            out["profile"][phase] = _profile(phase)
        out["phases"][phase] = _run_phase(
            phase, workers=args.workers, limit=args.limit, upkeep=not args.no_upkeep
        )
    out["total_s"] = round(sum(p["seconds"] for p in out["phases"].values()), 2)
    out["counts"] = {
        "agents": args.agents * (1 + args.subagents),
        "sales": args.activations,
        "facts": Inbox.objects.count(),
        "facts_unprocessed": Inbox.objects.filter(processed_at__isnull=True).count(),
        "entries": Entry.objects.count(),
        "entries_by_status": dict(
            collections.Counter(Entry.objects.values_list("status", flat=True))
        ),
        "ledger_transactions": LedgerTransaction.objects.count(),
    }
    out["verify"] = _verify()
    return out


def _fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activations", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=1000, help="level-1 agents")
    parser.add_argument("--subagents", type=int, default=3, help="sub-agents per agent")
    parser.add_argument("--markup", type=int, default=5_00, help="sub-agents' markup, fen")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=500, help="rows per sweep call")
    parser.add_argument("--database", default="bench_commission")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--prepare-threshold",
        type=int,
        help="experiment: let psycopg prepare statements run this often (Django's default: never)",
    )
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--worker", choices=list(PHASES))
    parser.add_argument("--no-upkeep", action="store_true", help="never ANALYZE in the sweep")
    args = parser.parse_args()
    if args.worker:
        _setup_django()
        print(json.dumps(_sweep(args.worker, limit=args.limit, upkeep=not args.no_upkeep)))
        return
    if args.child:
        print(json.dumps(_child(args), ensure_ascii=False))
        return
    url = _fresh_postgres(args.database)
    env = {**os.environ, "DATABASE_URL": url, "HAOKA_HOME": str(ROOT)}
    if args.prepare_threshold is not None:
        env["BENCH_PREPARE_THRESHOLD"] = str(args.prepare_threshold)
    out = subprocess.run(
        [sys.executable, __file__, "--child", *sys.argv[1:]],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-4000:])
    result = {
        "benchmark": "commission",
        "machine": machine(),
        "database": "postgresql",
        "activations": args.activations,
        "agents": {"level1": args.agents, "subagents_each": args.subagents},
        "prepare_threshold": args.prepare_threshold,
        **json.loads(out.stdout.strip().splitlines()[-1]),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
