"""The statements of online charging, written out (the hot path of the platform: a request is
a handful of statements, not an ORM query per object). Portable between PostgreSQL and SQLite;
``FOR UPDATE`` where the database has it (SQLite serializes writers anyway).

Row shapes are plain tuples/dataclasses; ``charging.online`` holds the rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime, parse_time
from psycopg import pq

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


#: A statement and its parameters, to run with others (:func:`run_together`).
Statement = tuple[str, list]
#: Runs of a statement on a connection before it is prepared.
PREPARE_AFTER = 1


def run_together(statements: list[Statement]) -> list[list[tuple] | None]:
    """Run ``statements`` in order and return the rows of each (None for one returning no
    rows). On PostgreSQL they go in one round trip (pipeline mode): each still runs on its
    own, in order, with its own snapshot, so a read after a ``FOR UPDATE`` sees what the
    previous holder of the lock committed. An error aborts the rest (and the transaction).
    """
    if not statements:
        return []
    if not _pg():
        out = []
        with connection.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                out.append(cur.fetchall() if cur.description else None)
        return out
    connection.ensure_connection()
    raw = connection.connection
    cursors = []
    with connection.wrap_database_errors, _prepared(raw), raw.pipeline():
        for sql, params in statements:
            cur = raw.cursor()
            cur.execute(sql, params)
            cursors.append(cur)
    return [cur.fetchall() if _has_rows(cur) else None for cur in cursors]


def _has_rows(cur) -> bool:
    result = cur.pgresult
    return result is not None and result.status == pq.ExecStatus.TUPLES_OK


@contextlib.contextmanager
def _prepared(raw):
    """Statements prepared on the server from their second run on this connection (parsed
    and planned once, not per request). Django turns psycopg's prepared statements off for
    every query (for connection poolers); these few are turned on here, and only these."""
    before = raw.prepare_threshold
    raw.prepare_threshold = PREPARE_AFTER
    try:
        yield
    finally:
        raw.prepare_threshold = before


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
    wallet_code: str = ""  # the wallet's ledger account code
    #: 家庭共享 (``charging.family_pool``): the group, its main line, a member's monthly cap.
    family_group_id: int | None = None
    family_main_line_id: int | None = None
    family_cap_bytes: int = 0


_LINE = """
SELECT a.line_id, l.plan_code, l.status, l.msisdn, a.reserved_fen, a.carry,
       a.wallet_account_id, a.family_group_id, a.family_main_line_id, a.family_cap_bytes
