"""A line's charging state while its row is locked: the buckets and the wallet as the engine
sees them, and the writes that follow a rating (bucket draws and holds, a 日租 bucket bought,
usage records, the wallet's ledger posting). Used by offline records and online sessions.

Everything here runs inside the caller's transaction, after :func:`lock`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F

from haoka.charging import alerts, domain
from haoka.charging.cycle import beijing_date
from haoka.charging.domain import Bucket as EngineBucket
from haoka.charging.domain import Rating, Source, Tariff, TimeWindow, Unit, Wallet
from haoka.charging.models import Bucket, ChargingAccount, RecordSource, UsageRecord
from haoka.core import ledger
from haoka.core.models import AccountKind, LedgerAccount

#: Where pay-as-you-go usage and 日租 fees go (many lines post here: a busy account).
USAGE_REVENUE = "revenue:usage"


class NotProvisioned(LookupError):
    """The line has no charging account (it was never provisioned)."""


@dataclass
class LineBook:
    """The locked state of one line's charging, kept current as ratings are applied."""

    account: ChargingAccount
    wallet_balance_fen: int  # customer money (positive), before this book's debits
    buckets: dict[int, Bucket]
    carry: Decimal
    debited_fen: int = 0  # debits applied here, posted to the ledger by :func:`post`
    memo: str = ""
    records: list[UsageRecord] = field(default_factory=list)
    #: Bucket changes not yet written: id -> [used delta, reserved delta] (see :func:`post`).
    pending: dict[int, list[int]] = field(default_factory=dict)

    @property
    def line_id(self) -> int:
        return self.account.line_id

    def wallet(self) -> Wallet:
        available = self.wallet_balance_fen - self.debited_fen - self.account.reserved_fen
        return Wallet(available_fen=available, carry=self.carry)

    def engine_buckets(self, *, unit: Unit, at: dt.datetime) -> list[EngineBucket]:
        return [_engine(b) for b in self.buckets.values() if b.unit == unit and _valid(b, at=at)]


def _valid(bucket: Bucket, *, at: dt.datetime) -> bool:
    return bucket.valid_from <= at and (bucket.valid_to is None or at < bucket.valid_to)


def _engine(b: Bucket) -> EngineBucket:
    window = None
    if b.window_start is not None and b.window_end is not None:
        window = TimeWindow(start=b.window_start, end=b.window_end)
    return EngineBucket(
        id=b.pk,
        unit=Unit(b.unit),
        source=Source(b.source),
        available=b.amount - b.used - b.reserved,
        valid_from=b.valid_from,
        valid_to=b.valid_to,
        rating_groups=frozenset(int(g) for g in b.rating_groups),
        window=window,
        payer_kind=domain.PayerKind(b.payer_kind),
        payer_id=b.payer_id or None,
    )


def lock(*, line_id: int, since: dt.datetime, until: dt.datetime) -> LineBook:
    """Lock the line's charging row and load what ratings between ``since`` and ``until`` may
    draw. Raises NotProvisioned."""
    account = ChargingAccount.objects.select_for_update().filter(line_id=line_id).first()
    if account is None:
        raise NotProvisioned(line_id)
    balance = LedgerAccount.objects.filter(pk=account.wallet_account_id).values_list(
        "balance_fen", flat=True
    )[0]
    rows = Bucket.objects.filter(line_id=line_id, valid_from__lte=until).exclude(
        valid_to__lte=since
    )
    return LineBook(
        account=account,
        wallet_balance_fen=-balance,
        buckets={b.pk: b for b in rows},
        carry=Decimal(account.carry),
    )


# ---------------------------------------------------------------- applying ratings


def buy_daily(book: LineBook, rating: Rating, *, now: dt.datetime) -> Rating:
    """Create the 日租 bucket a rating bought (debiting its fee) and return the rating with
    the new bucket's id in place of ``None``."""
    purchase = rating.daily_purchase
    if purchase is None:
        return rating
    day = beijing_date(purchase.valid_from)
    bucket = Bucket.objects.create(
        line_id=book.line_id,
        unit=Unit.BYTES,
        source=Source.DAILY,
        label="日租流量",
        amount=purchase.amount,
        valid_from=purchase.valid_from,
        valid_to=purchase.valid_to,
        origin=f"daily:{book.line_id}:{day.isoformat()}",
        created_at=now,
    )
    book.buckets[bucket.pk] = bucket
    book.debited_fen += purchase.fee_fen
    draws = tuple(
        domain.Draw(bucket.pk, d.source, d.amount) if d.bucket_id is None else d
        for d in rating.draws
    )
    return _replace(rating, draws=draws, daily_purchase=None)


def _replace(rating: Rating, **changes) -> Rating:
    from dataclasses import replace

    return replace(rating, **changes)


