"""The state of one line's charging while its lock is held, kept in memory and written once at
the end (raw statements from ``online_store``): used by online sessions and offline records.

Every rating of a line goes: :func:`open_book` (takes the lock), rate against ``book``, then
:func:`write` inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from haoka.charging import alerts, domain, family_pool, tariffs
from haoka.charging import online_store as store
from haoka.charging.cycle import beijing_date
from haoka.charging.domain import Draw, Rating, Source, Unit
from haoka.charging.models import Bucket
from haoka.core import accounts_chart as chart
from haoka.core import ledger

USAGE_REVENUE = chart.USAGE_REVENUE


class NotProvisioned(tariffs.UnknownSubscriber):
    """The line has no charging account (never provisioned): to the network, an unknown user."""


@dataclass
class Book:
    """A line's charging state for one request, changed in memory and written at the end."""

    line: store.LineState
    buckets: dict[int, store.BucketRow]
    carry: Decimal
    reserved_fen: int
    debited_fen: int = 0
    pending: dict[int, list[int]] = field(default_factory=dict)
    usage: list[tuple] = field(default_factory=list)
    #: Statements of the request's own (its session, grants, answer), sent by :func:`write`
    #: in the same round trip as the book's.
    writes: list[store.Statement] = field(default_factory=list)
    #: The budget shard this request took a sponsor slice from, by campaign id: the shard's
    #: row stays locked until the request commits, so later slices of the request come
    #: from that shard only (two shards locked in any order by two requests deadlock).
    sponsor_shards: dict[str, int] = field(default_factory=dict)
    #: The engine's view of each bucket, rebuilt only when the bucket moved (a batch of
    #: records draws one bucket at a time while the others stay as they are).
    _engine: dict[int, tuple[int, domain.Bucket]] = field(default_factory=dict)

    def wallet(self) -> domain.Wallet:
        available = self.line.wallet_balance_fen - self.debited_fen - self.reserved_fen
        return domain.Wallet(available_fen=available, carry=self.carry)

    def engine_buckets(self, unit: Unit, at: dt.datetime) -> list[domain.Bucket]:
        out = []
        for b in self.buckets.values():
            if b.unit != unit or b.valid_from > at or (b.valid_to is not None and at >= b.valid_to):
                continue
            left = b.amount - b.used - b.reserved
            cached = self._engine.get(b.id)
            if cached is None or cached[0] != left:
                cached = self._engine[b.id] = (left, b.engine())
            out.append(cached[1])
        return out

    def move(self, bucket_id: int, *, used: int = 0, reserved: int = 0) -> None:
        bucket = self.buckets[bucket_id]
        bucket.used += used
        bucket.reserved += reserved
        delta = self.pending.setdefault(bucket_id, [0, 0])
        delta[0] += used
        delta[1] += reserved


def open_book(
    line_id: int, *, since: dt.datetime, until: dt.datetime | None = None, pool: bool = True
) -> Book:
    """Lock the line and load the buckets valid at some time in ``[since, until]`` (and, for
    a family's main line, lock its pool rows: with ``pool=False`` the caller does it once it
    holds every line lock it needs, see ``dataflow.lock_lines``). Raises UnknownSubscriber
    (a line with no charging account)."""
    return open_book_with(line_id, since=since, until=until, pool=pool)[0]


def open_book_with(
    line_id: int,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    also: list[store.Statement] = (),
    pool: bool = True,
) -> tuple[Book, list]:
    """:func:`open_book`, and the rows of the reads ``also``, made in the same round trip
    once the lock is ours. Raises UnknownSubscriber (a line with no charging account)."""
    line, rows, extra = store.lock_and_load(line_id, since=since, until=until or since, also=also)
    if line is None:
        raise NotProvisioned(line_id=line_id)
    book = Book(line=line, buckets=rows, carry=line.carry, reserved_fen=line.reserved_fen)
    if pool:
        lock_pool(book, since=since, until=until or since)
    return book, extra


def lock_pool(book: Book, *, since: dt.datetime, until: dt.datetime) -> None:
    """A family's main line: its pool rows locked and read again (members change them
    without its line lock); any other line: nothing."""
    if book.line.family_main_line_id == book.line.line_id:
        family_pool.lock_pool(book, since=since, until=until)


def load_held(book: Book, ids) -> None:
    """Make sure the buckets a reservation holds are in the book (one may have expired)."""
    missing = set(ids) - book.buckets.keys()
    if missing:
        book.buckets.update(store.buckets_by_id(missing))


def buy_daily(book: Book, rating: Rating, *, now: dt.datetime) -> Rating:
    """Create the 日租 bucket a rating bought (its fee is debited) and put its id in the draws."""
    purchase = rating.daily_purchase
    if purchase is None:
        return rating
    bucket = Bucket.objects.create(
        line_id=book.line.line_id, unit=Unit.BYTES, source=Source.DAILY, label="日租流量",
        amount=purchase.amount, valid_from=purchase.valid_from, valid_to=purchase.valid_to,
        origin=f"daily:{book.line.line_id}:{beijing_date(purchase.valid_from).isoformat()}",
        created_at=now,
    )  # fmt: skip
    book.buckets[bucket.pk] = store.BucketRow(
        bucket.pk, Unit.BYTES, Source.DAILY, purchase.amount, 0, 0, purchase.valid_from,
        purchase.valid_to, [], None, None, "LINE", "",
    )  # fmt: skip
    book.debited_fen += purchase.fee_fen
    draws = tuple(
        Draw(bucket.pk, d.source, d.amount) if d.bucket_id is None else d for d in rating.draws
    )
    return replace(rating, draws=draws, daily_purchase=None)


def write(book: Book, *, key: str, now: dt.datetime, memo: str = "在线计费") -> None:
    """Everything the request changed: its own statements (``book.writes``), buckets, usage
    records, the account (in one round trip where the database allows), then the wallet."""
    statements = [*book.writes, *store.add_to_buckets(book.pending)]
    statements += store.insert_usage(book.usage)  # many rows are copied at once, apart
    if book.reserved_fen != book.line.reserved_fen or book.carry != book.line.carry:
        statements.append(
            store.save_account(
                line_id=book.line.line_id, reserved_fen=book.reserved_fen, carry=book.carry,
                now=now,
            )
        )  # fmt: skip
    book.writes = []
    store.run_together(statements)
    if book.debited_fen:
        _post_usage(book, key=key, memo=memo)
    alerts.after_book(book, now=now)  # usage thresholds crossed, low balance, auto top-up


def _post_usage(book: Book, *, key: str, memo: str) -> None:
    """Wallet -> usage revenue (a system account: the migrations open it)."""
    wallet = book.line.wallet_code or ledger.code_of(account_id=book.line.wallet_account_id)
    legs = [ledger.Leg(wallet, book.debited_fen), ledger.Leg(USAGE_REVENUE, -book.debited_fen)]
    ledger.post(legs=legs, kind="charging.usage", memo=memo, key=key)
