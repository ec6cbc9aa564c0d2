"""The statements of online charging, written out (the hot path of the platform: a request is
a handful of statements, not an ORM query per object). Portable between PostgreSQL and SQLite;
``FOR UPDATE`` where the database has it (SQLite serializes writers anyway).

Row shapes are plain tuples/dataclasses; ``charging.online`` holds the rules.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime, parse_time

from haoka.charging.domain import Bucket as EngineBucket
from haoka.charging.domain import PayerKind, Source, TimeWindow, Unit


@functools.cache
def _pg() -> bool:
    """Whether the (one, process-wide) database is PostgreSQL."""
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def _for_update(of: str) -> str:
    return f" FOR UPDATE OF {of}" if _pg() else ""


def _json_param() -> str:
    return "%s::jsonb" if _pg() else "%s"


def when(value) -> dt.datetime | None:
    """A datetime as the database returned it (aware on PostgreSQL, text on SQLite)."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def db_time(value: dt.datetime | None):
    """A datetime as a statement parameter (psycopg takes aware datetimes as they are)."""
    if value is None or _pg():
        return value
    return connection.ops.adapt_datetimefield_value(value)


def loads(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclass
class BucketRow:
    id: int
    unit: str
    source: str
    amount: int
    used: int
    reserved: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    rating_groups: list
    window_start: object
    window_end: object
    payer_kind: str
    payer_id: str

    def engine(self) -> EngineBucket:
        window = None
        if self.window_start is not None and self.window_end is not None:
            start, end = self.window_start, self.window_end
            window = TimeWindow(
                start=parse_time(start) if isinstance(start, str) else start,
                end=parse_time(end) if isinstance(end, str) else end,
            )
        return EngineBucket(
            id=self.id,
            unit=Unit(self.unit),
            source=Source(self.source),
            available=self.amount - self.used - self.reserved,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            rating_groups=frozenset(int(g) for g in self.rating_groups),
            window=window,
            payer_kind=PayerKind(self.payer_kind),
            payer_id=self.payer_id or None,
        )


# ---------------------------------------------------------------- reads under the lock


@dataclass
class LineState:
    line_id: int
    plan_code: str
    status: str
    msisdn: str
    reserved_fen: int
    carry: Decimal
    wallet_account_id: int
    wallet_balance_fen: int  # customer money (positive)


_LINE = """
SELECT a.line_id, l.plan_code, l.status, l.msisdn, a.reserved_fen, a.carry,
       a.wallet_account_id
FROM charging_chargingaccount a
JOIN lines_line l ON l.id = a.line_id
WHERE a.line_id = %s"""


def lock_line(line_id: int) -> LineState | None:
    """Take the line's charging lock and read what a rating needs of it. The wallet balance
    is read by a second statement, after the lock is ours: a row joined to a locked one keeps
    the snapshot from before the wait, and would miss what the previous holder spent."""
    with connection.cursor() as cur:
        cur.execute(_LINE + _for_update("a"), [line_id])
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute("SELECT balance_fen FROM core_ledgeraccount WHERE id = %s", [row[6]])
        balance = cur.fetchone()[0]
    return LineState(*row[:5], Decimal(str(row[5])), row[6], -balance)


def line_for_subscriber(*, msisdn: str | None, imsi: str | None) -> int | None:
    column, value = ("msisdn", msisdn) if msisdn else ("imsi", imsi)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id FROM lines_line WHERE {column} = %s "
            "AND status NOT IN ('CLOSED', 'PORTED_OUT') LIMIT 1",
            [value],
        )
        row = cur.fetchone()
    return row[0] if row else None


_BUCKETS = """
SELECT id, unit, source, amount, used, reserved, valid_from, valid_to, rating_groups,
       window_start, window_end, payer_kind, payer_id
FROM charging_bucket
WHERE line_id = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"""


def buckets_between(
    line_id: int, *, since: dt.datetime, until: dt.datetime
) -> dict[int, BucketRow]:
    """The line's buckets valid at some time in ``[since, until]``."""
    return _bucket_rows(_BUCKETS, [line_id, db_time(until), db_time(since)])


