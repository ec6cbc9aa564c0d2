"""The family pool on the charging hot path (家庭共享): a member's session draws the main
line's plan data after its own buckets, up to its monthly cap.

How a member draws (``online._rate``, for BYTES, only when the line's charging account says
it is a member: a line in no family reads nothing more): the rating is made as usual; when
the member's own buckets leave some of it unpaid (what a 日租 purchase or the wallet would
pay), :func:`with_pool` moves that much (within the cap left this month and what the pool
has) out of the main line's plan buckets into the member's FAMILY bucket of the month
(``payer_kind=POOL``, ``origin="family:<group>:<line>:<month>"``, UNIQUE), then rates again:
the FAMILY bucket ranks after every bucket of the member's own (``domain._SOURCE_RANK``).
Reservation, settlement and release then work on the member's own bucket as on any other.

Locks. A member's request holds its own line's charging lock and takes each pool bucket's
row only for the conditional ``UPDATE ... SET amount = amount - n WHERE amount - used -
reserved >= n``: the row stays locked from that statement to the member's commit (one
pipelined write later), so members serialize on the pool only for that tail, never for
their whole request. The main line's own requests (and gifts, bank deposits) hold the main
line's lock and :func:`lock_pool` locks its plan rows right after it (``FOR UPDATE``, read
again), so the main line never rates on a pool a member shrank meanwhile; a movement of
several lines takes every line lock before any pool row (``dataflow.lock_lines``). Nobody
holding a bucket row waits for a line lock, so there is no cycle: the pool never goes below
zero (the conditional UPDATE; the CHECK ``amount >= used + reserved`` is the last guard)
and no member passes its cap (its FAMILY bucket's ``amount`` is what it took this month,
read under its own lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from django.db import connection

from haoka.charging import cycle
from haoka.charging import family_rules as rules
from haoka.charging import online_store as store
from haoka.charging.domain import PayerKind, Rating, Source, Unit
from haoka.charging.models import Bucket

if TYPE_CHECKING:
    from haoka.charging.linebook import Book

log = structlog.get_logger(__name__)

LABEL = "家庭共享流量"
#: The main line's general plan data valid in [since, until] (the pool).
_POOL = (
    "SELECT b.id, b.unit, b.source, b.amount, b.used, b.reserved, b.valid_from, b.valid_to, "
    "b.rating_groups, b.window_start, b.window_end, b.payer_kind, b.payer_id "
    "FROM charging_bucket b WHERE b.line_id = %s AND b.source = 'PLAN' "
    "AND b.unit = 'BYTES' AND b.payer_kind = 'LINE' AND b.window_start IS NULL "
    "AND b.valid_from <= %s AND (b.valid_to IS NULL OR b.valid_to > %s)"
)
_MAIN_ACTIVE = (
    " AND EXISTS (SELECT 1 FROM lines_line l WHERE l.id = b.line_id AND l.status = 'ACTIVE')"
)
_TAKE = (
    "UPDATE charging_bucket SET amount = amount - %s, moved_out = moved_out + %s "
    "WHERE id = %s AND amount - used - reserved >= %s"
)
_LEFT = "SELECT amount - used - reserved FROM charging_bucket WHERE id = %s"
#: Tries of one pool bucket when members race for its last bytes.
_TRIES = 3


def is_member(line: store.LineState) -> bool:
    """Whether the line (as its lock loaded it) draws a family pool: a member, not the main."""
    return line.family_main_line_id is not None and line.family_main_line_id != line.line_id


def origin(*, group_id: int, line_id: int, now: dt.datetime) -> str:
    """The origin of a member's FAMILY bucket of ``now``'s Beijing month (one per month)."""
    start, _ = cycle.beijing_month(now)
    return f"family:{group_id}:{line_id}:{start:%Y-%m}"


def is_pool(row: store.BucketRow) -> bool:
    """A general plan-data bucket of the line's own (what the pool is made of)."""
    return (
        row.source == Source.PLAN and row.unit == Unit.BYTES and row.payer_kind == PayerKind.LINE
        and not row.rating_groups and row.window_start is None
    )  # fmt: skip


def lock_pool(book: Book, *, since: dt.datetime, until: dt.datetime) -> None:
    """A main line's plan rows, locked and read again once its line lock is ours (members
    change them without that lock). On SQLite a writer holds the whole database: nothing."""
    if connection.vendor != "postgresql":
        return
    sql = _POOL + " ORDER BY b.id FOR UPDATE OF b"
    (rows,) = store.run_together([(sql, [book.line.line_id, store.db_time(until),
                                         store.db_time(since)])])  # fmt: skip
    book.buckets.update(store.to_bucket_rows(rows))


