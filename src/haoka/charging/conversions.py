"""Data converted into points (流量兑换积分), the rate staff set, and a staff reversal.

A conversion runs under the line's charging lock (``dataflow.lock_lines``): the bytes leave
the line's own general buckets (``points.convertible_sources``: packs at any time, plan data
and rollover only in the Beijing month's last 3 days; never targeted, sponsored, gifted,
banked or daily-rental data) exactly as a gift takes them (``amount`` shrinks, ``moved_out``
grows; never what open sessions hold reserved). Two postings record it, one per unit: bytes
``data_float:buckets`` -> ``data_converted:points``; points ``points_issued:conversions`` ->
the owner's ``points_user:<id>``. The points are a new lot expiring 12 months later.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction

from haoka.charging import cycle, dataflow, movements, points, points_ledger
from haoka.charging.models import PointsConversion, PointsRate
from haoka.charging.movements import MovementKind
from haoka.charging.points import CONVERSION_MACHINE, ConversionState
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import NotFound
from haoka.lines import queries as line_queries
from haoka.lines.domain import LineState

log = structlog.get_logger(__name__)


class ConversionNotFound(NotFound):
    code = "points_conversion_not_found"
    message = "兑换记录不存在"


def set_rate(*, points_per_gb: int, valid_from: dt.datetime, actor: str, now: dt.datetime):
    """A new conversion rate from ``valid_from`` on (the old ones stay, for the record)."""
    return PointsRate.objects.create(
        points_per_gb=points_per_gb, valid_from=valid_from, created_by=actor[:120], created_at=now
    )


def rate_at(*, at: dt.datetime) -> int:
    """Points per GB at ``at``. Raises NoRate when staff never set one."""
    found = PointsRate.objects.filter(valid_from__lte=at).order_by("-valid_from", "-id").first()
    if found is None:
        raise points.NoRate()
    return found.points_per_gb


def convert(
    *, line_id: int, megabytes: int, now: dt.datetime, request_key: str = ""
) -> PointsConversion:
    """Convert ``megabytes`` of the line's data into points for the line's owner (the caller
    checks that it is the one asking). The same ``request_key`` again returns the first
    conversion. Raises AmountOutOfRange, LineNotActive, NoRate, ConversionTooSmall, NotEnoughData,
    RedemptionKeyReused, UnknownSubscriber."""
    amount = movements.bytes_of(megabytes=megabytes)
    with transaction.atomic():
        book = dataflow.lock_lines([line_id], now=now)[line_id]
        if request_key:
            first = PointsConversion.objects.filter(line_id=line_id, request_key=request_key)
            if (found := first.first()) is not None:
                if found.amount != amount:
                    raise points.RedemptionKeyReused()
                return found
        if book.line.status != LineState.ACTIVE:
            raise movements.LineNotActive(status=book.line.status)
        user_id = line_queries.numbers_and_owners(line_ids=[line_id])[line_id][1]
        rate = rate_at(at=now)
        earned = points.points_for(amount=amount, points_per_gb=rate)
        _, month_end = cycle.beijing_month(now)
        sources = points.convertible_sources(at=now, month_end=month_end)
        takes = dataflow.take_from(book, sources=sources, amount=amount, now=now)
        conversion = PointsConversion.objects.create(
            line_id=line_id, user_id=user_id, amount=amount, points=earned, points_per_gb=rate,
            state=ConversionState.DONE, takes=dataflow.dump(takes), request_key=request_key,
            created_at=now,
        )  # fmt: skip
        _post_bytes(conversion.pk, amount)
        conversion.lot = points_ledger.earn(
            user_id=user_id, points=earned, origin=f"conversion:{conversion.pk}", now=now
        )
        conversion.save(update_fields=["lot"])
        dataflow.record(
            line_id=line_id, kind=MovementKind.CONVERSION, amount=amount,
            key=f"points:conversion:{conversion.pk}", now=now, takes=conversion.takes,
        )  # fmt: skip
    log.info("points_conversion", conversion_id=conversion.pk, amount=amount, points=earned)
    return conversion


def _post_bytes(conversion_id: int, amount: int) -> None:
    ledger.post(
        legs=[ledger.Leg(chart.DATA_ON_BUCKETS, amount), ledger.Leg(chart.DATA_CONVERTED, -amount)],
        kind="charging.points_conversion", memo="流量兑换积分",
        key=f"points:conversion:{conversion_id}:bytes",
    )  # fmt: skip


def _post_bytes_back(conversion_id: int, *, restored: int, lapsed: int) -> None:
    """The converted bytes leave ``data_converted:points``: those back on buckets to the
    float, those whose bucket had ended to ``data_expired:conversion_reversals``."""
    legs = [ledger.Leg(chart.DATA_CONVERTED, restored + lapsed)]
    if restored:
        legs.append(ledger.Leg(chart.DATA_ON_BUCKETS, -restored))
    if lapsed:
        legs.append(ledger.Leg(chart.DATA_CONVERSION_LAPSED, -lapsed))
    ledger.post(
        legs=legs, kind="charging.points_conversion_back", memo="积分兑换撤回",
        key=f"points:conversion:{conversion_id}:bytes:back",
    )  # fmt: skip


def reverse(*, conversion_id: int, actor: str, now: dt.datetime) -> PointsConversion:
    """Staff take a conversion back: its points (all of them still unspent and unexpired)
    leave the owner's account, and its bytes go back into the buckets they came from, those
    still valid; the rest lapse. A compensating movement, never an edit. Raises
    ConversionNotFound, ConversionStateConflict, ConversionPointsSpent."""
    with transaction.atomic():
        found = PointsConversion.objects.filter(pk=conversion_id).first()
        if found is None:
            raise ConversionNotFound(conversion_id=conversion_id)
        book = dataflow.lock_lines([found.line_id], now=now)[found.line_id]
        conversion = PointsConversion.objects.select_for_update().get(pk=conversion_id)
        CONVERSION_MACHINE.check(current=conversion.state, target=ConversionState.REVERSED)
        points_ledger.take_back(lot_id=conversion.lot_id, now=now)
        back = movements.give_back(
            takes=dataflow.load(conversion.takes), amount=conversion.amount,
            still_valid=book.buckets.keys(),
        )  # fmt: skip
        dataflow.give_to(book, back.restores)
        restored = conversion.amount - back.lapsed
        _post_bytes_back(conversion.pk, restored=restored, lapsed=back.lapsed)
        conversion.state, conversion.reversed_at = ConversionState.REVERSED, now
        conversion.restored, conversion.lapsed = restored, back.lapsed
        conversion.save(update_fields=["state", "reversed_at", "restored", "lapsed"])
        dataflow.record(
            line_id=conversion.line_id, kind=MovementKind.CONVERSION_BACK, amount=restored,
            lapsed=back.lapsed, key=f"points:conversion:{conversion.pk}:back", now=now,
            takes=dataflow.dump(back.restores), actor=actor[:120],
        )  # fmt: skip
    log.info("points_conversion_reversed", conversion_id=conversion_id, restored=restored)
    return conversion
