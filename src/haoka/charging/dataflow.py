"""What gifts (``charging.gifts``) and the data bank (``charging.databank``) share: taking the
charging locks of the lines a movement touches, taking bytes from and giving them back to
buckets, recording the movement, and reading a line's movements.

Locks: a movement takes the charging lock of every line whose buckets it changes (the
ChargingAccount row, as every online-charging request of that line does first: see
``charging.linebook``), in line-id order, before it reads or changes a bucket. A session's
request of the giver therefore waits for the movement (or the movement for the request), and
what the movement takes is what no reservation holds once the lock is ours: a gift racing
the giver's sessions never lets both spend the same bytes. Two movements between the same two
lines take the locks in the same order and never deadlock; a session holds one lock only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db.models import BigIntegerField, F, Sum, Value

from haoka.charging import linebook, movements
from haoka.charging.domain import Source, Unit
from haoka.charging.models import Bucket, DataMovement
from haoka.charging.movements import MovementKind, Take
from haoka.core import pagination
from haoka.core.pii import mask_phone
from haoka.lines import queries as line_queries


def lock_lines(line_ids: Iterable[int], *, now: dt.datetime) -> dict[int, linebook.Book]:
    """Take the charging lock of each line, in id order, and load its buckets valid at
    ``now``; then (every line lock ours) a family main line's pool rows. Pool rows last: a
    member's session holds its line lock and waits for a pool row, so a movement holding
    pool rows while waiting for that member's lock would close a cycle. Call inside a
    transaction. Raises UnknownSubscriber (a line not provisioned)."""
    books = {
        line_id: linebook.open_book(line_id, since=now, pool=False)
        for line_id in sorted(set(line_ids))
    }
    for book in books.values():
        linebook.lock_pool(book, since=now, until=now)
    return books


def take_from(
    book: linebook.Book, *, sources: Sequence[Source], amount: int, now: dt.datetime
) -> list[Take]:
    """Take ``amount`` bytes from the locked line's movable buckets (``movements.take``):
    each bucket's ``amount`` shrinks and its ``moved_out`` grows by what it gave (the CHECK
    ``amount >= used + reserved`` is the last guard). Raises NotEnoughData."""
    takes = movements.take(
        buckets=book.engine_buckets(Unit.BYTES, now), sources=sources, amount=amount, at=now
    )
    for t in takes:
        _shift(t.bucket_id, -t.amount)
        book.buckets[t.bucket_id].amount -= t.amount
    return takes


def give_to(book: linebook.Book, restores: Iterable[Take]) -> None:
    """Put bytes back into buckets of the locked line that gave them (a reversal)."""
    for r in restores:
        _shift(r.bucket_id, r.amount)
        if r.bucket_id in book.buckets:
            book.buckets[r.bucket_id].amount += r.amount


def shrink(bucket_id: int, amount: int) -> None:
    """Take ``amount`` bytes out of one bucket (what a reversal takes back)."""
    _shift(bucket_id, -amount)


def big(n: int) -> Value:
    """``n`` as a bigint in an expression: a plain int in ``F(...) + n`` is bound as int4 on
    PostgreSQL (server-side binding) and a gift of more than 2 GB would wrap around."""
    return Value(n, output_field=BigIntegerField())


def _shift(bucket_id: int, delta: int) -> None:
    Bucket.objects.filter(pk=bucket_id).update(
        amount=F("amount") + big(delta), moved_out=F("moved_out") - big(delta)
    )


def new_bucket(
    *, line_id: int, source: Source, label: str, amount: int, origin: str, now: dt.datetime,
    valid_to: dt.datetime,
) -> Bucket:  # fmt: skip
    """A general-data bucket for the line, valid from ``now`` (a gift's, a withdrawal's)."""
    return Bucket.objects.create(
        line_id=line_id, unit=Unit.BYTES, source=source, label=label[:60], amount=amount,
        valid_from=now, valid_to=valid_to, origin=origin, created_at=now,
    )  # fmt: skip


def dump(takes: Iterable[Take]) -> list[list]:
    return [[t.bucket_id, str(t.source), t.amount] for t in takes]


def load(rows: Iterable[list]) -> list[Take]:
    return [Take(row[0], Source(row[1]), row[2]) for row in rows]


def record(
    *, line_id: int, kind: MovementKind, amount: int, key: str, now: dt.datetime, **more
) -> DataMovement:
    """The movement as the line's history shows it, once per ``key``."""
    movement, _ = DataMovement.objects.get_or_create(
        key=key,
        defaults={"line_id": line_id, "kind": kind, "amount": amount, "created_at": now, **more},
    )
    return movement