def draw(book: LineBook, draws, *, field_name: str, sign: int = 1) -> None:
    """Move ``draws`` into a bucket column (``used`` or ``reserved``). Applied in memory at
    once and written by :func:`post` (one UPDATE per bucket, however many records drew it)."""
    column = 0 if field_name == "used" else 1
    for d in draws:
        if not d.amount:
            continue
        bucket = book.buckets[d.bucket_id]
        setattr(bucket, field_name, getattr(bucket, field_name) + sign * d.amount)
        book.pending.setdefault(bucket.pk, [0, 0])[column] += sign * d.amount


def commit_reserved(book: LineBook, settled) -> None:
    """Settle reserved draws: the committed part becomes used, the whole hold goes away."""
    for d in settled:
        if not d.reserved:
            continue
        bucket = book.buckets[d.bucket_id]
        bucket.reserved -= d.reserved
        bucket.used += d.committed
        delta = book.pending.setdefault(bucket.pk, [0, 0])
        delta[0] += d.committed
        delta[1] -= d.reserved


def _flush_buckets(book: LineBook) -> None:
    # Increments, not absolute values: a pool or sponsor bucket may be drawn by other lines.
    for pk, (used, reserved) in book.pending.items():
        if used or reserved:
            Bucket.objects.filter(pk=pk).update(
                used=F("used") + used, reserved=F("reserved") + reserved
            )
    book.pending = {}


def ensure_buckets(book: LineBook, *, ids) -> None:
    """Load buckets a reservation holds that the book does not have yet (e.g. expired since)."""
    missing = [i for i in ids if i not in book.buckets]
    if missing:
        book.buckets.update({b.pk: b for b in Bucket.objects.filter(pk__in=missing)})


def record(
    book: LineBook,
    *,
    record_id: str,
    source: RecordSource,
    unit: Unit,
    rating_group: int | None,
    raw: int,
    rated: int,
    started_at: dt.datetime,
    draws,
    free: int,
    wallet_units: int,
    wallet_fen: int,
    unpaid: int,
    daily_fee_fen: int,
    now: dt.datetime,
) -> UsageRecord:
    """A rated usage record, kept on the book and written by :func:`post`."""
    row = UsageRecord(
        record_id=record_id,
        line_id=book.line_id,
        source=source,
        unit=unit,
        rating_group=rating_group,
        raw_amount=raw,
        rated_amount=rated,
        from_buckets=sum(d.amount for d in draws),
        free_amount=free,
        wallet_amount=wallet_units,
        unpaid_amount=unpaid,
        wallet_fen=wallet_fen,
        daily_fee_fen=daily_fee_fen,
        draws=[[d.bucket_id, str(d.source), d.amount] for d in draws if d.amount],
        started_at=started_at,
        beijing_date=beijing_date(started_at),
        rated_at=now,
    )
    book.records.append(row)
    return row


def post(book: LineBook, *, tariff: Tariff | None = None, key: str, now: dt.datetime) -> None:
    """Write what the book gathered: bucket changes, usage records, the carry and held money,
    and one ledger posting for the wallet's debits (usage and 日租 fees -> usage revenue).
    Every path that rates must end with this, inside the transaction that holds the lock.
    Then the alerts this usage raised (``charging.alerts``: thresholds the buckets drawn
    crossed, a low balance, auto top-up), from what the book holds in memory."""
    drawn: dict[int, int] = {}
    for r in book.records:
        for bucket_id, _source, amount in r.draws:
            drawn[bucket_id] = drawn.get(bucket_id, 0) + amount
    debited_fen = book.debited_fen
    _flush_buckets(book)
    if book.records:
        UsageRecord.objects.bulk_create(book.records)
        book.records = []
    ChargingAccount.objects.filter(pk=book.line_id).update(
        carry=book.carry, reserved_fen=book.account.reserved_fen, updated_at=now
    )
    if book.debited_fen:
        ledger.open_account(
            code=USAGE_REVENUE, name="通信服务收入", kind=AccountKind.REVENUE, busy=True
        )
        wallet_code = LedgerAccount.objects.get(pk=book.account.wallet_account_id).code
        ledger.post(
            legs=[
                ledger.Leg(wallet_code, book.debited_fen),
                ledger.Leg(USAGE_REVENUE, -book.debited_fen),
            ],
            kind="charging.usage",
            memo=book.memo or "通信费",
            key=key,
        )
        book.wallet_balance_fen -= book.debited_fen
        book.debited_fen = 0
    after_fen = book.wallet().available_fen
    uses = [
        alerts.Use(b.pk, b.unit, b.source, b.payer_kind, b.amount, b.used - n, b.used)
        for b, n in ((book.buckets.get(i), n) for i, n in sorted(drawn.items()))
        if b is not None and n > 0
    ]
    alerts.after_charging(
        line_id=book.line_id,
        uses=uses,
        before_fen=after_fen + debited_fen,
        after_fen=after_fen,
        now=now,
    )