def with_pool(book: Book, rating: Rating, *, rerate: Callable[[], Rating], now: dt.datetime):
    """The rating again after moving what the member's own buckets leave unpaid out of the
    pool into its FAMILY bucket (within its cap left this month and what the pool has); the
    rating as it was when nothing moves."""
    line = book.line
    from_buckets = sum(d.amount for d in rating.draws if d.bucket_id is not None)
    want = rules.shortfall(
        amount=rating.amount, from_buckets=from_buckets, zero_rated=rating.zero_rated
    )
    if want == 0 or line.family_cap_bytes <= 0:
        return rating
    mine = _family_bucket(book, now=now)
    share = rules.pool_share(
        want=want, cap=line.family_cap_bytes, taken=mine.amount if mine else 0, pool=want
    )
    got = _take_from_pool(line.family_main_line_id, share, now=now) if share else 0
    if not got:
        return rating
    _grow(book, mine, got, now=now)
    log.info("family_pool_drawn", line_id=line.line_id, group_id=line.family_group_id, bytes=got)
    return rerate()


def _family_bucket(book: Book, *, now: dt.datetime) -> store.BucketRow | None:
    group = str(book.line.family_group_id)
    for b in book.buckets.values():
        if (
            b.source == Source.FAMILY
            and b.payer_id == group
            and b.valid_from <= now
            and (b.valid_to is None or now < b.valid_to)
        ):
            return b
    return None


def pool_rows(main_line_id: int, *, now: dt.datetime) -> list[store.BucketRow]:
    """The pool's buckets (soonest expiry first) while the main line is ACTIVE; none else."""
    sql = _POOL + _MAIN_ACTIVE
    (rows,) = store.run_together([(sql, [main_line_id, store.db_time(now), store.db_time(now)])])
    found = [r for r in store.to_bucket_rows(rows).values() if is_pool(r)]
    return sorted(found, key=lambda r: (r.valid_to is None, r.valid_to or now, r.id))


def _take_from_pool(main_line_id: int, amount: int, *, now: dt.datetime) -> int:
    """Move up to ``amount`` bytes out of the pool (conditional UPDATEs); how many moved."""
    rows = pool_rows(main_line_id, now=now)
    takes = rules.split_take(
        amount=amount, available=[(r.id, r.amount - r.used - r.reserved) for r in rows]
    )
    got = 0
    for t in takes:
        got += _take_one(t.bucket_id, t.amount)
    if got < amount:  # a bucket gave less than it showed: what the later ones have
        for r in rows:
            if got >= amount:
                break
            if r.id not in {t.bucket_id for t in takes}:
                got += _take_one(r.id, amount - got)
    return got


def _take_one(bucket_id: int, want: int) -> int:
    """Up to ``want`` bytes out of one pool bucket, never below what it has left."""
    n = want
    with connection.cursor() as cur:
        for _ in range(_TRIES):
            if n <= 0:
                return 0
            cur.execute(_TAKE, [n, n, bucket_id, n])
            if cur.rowcount == 1:
                return n
            cur.execute(_LEFT, [bucket_id])  # a member or the main line took some meanwhile
            row = cur.fetchone()
            n = min(want, row[0] if row else 0)
    return 0


def _grow(book: Book, mine: store.BucketRow | None, n: int, *, now: dt.datetime) -> None:
    """Add ``n`` bytes to the member's FAMILY bucket of the month (made, or opened again for
    a line that left and came back, when the book has none)."""
    line = book.line
    if mine is None:
        key = origin(group_id=line.family_group_id, line_id=line.line_id, now=now)
        start, end = cycle.beijing_month(now)
        bucket, made = Bucket.objects.get_or_create(
            origin=key,
            defaults={
                "line_id": line.line_id, "unit": Unit.BYTES, "source": Source.FAMILY,
                "payer_kind": PayerKind.POOL, "payer_id": str(line.family_group_id),
                "label": LABEL, "amount": 0, "valid_from": start, "valid_to": end,
                "created_at": now,
            },
        )  # fmt: skip
        if not made:  # it ended when the line left: valid again to the month's end
            Bucket.objects.filter(pk=bucket.pk).update(valid_to=end)
        mine = store.to_bucket_rows([(
            bucket.pk, Unit.BYTES, Source.FAMILY, bucket.amount, bucket.used, bucket.reserved,
            start, end, [], None, None, PayerKind.POOL, str(line.family_group_id),
        )])[bucket.pk]  # fmt: skip
        book.buckets[mine.id] = mine
    with connection.cursor() as cur:
        cur.execute("UPDATE charging_bucket SET amount = amount + %s WHERE id = %s", [n, mine.id])
    mine.amount += n
