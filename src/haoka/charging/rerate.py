"""Re-rating a period (``haoka usage rerate --from --to``): after a tariff or rating-group
fix, every usage record of the period is rated again, in time order per line, against the
allowances as they stand without those records' draws. The money difference is one adjusting
ledger posting per line (the wallet gets back an overcharge, or pays what was undercharged as
far as it can; the rest stays recorded as unpaid). Each record's version is bumped.

A re-rating never buys a new 日租 allowance: days already rented keep their bucket and fee,
and usage on a day with none stays at pay-as-you-go rates.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction

from haoka.charging import domain, linebook, tariffs
from haoka.charging.domain import Unit
from haoka.charging.models import UsageRecord
from haoka.core import ledger
from haoka.core.errors import ValidationError


class InvalidPeriod(ValidationError):
    code = "invalid_period"
    message = "重新计费的时间段不正确"


@dataclass(frozen=True)
class LineRerated:
    line_id: int
    records: int
    fen_before: int
    fen_after: int


def lines_in(*, start: dt.datetime, end: dt.datetime) -> list[int]:
    """Lines with usage records in ``[start, end)``. Raises InvalidPeriod."""
    if end <= start:
        raise InvalidPeriod(start=start.isoformat(), end=end.isoformat())
    rows = UsageRecord.objects.filter(started_at__gte=start, started_at__lt=end)
    return sorted(set(rows.values_list("line_id", flat=True)))


def rerate_line(
    *, line_id: int, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> LineRerated:
    """Re-rate one line's records of ``[start, end)`` (see the module docstring)."""
    run = secrets.token_hex(8)  # this re-rating's ledger keys
    with transaction.atomic():
        book = linebook.open_book(line_id, since=start, until=end)
        records = list(
            UsageRecord.objects.filter(
                line_id=line_id, started_at__gte=start, started_at__lt=end
            ).order_by("started_at", "id")
        )
        linebook.load_held(book, {d[0] for r in records for d in r.draws})
        for r in records:  # take back what the records drew
            for bucket_id, _source, amount in r.draws:
                book.move(bucket_id, used=-amount)
        before = sum(r.wallet_fen for r in records)
        tariff, _, _ = tariffs.plan_charging(plan_code=book.line.plan_code)
        tariff = replace(tariff, daily_fee_fen=0)  # never rent a new day in hindsight
        book.line.wallet_balance_fen += before  # the old charges, given back for the new rating
        book.carry = Decimal(0)
        after = sum(_rerate(book, r, tariff=tariff, now=now) for r in records)
        book.line.wallet_balance_fen -= before
        _adjust(book, before=before, after=after, key=f"rerate:{line_id}:{run}")
        linebook.write(book, key=f"rerate-usage:{line_id}:{run}", now=now, memo="重新计费")
    return LineRerated(line_id, len(records), before, after)


def _rerate(book, record: UsageRecord, *, tariff, now: dt.datetime) -> int:
    unit = Unit(record.unit)
    rating = domain.rate(
        unit=unit,
        amount=record.rated_amount,
        rating_group=record.rating_group,
        at=record.started_at,
        buckets=book.engine_buckets(unit, record.started_at),
        tariff=tariff,
        wallet=book.wallet(),
    )
    for d in rating.draws:
        if d.amount:
            book.move(d.bucket_id, used=d.amount)
    book.debited_fen += rating.wallet_fen
    book.carry = rating.carry
    record.draws = [[d.bucket_id, str(d.source), d.amount] for d in rating.draws if d.amount]
    record.from_buckets = sum(d.amount for d in rating.draws)
    record.free_amount = rating.zero_rated
    record.wallet_amount = rating.wallet_units
    record.unpaid_amount = rating.shortfall
    record.wallet_fen = rating.wallet_fen
    record.version += 1
    record.rated_at = now
    record.save(
        update_fields=[
            "draws", "from_buckets", "free_amount", "wallet_amount", "unpaid_amount",
            "wallet_fen", "version", "rated_at",
        ]
    )  # fmt: skip
    return rating.wallet_fen


def _adjust(book, *, before: int, after: int, key: str) -> None:
    """Post only the difference: ``debited_fen`` gathered the new charges in full, but the old
    ones were already paid, so the book debits ``after - before`` (negative: a refund)."""
    book.debited_fen -= before
    if book.debited_fen < 0:
        refund = -book.debited_fen
        book.debited_fen = 0
        wallet_code = ledger.code_of(account_id=book.line.wallet_account_id)
        ledger.post(
            legs=[ledger.Leg(linebook.USAGE_REVENUE, refund), ledger.Leg(wallet_code, -refund)],
            kind="charging.rerate_refund",
            memo="重新计费退回多收费用",
            key=key,
        )
