"""Bulk import of numbers (CSV or generated): good rows in, bad rows reported with line and
reason, repeats change nothing (INSERT ... ON CONFLICT DO NOTHING on the UNIQUE msisdn).

Rows are validated and classified in Python, then written in chunks with one multi-row
statement per chunk (PostgreSQL: COPY into a temp table, then INSERT ... SELECT). Each chunk
commits on its own, so a crash mid-file loses nothing that a re-run will not finish.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, connection, transaction

from haoka.catalog import queries as catalog_queries
from haoka.core import clock
from haoka.core.errors import HaokaError, ValidationError
from haoka.core.money import InvalidAmount, yuan_to_fen
from haoka.core.phone import InvalidMsisdn
from haoka.numbers import domain, queries
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberImport, PhoneNumber

CHUNK = 10_000
#: An import this large changes the table's statistics enough to refresh them.
ANALYZE_AFTER = 10_000
MAX_REPORTED_ERRORS = 1_000
COLUMNS = (
    "msisdn",
    "msisdn_rev",
    "carrier_code",
    "segment",
    "province",
    "city",
    "status",
    "tier",
    "tier_rank",
    "score",
    "pattern_mask",
    "has_four",
    "price_fen",
    "min_monthly_fen",
    "contract_months",
    "price_locked",
    "order_ref",
    "created_at",
)


class DuplicateInFile(ValidationError):
    code = "duplicate_in_file"
    message = "文件内重复的号码"


class CarrierMismatch(ValidationError):
    code = "carrier_mismatch"
    message = "号段与填写的运营商不符"


class BadCsv(ValidationError):
    code = "bad_csv"
    message = "CSV 文件格式不正确"


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)

    def reject(self, *, line: int, value: str, code: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "value": value[:40], "code": code, "reason": reason})


@dataclass(frozen=True)
class Row:
    line: int
    msisdn: str
    carrier: str = ""
    price: str = ""


class _RowBuilder:
    """Turns a Row into a tuple of COLUMNS or a rejection."""

    def __init__(self, *, now) -> None:
        self.now = now
        self.carriers = catalog_queries.carrier_codes()
        self.tables: dict[str, dict[str, tuple[int, int, int]]] = {}
        self.seen: set[str] = set()

    def _prices(self, carrier: str) -> dict[str, tuple[int, int, int]]:
        if carrier not in self.tables:
            self.tables[carrier] = {
                t.value: (p.price_fen, p.min_monthly_fen, p.contract_months)
                for t, p in queries.price_table(carrier=carrier).items()
            }
        return self.tables[carrier]

    def build(self, row: Row) -> tuple | HaokaError:
        raw = row.msisdn.strip()
        try:
            msisdn = domain.parse_msisdn(raw)
        except InvalidMsisdn as exc:
            return exc
        location = domain.locate(msisdn=msisdn)
        if not location.carrier_code and not row.carrier.strip():
            return queries.NotMobileSegment(value=raw)
        carrier = row.carrier.strip().upper() or location.carrier_code
        if carrier not in self.carriers:
            return catalog_queries.UnknownCarrier(carrier=carrier)
        # HAOKA (the own brand) resells a host network's numbers; other carriers must match.
        if (
            row.carrier.strip()
            and location.carrier_code
            and carrier not in (location.carrier_code, "HAOKA")
        ):
            return CarrierMismatch(
                f"号段属于 {location.carrier_code}，与填写的 {carrier} 不符", value=raw
            )
        if msisdn in self.seen:
            return DuplicateInFile(value=msisdn)
        classification = domain.classify(msisdn)
        letter, rank = _TIER_INFO[classification.tier]
        price, min_monthly, months = self._prices(carrier).get(letter, (0, 0, 0))
        locked = False
        if row.price.strip():
            try:
                price, locked = yuan_to_fen(row.price.strip()), True
            except InvalidAmount as exc:
                return exc
            if price < 0:
                return InvalidAmount("价格不能为负", value=row.price)
        self.seen.add(msisdn)
        return (
            msisdn,
            msisdn[::-1],
            carrier,
            msisdn[:3],
            location.province,
            location.city,
            NumberState.AVAILABLE.value,
            letter,
            rank,
            classification.score,
            classification.pattern_mask,
            "4" in msisdn,
            price,
            min_monthly,
            months,
            locked,
            "",
            self.now,
        )


#: (stored letter, rank) of each domain Tier, looked up once per row instead of computed.
_TIER_INFO = {t: (t.value, t.rank) for t in domain.Tier}


def _write_chunk(rows: list[tuple]) -> int:
    """Insert rows (sorted by msisdn), skipping msisdns already present. Returns how many
    were inserted."""
    if connection.vendor == "postgresql":
        return _write_chunk_postgres(rows)
    table = PhoneNumber._meta.db_table
    cols = ", ".join(COLUMNS)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    # Only a repeat of the same msisdn is skipped; any other constraint failure is an error
    # (INSERT OR IGNORE would silently drop rows breaking NOT NULL or CHECK constraints).
    sql = (
        f"INSERT INTO {table} ({cols}) VALUES ({placeholders}) "  # noqa: S608
        "ON CONFLICT (msisdn) DO NOTHING"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        before = connection.connection.total_changes
        cursor.executemany(sql, rows)
        return connection.connection.total_changes - before


def _write_chunk_postgres(rows: list[tuple]) -> int:
    """COPY straight into the table after dropping msisdns already there (plain inserts are
    far cheaper than INSERT ... ON CONFLICT). If a concurrent import slipped the same number
    in meanwhile, the COPY fails on the UNIQUE index and the chunk goes through a temp table
    with ON CONFLICT DO NOTHING instead."""
    table = PhoneNumber._meta.db_table
    cols = ", ".join(COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        # A re-runnable bulk load need not wait for each commit's WAL flush.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"SELECT msisdn FROM {table} WHERE msisdn = ANY(%s)",  # noqa: S608
            [[row[0] for row in rows]],
        )
        present = {m for (m,) in cursor.fetchall()}
        fresh = [row for row in rows if row[0] not in present] if present else rows
        if not fresh:
            return 0
        try:
            with transaction.atomic(), cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in fresh:
                    copy.write_row(row)
            return len(fresh)
        except IntegrityError:
            pass
        temp = f"SELECT {cols} FROM {table} WITH NO DATA"  # noqa: S608 - names from the model
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _num_import ON COMMIT DELETE ROWS AS {temp}"
        )
        with cursor.copy(f"COPY _num_import ({cols}) FROM STDIN") as copy:
            for row in fresh:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _num_import "  # noqa: S608
            "ON CONFLICT (msisdn) DO NOTHING"
        )
        return cursor.rowcount


def import_rows(
    *,
    rows: Iterable[Row],
    source: str,
    sha256: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate, classify and insert numbers. Returns the report (also saved as a NumberImport).

    Outside a transaction, chunks are written by a second thread with its own connection
    while this one classifies the next chunk (the database and Python then work at once).
    Inside a caller's transaction everything is written on the caller's connection.
    """
    now = clock.now()
    batch = NumberImport.objects.create(source=source[:300], sha256=sha256, started_at=now)
    builder = _RowBuilder(now=now)
    report = ImportReport()
    pending: list[tuple] = []
    with _ChunkWriter(pipelined=not connection.in_atomic_block) as writer:

        def counted(chunk_size: int, inserted: int) -> None:
            report.imported += inserted
            report.already_present += chunk_size - inserted
            if progress:
                progress(chunk_size)

        for row in rows:
            report.rows += 1
            built = builder.build(row)
            if isinstance(built, HaokaError):
                report.reject(
                    line=row.line, value=row.msisdn, code=built.code, reason=built.message
                )
                if progress:
                    progress(1)
                continue
            pending.append(built)
            if len(pending) >= CHUNK:
                writer.write(pending, done=counted)
                pending = []
        if pending:
            writer.write(pending, done=counted)
    if report.imported >= ANALYZE_AFTER:
        _analyze()
    NumberImport.objects.filter(pk=batch.pk).update(
        finished_at=clock.now(),
        rows=report.rows,
        imported=report.imported,
        already_present=report.already_present,
        rejected=report.rejected,
        errors=report.errors,
    )
    return report


