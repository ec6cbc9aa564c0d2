"""``haoka usage import FILE.csv`` and ``haoka usage rerate --from --to``.

The CSV has a header row with ``record_id, subscriber, service, amount, started_at`` and an
optional ``rating_group``; ``started_at`` is ISO 8601 with a zone (``2026-05-10T12:00:00+08:00``).
Records are grouped by subscriber and rated in batches; rejected rows are listed with their
line number and reason (and written to ``--rejects FILE`` when given)."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from haoka.charging import operations, rerate
from haoka.core import clock

REQUIRED = ("record_id", "subscriber", "service", "amount", "started_at")


def _parse(row: dict, number: int) -> tuple[operations.RecordIn | None, str]:
    try:
        started = dt.datetime.fromisoformat(row["started_at"].strip())
        amount = int(row["amount"])
        group = (row.get("rating_group") or "").strip()
        rec = operations.RecordIn(
            record_id=row["record_id"].strip(),
            subscriber=row["subscriber"].strip(),
            service=row["service"].strip().lower(),
            amount=amount,
            started_at=started,
            rating_group=int(group) if group else None,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        return None, f"第 {number} 行格式错误：{exc}"
    return rec, ""


def read(path: Path) -> tuple[dict[str, list[operations.RecordIn]], list[tuple[int, str, str]]]:
    """Records grouped by subscriber, and (line number, record id, reason) of bad rows."""
    by_subscriber: dict[str, list[operations.RecordIn]] = defaultdict(list)
    bad: list[tuple[int, str, str]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"错误：CSV 缺少列 {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            rec, reason = _parse(row, number)
            if rec is None:
                bad.append((number, str(row.get("record_id", "")), reason))
            else:
                by_subscriber[rec.subscriber].append(rec)
    return by_subscriber, bad


def _batches(by_subscriber: dict[str, list[operations.RecordIn]]):
    batch: list[operations.RecordIn] = []
    for records in by_subscriber.values():
        for rec in records:
            batch.append(rec)
            if len(batch) == operations.MAX_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def cli_import(*, path: str, rejects: str | None) -> int:
    file = Path(path)
    if not file.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 2
    by_subscriber, bad = read(file)
    total = sum(len(v) for v in by_subscriber.values())
    counts = {"RATED": 0, "DUPLICATE": 0, "REJECTED": 0}
    rejected = [(n, rid, reason) for n, rid, reason in bad]
    console = Console(stderr=True)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("计费中", total=total)
        for batch in _batches(by_subscriber):
            for outcome in operations.rate_records(records=batch, now=clock.now()):
                counts[outcome.status] += 1
                if outcome.status == "REJECTED":
                    rejected.append((0, outcome.record_id, outcome.reason))
            progress.advance(task, len(batch))
    counts["REJECTED"] += len(bad)
    print(
        f"已计费 {counts['RATED']} 条，重复 {counts['DUPLICATE']} 条，拒绝 {counts['REJECTED']} 条"
    )
    for number, record_id, reason in rejected[:20]:
        where = f"第 {number} 行 " if number else ""
        print(f"  拒绝 {where}{record_id}: {reason}", file=sys.stderr)
    if rejects and rejected:
        with open(rejects, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["line", "record_id", "reason"])
            writer.writerows(rejected)
    return 0 if not rejected else 1


def cli_rerate(*, start: str, end: str) -> int:
    try:
        since = dt.datetime.fromisoformat(start)
        until = dt.datetime.fromisoformat(end)
    except ValueError as exc:
        print(f"错误：时间格式不正确（{exc}）", file=sys.stderr)
        return 2
    if since.tzinfo is None or until.tzinfo is None:
        print("错误：时间必须带时区，例如 2026-05-01T00:00:00+08:00", file=sys.stderr)
        return 2
    try:
        line_ids = rerate.lines_in(start=since, end=until)
    except rerate.InvalidPeriod:
        print("错误：结束时间必须晚于开始时间", file=sys.stderr)
        return 2
    before = after = records = 0
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("重新计费", total=len(line_ids))
        for line_id in line_ids:
            done = rerate.rerate_line(line_id=line_id, start=since, end=until, now=clock.now())
            before, after, records = (
                before + done.fen_before,
                after + done.fen_after,
                records + done.records,
            )
            progress.advance(task)
    print(f"重新计费 {len(line_ids)} 条线路、{records} 条话单：原计 {before} 分，现计 {after} 分")
    return 0