def buckets_by_id(ids) -> dict[int, BucketRow]:
    """Buckets by id (those a reservation holds, valid now or not)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return {}
    head = _BUCKETS.split("WHERE")[0]
    marks = ", ".join(["%s"] * len(wanted))
    return _bucket_rows(f"{head} WHERE id IN ({marks})", wanted)


def _bucket_rows(sql: str, params: list) -> dict[int, BucketRow]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return {
        r[0]: BucketRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            when(r[6]),
            when(r[7]),
            loads(r[8]),
            r[9],
            r[10],
            r[11],
            r[12],
        )
        for r in rows
    }


# ---------------------------------------------------------------- sessions


@dataclass
class SessionRow:
    id: int
    ref: str
    line_id: int
    caller_token_id: int
    state: str
    last_sequence: int


_SESSION = (
    "SELECT id, ref, line_id, caller_token_id, state, last_sequence "
    "FROM charging_chargingsession WHERE "
)


def _one_session(where: str, value: str) -> SessionRow | None:
    with connection.cursor() as cur:
        cur.execute(_SESSION + where, [value])
        row = cur.fetchone()
    return SessionRow(*row) if row else None


def session(ref: str) -> SessionRow | None:
    return _one_session("ref = %s", ref)


def session_by_key(create_key: str) -> SessionRow | None:
    return _one_session("create_key = %s", create_key)


def insert_session(*, ref, line_id, token_id, create_key, sequence, expires_at, now) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO charging_chargingsession (ref, line_id, caller_token_id, create_key, "
            "state, last_sequence, expires_at, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, 'OPEN', %s, %s, %s, %s) RETURNING id",
            [ref, line_id, token_id, create_key, sequence, db_time(expires_at), db_time(now),
             db_time(now)],
        )  # fmt: skip
        return cur.fetchone()[0]


def touch_session(*, session_id: int, sequence: int, state: str, expires_at, now) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE charging_chargingsession SET last_sequence = %s, state = %s, "
            "expires_at = %s, updated_at = %s WHERE id = %s",
            [sequence, state, db_time(expires_at), db_time(now), session_id],
        )


def stored_answer(session_id: int, sequence: int) -> tuple[int, dict] | None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT status, response FROM charging_exchange "
            "WHERE session_id = %s AND sequence = %s",
            [session_id, sequence],
        )
        row = cur.fetchone()
    return (row[0], loads(row[1])) if row else None


def store_answer(*, session_id, sequence, operation, status, response, now) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO charging_exchange (session_id, sequence, operation, status, response, "
            f"created_at) VALUES (%s, %s, %s, %s, {_json_param()}, %s)",
            [session_id, sequence, operation, status, json.dumps(response), db_time(now)],
        )


# ---------------------------------------------------------------- grants


def grants(session_id: int) -> dict[int, tuple[str, int, dict]]:
    """rating group -> (unit, reserved fen, the reservation's rating)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT rating_group, unit, reserved_fen, rating FROM charging_grant "
            "WHERE session_id = %s",
            [session_id],
        )
        return {r[0]: (r[1], r[2], loads(r[3])) for r in cur.fetchall()}


def put_grant(*, session_id, rating_group, unit, granted, reserved_fen, rating, now) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO charging_grant (session_id, rating_group, unit, granted, reserved_fen, "
            f"rating, created_at) VALUES (%s, %s, %s, %s, %s, {_json_param()}, %s) "
            "ON CONFLICT (session_id, rating_group) DO UPDATE SET unit = EXCLUDED.unit, "
            "granted = EXCLUDED.granted, reserved_fen = EXCLUDED.reserved_fen, "
            "rating = EXCLUDED.rating, created_at = EXCLUDED.created_at",
            [session_id, rating_group, unit, granted, reserved_fen, json.dumps(rating),
             db_time(now)],
        )  # fmt: skip


def drop_grants(session_id: int, rating_groups) -> None:
    groups = [int(g) for g in rating_groups]
    if not groups:
        return
    marks = ", ".join(["%s"] * len(groups))
    with connection.cursor() as cur:
        cur.execute(
            f"DELETE FROM charging_grant WHERE session_id = %s AND rating_group IN ({marks})",
            [session_id, *groups],
        )


# ---------------------------------------------------------------- writes after rating

COPY_FROM = 50  # rows
USAGE_COLUMNS = (
    "record_id, line_id, source, unit, rating_group, raw_amount, rated_amount, from_buckets, "
    "free_amount, wallet_amount, unpaid_amount, wallet_fen, daily_fee_fen, draws, started_at, "
    "beijing_date, rated_at"
)


def add_to_buckets(changes: dict[int, list[int]]) -> None:
    """Apply [used delta, reserved delta] per bucket (increments: pool and sponsor buckets may
    be drawn by other lines; the CHECK keeps remaining >= 0)."""
    with connection.cursor() as cur:
        for pk, (used, reserved) in changes.items():
            if used or reserved:
                cur.execute(
                    "UPDATE charging_bucket SET used = used + %s, reserved = reserved + %s "
                    "WHERE id = %s",
                    [used, reserved, pk],
                )


def save_account(*, line_id: int, reserved_fen: int, carry: Decimal, now) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE charging_chargingaccount SET reserved_fen = %s, carry = %s, updated_at = %s "
            "WHERE line_id = %s",
            [reserved_fen, str(carry), db_time(now), line_id],
        )


def insert_usage(rows: list[tuple]) -> None:
    """Usage records, each a tuple in the column order of :data:`USAGE_COLUMNS` (without
    ``version``). Many rows on PostgreSQL go by COPY; otherwise one multi-row INSERT (a COPY
    costs an extra round trip, more than it saves for the one record of an online request)."""
    if not rows:
        return
    if _pg() and len(rows) >= COPY_FROM:
        with connection.cursor() as cur:
            copy_sql = f"COPY charging_usagerecord ({USAGE_COLUMNS}, version) FROM STDIN"
            with cur.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row((*row, 1))
        return
    one = f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {_json_param()}, %s, %s, %s, 1)"
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO charging_usagerecord ({USAGE_COLUMNS}, version) VALUES "
            + ", ".join([one] * len(rows)),
            [value for row in rows for value in row],
        )


def known_record_ids(ids: list[str]) -> set[str]:
    """The ids among ``ids`` already rated."""
    if not ids:
        return set()
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cur:
        cur.execute(f"SELECT record_id FROM charging_usagerecord WHERE record_id IN ({marks})", ids)
        return {row[0] for row in cur.fetchall()}


def expired_sessions(*, now: dt.datetime, limit: int) -> list[tuple[str, int]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ref, line_id FROM charging_chargingsession WHERE state = 'OPEN' "
            "AND expires_at <= %s ORDER BY expires_at, id LIMIT %s",
            [db_time(now), limit],
        )
        return list(cur.fetchall())