def moved_this_month(*, line_id: int, kinds: Sequence[MovementKind], month_start) -> int:
    """Bytes of the line's movements of ``kinds`` since ``month_start`` (the monthly limits)."""
    rows = DataMovement.objects.filter(line_id=line_id, kind__in=kinds, created_at__gte=month_start)
    return int(rows.aggregate(s=Sum("amount"))["s"] or 0)


# ---------------------------------------------------------------- reading a line's movements

#: How each kind reads in a history or on a bill: {counterpart} is the other number, masked.
TEXTS = {
    MovementKind.GIFT_OUT: "转赠给 {counterpart} {data}",
    MovementKind.GIFT_IN: "来自 {counterpart} 的转赠 {data}",
    MovementKind.GIFT_BACK: "转赠给 {counterpart} 的流量已撤回，退回 {data}",
    MovementKind.GIFT_TAKEN_BACK: "来自 {counterpart} 的转赠已撤回，收回 {data}",
    MovementKind.DEPOSIT: "存入流量银行 {data}",
    MovementKind.WITHDRAWAL: "从流量银行取出 {data}",
    MovementKind.BANK_EXPIRY: "流量银行存入满 12 个月到期 {data}",
    MovementKind.CONVERSION: "{data} 兑换为积分",
    MovementKind.CONVERSION_BACK: "积分兑换已撤回，退回 {data}",
}
#: +1: bytes the line got (onto its buckets or into its bank); -1: bytes it let go.
DIRECTION = {
    MovementKind.GIFT_OUT: -1,
    MovementKind.GIFT_IN: 1,
    MovementKind.GIFT_BACK: 1,
    MovementKind.GIFT_TAKEN_BACK: -1,
    MovementKind.DEPOSIT: 1,
    MovementKind.WITHDRAWAL: 1,
    MovementKind.BANK_EXPIRY: -1,
    MovementKind.CONVERSION: -1,
    MovementKind.CONVERSION_BACK: 1,
}


def described(rows: Sequence[DataMovement]) -> list[dict]:
    """Movements as the owner reads them: kind, bytes, the counterpart's number masked and a
    sentence (转赠给 138****0002 1GB)."""
    numbers = line_queries.numbers_and_owners(
        line_ids={m.counterpart_id for m in rows if m.counterpart_id}
    )
    out = []
    for m in rows:
        other = numbers.get(m.counterpart_id)
        counterpart = mask_phone(other[0]) if other else ""
        kind = MovementKind(m.kind)
        out.append({
            "id": m.pk, "kind": kind.value, "label": kind.label, "amount_bytes": m.amount,
            "data": movements.format_bytes(m.amount), "lapsed_bytes": m.lapsed,
            "direction": DIRECTION[kind], "counterpart": counterpart,
            "text": TEXTS[kind].format(counterpart=counterpart,
                                       data=movements.format_bytes(m.amount)),
            "gift_id": m.gift_id, "created_at": m.created_at,
        })  # fmt: skip
    return out


def history(
    *, line_id: int, limit: int | None, after: str | None, kinds: Sequence[str] = ()
) -> pagination.Page:
    """The line's movements, newest first (cursor pages); only ``kinds`` when given."""
    rows = DataMovement.objects.filter(line_id=line_id)
    if kinds:
        rows = rows.filter(kind__in=list(kinds))
    page = pagination.paginate(rows, order=["-created_at", "-id"], limit=limit, after=after)
    return pagination.Page(items=described(list(page.items)), next=page.next)


def of_month(*, line_id: int, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The line's movements in ``[start, end)``, oldest first (a bill's)."""
    rows = DataMovement.objects.filter(line_id=line_id, created_at__gte=start, created_at__lt=end)
    return described(list(rows.order_by("created_at", "id")))