class _ChunkWriter:
    """Writes chunks in order, inline or on one background thread (at most one in flight)."""

    def __init__(self, *, pipelined: bool) -> None:
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="num-import")
            if pipelined
            else None
        )
        self.in_flight = None

    def write(self, chunk: list[tuple], *, done: Callable[[int, int], None]) -> None:
        chunk.sort()  # msisdn order: neighbouring index pages, far fewer random writes
        if self.pool is None:
            done(len(chunk), _write_chunk(chunk))
            return
        self._wait()
        future = self.pool.submit(_write_chunk, chunk)
        self.in_flight = (future, len(chunk), done)

    def _wait(self) -> None:
        if self.in_flight is not None:
            future, size, done = self.in_flight
            self.in_flight = None
            done(size, future.result())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._wait()
        finally:
            if self.pool is not None:
                # Resolved on the writer thread, so it closes that thread's own connection.
                self.pool.submit(lambda: connection.close()).result()
                self.pool.shutdown(wait=True)


def _analyze() -> None:
    """Refresh planner statistics after a large import, so searches pick the right index. On
    PostgreSQL also VACUUM, which marks the new pages all-visible so searches can answer from
    the index alone (index-only scans) without visiting the table."""
    table = PhoneNumber._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute(f"ANALYZE {table}")