FROM charging_chargingaccount a
JOIN lines_line l ON l.id = a.line_id
WHERE a.line_id = %s"""
#: After the lock is ours (a statement of its own): a row joined to a locked one keeps the
#: snapshot from before the wait, and would miss what the previous holder spent.
_BALANCE = """
SELECT balance_fen, code FROM core_ledgeraccount
WHERE id = (SELECT wallet_account_id FROM charging_chargingaccount WHERE line_id = %s)"""


def lock_and_load(
    line_id: int, *, since: dt.datetime, until: dt.datetime, also: list[Statement] = ()
) -> tuple[LineState | None, dict[int, BucketRow], list]:
    """Take the line's charging lock and read, in the same round trip, its wallet balance,
    its buckets valid at some time in ``[since, until]`` and the rows of ``also`` (reads
    of the request's own, e.g. its session). (None, {}, []) when the line has no account."""
    results = run_together(
        [
            (_LINE + _for_update("a"), [line_id]),
            (_BALANCE, [line_id]),
            (_BUCKETS, [line_id, db_time(until), db_time(since)]),
            *also,
        ]
    )
    if not results[0]:
        return None, {}, []
    row = results[0][0]
    balance, code = results[1][0]
    line = LineState(*row[:5], Decimal(str(row[5])), row[6], -balance, code, *row[7:10])
    return line, _to_bucket_rows(results[2]), results[3:]


def line_for_subscriber(*, msisdn: str | None, imsi: str | None) -> int | None:
    column, value = ("msisdn", msisdn) if msisdn else ("imsi", imsi)
    (rows,) = run_together(
        [
            (
                f"SELECT id FROM lines_line WHERE {column} = %s "
                "AND status NOT IN ('CLOSED', 'PORTED_OUT') LIMIT 1",
                [value],
            )
        ]
    )
    return rows[0][0] if rows else None


def lines_opened_at(line_ids) -> dict[int, dt.datetime]:
    """When each line opened: activated, or created when it never was."""
    ids = [int(i) for i in line_ids]
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    sql = f"SELECT id, COALESCE(activated_at, created_at) FROM lines_line WHERE id IN ({marks})"
    (rows,) = run_together([(sql, ids)])
    return {r[0]: when(r[1]) for r in rows}


_BUCKETS = """
SELECT id, unit, source, amount, used, reserved, valid_from, valid_to, rating_groups,
       window_start, window_end, payer_kind, payer_id
FROM charging_bucket
WHERE line_id = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"""


def buckets_by_id(ids) -> dict[int, BucketRow]:
    """Buckets by id (those a reservation holds, valid now or not)."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return {}
    head = _BUCKETS.split("WHERE")[0]
    marks = ", ".join(["%s"] * len(wanted))
    return _bucket_rows(f"{head} WHERE id IN ({marks})", wanted)


def buckets_valid_at(line_id: int, *, at: dt.datetime) -> dict[int, BucketRow]:
    """The line's buckets valid at ``at``, read without its lock (what a page shows)."""
    return _bucket_rows(_BUCKETS, [line_id, db_time(at), db_time(at)])


def _bucket_rows(sql: str, params: list) -> dict[int, BucketRow]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return _to_bucket_rows(cur.fetchall())


def to_bucket_rows(rows: list[tuple]) -> dict[int, BucketRow]:
    """Rows in the column order of ``_BUCKETS`` as BucketRows by id."""
    return _to_bucket_rows(rows)


def _to_bucket_rows(rows: list[tuple]) -> dict[int, BucketRow]:
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
#: A session's id by its ref, inside a statement (a session inserted earlier in the same
#: round trip has no id the caller knows yet).
_SESSION_ID = "(SELECT id FROM charging_chargingsession WHERE ref = %s)"


def session_from(rows: list[tuple]) -> SessionRow | None:
    return SessionRow(*rows[0]) if rows else None


#: ref -> (line id, caller token id) of sessions seen: both are fixed for a session's life.
_owners: dict[str, tuple[int, int]] = {}
_OWNERS_MAX = 100_000


def session_owner(ref: str) -> tuple[int, int] | None:
    """(line id, caller token id) of a session (None for an unknown ref), from memory after
    the first look (a request's line must be known before its lock is taken)."""
    hit = _owners.get(ref)
    if hit is None:
        owner = "SELECT line_id, caller_token_id FROM charging_chargingsession WHERE ref = %s"
        (rows,) = run_together([(owner, [ref])])
        if not rows:
            return None
        hit = remember_owner(ref, line_id=rows[0][0], token_id=rows[0][1])
    return hit


def remember_owner(ref: str, *, line_id: int, token_id: int) -> tuple[int, int]:
    if len(_owners) >= _OWNERS_MAX:
        _owners.clear()
    hit = _owners[ref] = (line_id, token_id)
    return hit


def read_session_by_key(create_key: str) -> Statement:
    return _SESSION + "create_key = %s", [create_key]


def insert_session(
    *,
    ref,
    line_id,
    token_id,
    create_key,
    sequence,
    consumer,
    consumer_function,
    notify_uri,
    expires_at,
    now,
    state: str = "OPEN",
) -> Statement:
    return (
        "INSERT INTO charging_chargingsession (ref, line_id, caller_token_id, create_key, "
        "state, last_sequence, consumer, consumer_function, notify_uri, expires_at, created_at, "
        "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [ref, line_id, token_id, create_key, state, sequence, consumer, consumer_function,
         notify_uri, db_time(expires_at), db_time(now), db_time(now)],
    )  # fmt: skip


def touch_session(*, ref: str, sequence: int, state: str, expires_at, now) -> Statement:
    return (
        "UPDATE charging_chargingsession SET last_sequence = %s, state = %s, "
        "expires_at = %s, updated_at = %s WHERE ref = %s",
        [sequence, state, db_time(expires_at), db_time(now), ref],
    )


def stored_answer(session_id: int, *, digest: str) -> dict | None:
    """The answer given to the request of this content (``nchf.digest``), if any."""
    return _one_answer(
        "SELECT response FROM charging_exchange WHERE session_id = %s AND digest = %s",
        [session_id, digest],
    )


def answer_to_sequence(session_id: int, *, sequence: int, operation: str) -> dict | None:
    """The last answer given to a request of ``operation`` numbered ``sequence`` (what a
    request flagged as a retransmission gets, whatever content it carries)."""
    return _one_answer(
        "SELECT response FROM charging_exchange WHERE session_id = %s AND sequence = %s "
        "AND operation = %s ORDER BY id DESC LIMIT 1",
        [session_id, sequence, operation],
    )


def _one_answer(sql: str, params: list) -> dict | None:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return loads(row[0]) if row else None


def store_answer(*, ref, sequence, operation, digest, status, response, now) -> Statement:
    return (
        "INSERT INTO charging_exchange (session_id, sequence, operation, digest, status, "
        f"response, created_at) VALUES ({_SESSION_ID}, %s, %s, %s, %s, {_json_param()}, %s)",
        [ref, sequence, operation, digest, status, json.dumps(response), db_time(now)],
    )


# ---------------------------------------------------------------- grants


def read_session_and_grants(ref: str, *, digest: str = "") -> Statement:
    """The session, its grants (as one JSON array: one statement, not two) and the answer
    already given to a request of content ``digest`` (a retransmission's)."""
    if _pg():
        grants = (
            "SELECT json_agg(json_build_array(g.rating_group, g.unit, g.reserved_fen, g.rating))"
        )
    else:
        grants = (
            "SELECT json_group_array(json_array(g.rating_group, g.unit, g.reserved_fen, "
            "json(g.rating)))"
        )
    return (
        "SELECT s.id, s.ref, s.line_id, s.caller_token_id, s.state, s.last_sequence, "
        f"({grants} FROM charging_grant g WHERE g.session_id = s.id), "
        "(SELECT e.response FROM charging_exchange e WHERE e.session_id = s.id "
        "AND e.digest = %s) "
        "FROM charging_chargingsession s WHERE s.ref = %s",
        [digest, ref],
    )


