"""Charging data records written out (TS 32.298 CHF records, JSON Lines, one file per UTC hour).

Two steps, both idempotent, run by the periodic task ``charging.tasks.write_cdrs``:

1. :func:`record_closed_sessions`: every session that is no longer OPEN gets its record, once
   (``ChargingDataRecord``, UNIQUE session), numbered by its row id
   (``localRecordSequenceNumber``).
2. :func:`write_ended_hours`: every UTC hour that has ended and has records but no file yet is
   written to ``settings.CDR_DIR`` (temporary file, fsync, atomic rename) and listed as a
   ``CdrFile`` with its record count and SHA-256. A file is made from the rows, so writing it
   again gives the same bytes; a file lost on disk is written again by :func:`write_hour`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.accounts import queries as account_queries
from haoka.charging import cdr
from haoka.charging.domain import SessionState
from haoka.charging.models import (
    CdrFile,
    ChargingDataRecord,
    ChargingSession,
    Exchange,
    UsageRecord,
)
from haoka.lines import queries as line_queries

log = structlog.get_logger(__name__)
CLOSED = [SessionState.RELEASED.value, SessionState.EXPIRED.value]


def record_closed_sessions(*, now: dt.datetime, limit: int = 500) -> int:
    """Make the record of up to ``limit`` closed sessions that have none; how many were made."""
    sessions = list(
        ChargingSession.objects.filter(state__in=CLOSED, cdr__isnull=True).order_by(
            "updated_at", "id"
        )[:limit]
    )
    if not sessions:
        return 0
    released = _closed_by_consumer(sessions)
    names = account_queries.token_names(token_ids=sorted({s.caller_token_id for s in sessions}))
    made = 0
    for session in sessions:
        line = line_queries.line_by_id(line_id=session.line_id)
        facts = cdr.SessionFacts(
            ref=session.ref, opened_at=session.created_at, closed_at=session.updated_at,
            state=session.state, released_by_consumer=session.id in released,
            imsi=line.imsi, msisdn=line.msisdn,
            consumer=session.consumer or names.get(session.caller_token_id) or "",
            consumer_function=session.consumer_function,
        )  # fmt: skip
        made += _record(session, facts, _units_of(session.ref), now=now)
    log.info("cdr.recorded", made=made)
    return made


def _closed_by_consumer(sessions: list[ChargingSession]) -> set[int]:
    """Sessions their consumer ended: by a release, or a one-time event (IEC), whose create
    is its only exchange and leaves it RELEASED at once; the others were ended by the CHF
    (expired) or by the operator (销户, 补换卡)."""
    operations: dict[int, set[str]] = {}
    rows = Exchange.objects.filter(session__in=sessions).values_list("session_id", "operation")
    for session_id, operation in rows:
        operations.setdefault(session_id, set()).add(operation)
    return {
        s.id for s in sessions
        if "release" in operations.get(s.id, ())
        or (operations.get(s.id) == {"create"} and s.state == SessionState.RELEASED
            and s.updated_at == s.created_at)
    }  # fmt: skip


def _units_of(ref: str) -> list[cdr.UsedUnits]:
    rows = UsageRecord.objects.filter(record_id__startswith=f"nchf:{ref}:").order_by(
        "started_at", "id"
    )
    return [
        cdr.UsedUnits(
            rating_group=r.rating_group or 0,
            unit=r.unit,
            amount=r.raw_amount,
            reported_at=r.started_at,
        )
        for r in rows
    ]


def _record(session, facts: cdr.SessionFacts, units: list[cdr.UsedUnits], *, now) -> int:
    try:
        with transaction.atomic():
            row = ChargingDataRecord.objects.create(
                session=session, hour=cdr.hour_of(facts.closed_at), record={}, created_at=now
            )
            row.record = cdr.chf_record(
                facts=facts, units=units, chf_name=settings.CHF_NAME, local_sequence=row.id
            )
            row.save(update_fields=["record"])
    except IntegrityError:  # another worker recorded it first
        return 0
    return 1


def write_ended_hours(*, now: dt.datetime) -> list[str]:
    """Write the file of every ended hour that has records and no file; the names written."""
    current = cdr.hour_of(now)
    written = set(CdrFile.objects.values_list("hour", flat=True))
    hours = (
        ChargingDataRecord.objects.filter(hour__lt=current)
        .values_list("hour", flat=True)
        .distinct()
        .order_by("hour")
    )
    return [write_hour(hour=hour, now=now).name for hour in hours if hour not in written]


def write_hour(*, hour: dt.datetime, now: dt.datetime) -> CdrFile:
    """(Re)write the file of one hour from its records, atomically, and list it."""
    rows = ChargingDataRecord.objects.filter(hour=hour).order_by("id")
    lines = [json.dumps(r.record, ensure_ascii=False, sort_keys=True) + "\n" for r in rows]
    data = "".join(lines).encode()
    name = cdr.file_name(hour)
    _write_atomically(Path(settings.CDR_DIR) / name, data)
    listed, _ = CdrFile.objects.update_or_create(
        hour=hour,
        defaults={
            "name": name, "records": len(lines), "sha256": hashlib.sha256(data).hexdigest(),
            "written_at": now,
        },
    )  # fmt: skip
    log.info("cdr.file_written", name=name, records=len(lines))
    return listed


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cdr-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(*, now: dt.datetime) -> dict:
    """Record what closed, then write the hours that ended (only once nothing is pending, so
    an hour's file holds every session that closed in it)."""
    made = record_closed_sessions(now=now)
    pending = ChargingSession.objects.filter(state__in=CLOSED, cdr__isnull=True).exists()
    files = [] if pending else write_ended_hours(now=now)
    return {"recorded": made, "files": files}