def read_csv(text_stream: io.TextIOBase) -> Iterator[Row]:
    """Rows of a CSV with a header naming ``msisdn`` and optionally ``carrier`` and ``price``
    (yuan). Raises BadCsv when the header is unusable."""
    reader = csv.reader(text_stream)
    header = next(reader, None)
    if header is None:
        raise BadCsv("CSV 文件为空")
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "msisdn" not in names:
        raise BadCsv("表头必须包含 msisdn 列（可选 carrier、price）", header=header[:10])
    unknown = sorted(set(names) - {"msisdn", "carrier", "price"})
    if unknown:
        raise BadCsv("表头含有未知的列", unknown=unknown)
    idx = {n: names.index(n) for n in names}
    for line, values in enumerate(reader, start=2):
        if not values or all(not v.strip() for v in values):
            continue
        get = lambda name: values[idx[name]] if name in idx and idx[name] < len(values) else ""  # noqa: E731, B023
        yield Row(line=line, msisdn=get("msisdn"), carrier=get("carrier"), price=get("price"))


def generated_msisdns(*, carrier: str, count: int, seed: int | None) -> list[str]:
    """``count`` distinct realistic numbers of ``carrier`` (real prefixes across provinces).
    Raises UnknownCarrier, InvalidSampleRequest."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    return domain.generate_msisdns(carrier_code=carrier, rng=rng, count=count)


def _progress_bar(total: int, label: str):
    from rich.progress import (  # noqa: PLC0415  (rich: only for a progress bar on a terminal)
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
    )

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
        disable=not sys.stderr.isatty() and total < 0,
    )
    task = progress.add_task(label, total=total)
    return progress, lambda n: progress.advance(task, n)


def _print_report(report: ImportReport, *, show: int = 20) -> None:
    print(
        f"共 {report.rows} 行：导入 {report.imported}，"
        f"已存在 {report.already_present}，拒绝 {report.rejected}"
    )
    for err in report.errors[:show]:
        print(
            f"  第 {err['line']} 行 {err['value']!r}: {err['reason']} ({err['code']})",
            file=sys.stderr,
        )
    if report.rejected > show:
        print(f"  …… 另有 {report.rejected - show} 行被拒绝", file=sys.stderr)


def cli_import(*, path: str) -> int:
    file = Path(path)
    if not file.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 2
    data = file.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        print("错误：文件不是 UTF-8 编码", file=sys.stderr)
        return 2
    total = max(text.count("\n") - 1, 0)
    progress, advance = _progress_bar(total, "导入号码")
    try:
        with progress:
            report = import_rows(
                rows=read_csv(io.StringIO(text)),
                source=str(file),
                sha256=hashlib.sha256(data).hexdigest(),
                progress=advance,
            )
    except HaokaError as exc:
        print(f"错误：{exc.message} {exc.details or ''}", file=sys.stderr)
        return 2
    _print_report(report)
    return 0 if report.rejected == 0 else 1


def cli_generate(*, carrier: str, count: int, seed: int | None, output: str | None) -> int:
    carrier = carrier.upper()
    try:
        catalog_queries.carrier_by_code(carrier)
    except HaokaError as exc:
        print(f"错误：{exc.message}（{carrier}）", file=sys.stderr)
        return 2
    if count <= 0:
        print("错误：--count 必须是正整数", file=sys.stderr)
        return 2
    numbers = generated_msisdns(carrier=carrier, count=count, seed=seed)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write("msisdn,carrier\n")
            fh.writelines(f"{m},{carrier}\n" for m in numbers)
        print(f"已写入 {count} 个号码到 {output}")
        return 0
    progress, advance = _progress_bar(count, f"生成 {carrier} 号码")
    with progress:
        report = import_rows(
            rows=(Row(line=i, msisdn=m, carrier=carrier) for i, m in enumerate(numbers, 1)),
            source=f"generate:{carrier}:{count}:{seed}",
            progress=advance,
        )
    _print_report(report)
    return 0