def session_and_grants_from(
    rows: list[tuple],
) -> tuple[SessionRow | None, dict[int, tuple[str, int, dict]], dict | None]:
    """The session; its grants: rating group -> (unit, reserved fen, the reservation's
    rating); the answer stored for the request's content (None: a new request)."""
    if not rows:
        return None, {}, None
    held = loads(rows[0][6]) or []
    stored = loads(rows[0][7])
    return SessionRow(*rows[0][:6]), {g[0]: (g[1], g[2], loads(g[3])) for g in held}, stored


def put_grant(*, ref, rating_group, unit, granted, reserved_fen, rating, now) -> Statement:
    return (
        "INSERT INTO charging_grant (session_id, rating_group, unit, granted, reserved_fen, "
        f"rating, created_at) VALUES ({_SESSION_ID}, %s, %s, %s, %s, {_json_param()}, %s) "
        "ON CONFLICT (session_id, rating_group) DO UPDATE SET unit = EXCLUDED.unit, "
        "granted = EXCLUDED.granted, reserved_fen = EXCLUDED.reserved_fen, "
        "rating = EXCLUDED.rating, created_at = EXCLUDED.created_at",
        [ref, rating_group, unit, granted, reserved_fen, json.dumps(rating), db_time(now)],
    )


def drop_grants(ref: str, rating_groups) -> list[Statement]:
    groups = [int(g) for g in rating_groups]
    if not groups:
        return []
    marks = ", ".join(["%s"] * len(groups))
    return [
        (
            f"DELETE FROM charging_grant WHERE session_id = {_SESSION_ID} "
            f"AND rating_group IN ({marks})",
            [ref, *groups],
        )
    ]


# ---------------------------------------------------------------- writes after rating

COPY_FROM = 50  # rows
USAGE_COLUMNS = (
    "record_id, line_id, source, unit, rating_group, raw_amount, rated_amount, from_buckets, "
    "free_amount, wallet_amount, unpaid_amount, wallet_fen, daily_fee_fen, draws, started_at, "
    "beijing_date, rated_at"
)


def add_to_buckets(changes: dict[int, list[int]]) -> list[Statement]:
    """Apply [used delta, reserved delta] per bucket (increments: pool and sponsor buckets may
    be drawn by other lines; the CHECK keeps remaining >= 0)."""
    return [
        (
            "UPDATE charging_bucket SET used = used + %s, reserved = reserved + %s WHERE id = %s",
            [used, reserved, pk],
        )
        for pk, (used, reserved) in changes.items()
        if used or reserved
    ]


def save_account(*, line_id: int, reserved_fen: int, carry: Decimal, now) -> Statement:
    return (
        "UPDATE charging_chargingaccount SET reserved_fen = %s, carry = %s, updated_at = %s "
        "WHERE line_id = %s",
        [reserved_fen, str(carry), db_time(now), line_id],
    )


def insert_usage(rows: list[tuple]) -> list[Statement]:
    """Usage records, each a tuple in the column order of :data:`USAGE_COLUMNS` (without
    ``version``). Many rows on PostgreSQL go by COPY, at once; otherwise the statement of one
    multi-row INSERT is returned (a COPY costs an extra round trip, more than it saves for
    the one record of an online request)."""
    if not rows:
        return []
    if _pg() and len(rows) >= COPY_FROM:
        with connection.cursor() as cur:
            copy_sql = f"COPY charging_usagerecord ({USAGE_COLUMNS}, version) FROM STDIN"
            with cur.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row((*row, 1))
        return []
    one = f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {_json_param()}, %s, %s, %s, 1)"
    return [
        (
            f"INSERT INTO charging_usagerecord ({USAGE_COLUMNS}, version) VALUES "
            + ", ".join([one] * len(rows)),
            [value for row in rows for value in row],
        )
    ]


def known_record_ids(ids: list[str]) -> set[str]:
    """The ids among ``ids`` already rated."""
    if not ids:
        return set()
    if _pg():  # one array parameter: one short statement, prepared (not 1,000 markers)
        statement = "SELECT record_id FROM charging_usagerecord WHERE record_id = ANY(%s)", [ids]
    else:
        marks = ", ".join(["%s"] * len(ids))
        statement = f"SELECT record_id FROM charging_usagerecord WHERE record_id IN ({marks})", ids
    (rows,) = run_together([statement])
    return {row[0] for row in rows}


def expired_sessions(*, now: dt.datetime, limit: int) -> list[tuple[str, int]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ref, line_id FROM charging_chargingsession WHERE state = 'OPEN' "
            "AND expires_at <= %s ORDER BY expires_at, id LIMIT %s",
            [db_time(now), limit],
        )
        return list(cur.fetchall())
