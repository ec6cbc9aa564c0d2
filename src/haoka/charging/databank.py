"""A line's data bank (流量银行): unused general data deposited before the month ends instead of
lost, withdrawn later (within 12 months) into a bucket valid to the end of that month.

The bank's balance is on the ledger in bytes (``accounts_chart.data_bank``, a BYTES account):
a deposit posts bytes out of buckets into the bank (debit ``data_float:buckets``, credit the
bank), a withdrawal back, an expiry from the bank to ``data_expired:bank``. Each deposit is a
lot (``DataBankLot``) whose ``remaining`` withdrawals take oldest first; what is left of a lot
12 months after it was made expires (:func:`expire_lots`, a worker task). Every operation of a
line's bank runs under the line's charging lock (``dataflow.lock_lines``): deposits take from
what no session holds reserved, and one line's bank operations never interleave.

What a deposit takes: this month's general plan data and rollover (``movements.DEPOSITABLE``;
rollover first: it can never roll again), never packs (paid for, shorter-lived), gifts,
targeted or sponsored data. Limits per Beijing month: ``HAOKA_DATA_BANK_DEPOSIT_MONTHLY_MAX_MB``
and ``HAOKA_DATA_BANK_WITHDRAWAL_MONTHLY_MAX_MB`` (10 GB each by default).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F

from haoka.charging import cycle, dataflow, movements, notifications
from haoka.charging.domain import Source
from haoka.charging.models import DataBankLot, DataMovement
from haoka.charging.movements import MovementKind
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import Conflict
from haoka.lines.domain import LineState

log = structlog.get_logger(__name__)


class BankKeyReused(Conflict):
    code = "data_bank_key_reused"
    message = "该幂等键已用于另一笔流量银行操作"


def _bank_account(line_id: int) -> str:
    code = chart.data_bank(line_id=line_id)
    ledger.open_account(code=code, name=f"号卡 {line_id} 流量银行（字节）", kind="LIABILITY")
    return code


def _active(book) -> None:
    if book.line.status != LineState.ACTIVE:
        raise movements.LineNotActive(status=book.line.status)


def _limit(line_id: int, kind: MovementKind, amount: int, monthly_mb: int, now) -> None:
    start, _ = cycle.beijing_month(now)
    done = dataflow.moved_this_month(line_id=line_id, kinds=[kind], month_start=start)
    movements.check_monthly(
        amount=amount, done_this_month=done, monthly_max=monthly_mb * movements.MB
    )


def deposit(
    *, line_id: int, megabytes: int, now: dt.datetime, request_key: str = ""
) -> DataBankLot:
    """Move ``megabytes`` of the line's unused general plan data and rollover into its bank as
    a new lot, expiring 12 months later. The same ``request_key`` again returns the first lot.
    Raises AmountOutOfRange, LineNotActive, MonthlyLimitReached, NotEnoughData,
    BankKeyReused, UnknownSubscriber."""
    amount = movements.bytes_of(megabytes=megabytes)
    with transaction.atomic():
        book = dataflow.lock_lines([line_id], now=now)[line_id]
        if request_key:
            first = DataBankLot.objects.filter(line_id=line_id, request_key=request_key).first()
            if first is not None:
                if first.amount != amount:
                    raise BankKeyReused()
                return first
        _active(book)
        monthly = settings.DATA_BANK_DEPOSIT_MONTHLY_MAX_MB
        _limit(line_id, MovementKind.DEPOSIT, amount, monthly, now)
        takes = dataflow.take_from(book, sources=movements.DEPOSITABLE, amount=amount, now=now)
        lot = DataBankLot.objects.create(
            line_id=line_id, amount=amount, remaining=amount, deposited_at=now,
            expires_at=movements.lot_expiry(deposited_at=now), request_key=request_key,
        )  # fmt: skip
        ledger.post(
            legs=[
                ledger.Leg(chart.DATA_ON_BUCKETS, amount),
                ledger.Leg(_bank_account(line_id), -amount),
            ],
            kind="charging.data_deposit", memo="存入流量银行", key=f"data-bank:deposit:{lot.pk}",
        )  # fmt: skip
        dataflow.record(
            line_id=line_id, kind=MovementKind.DEPOSIT, amount=amount,
            key=f"data-bank:deposit:{lot.pk}", now=now, lot=lot, takes=dataflow.dump(takes),
        )  # fmt: skip
    log.info("data_bank_deposit", line_id=line_id, lot_id=lot.pk, amount=amount)
    return lot


def withdraw(
    *, line_id: int, megabytes: int, now: dt.datetime, request_key: str = ""
) -> DataMovement:
    """Take ``megabytes`` out of the line's bank (oldest lots first) into a BANK bucket valid
    to the end of the Beijing month. The same ``request_key`` again returns the first
    withdrawal. Raises AmountOutOfRange, LineNotActive, MonthlyLimitReached, BankEmpty,
    BankKeyReused, UnknownSubscriber."""
    amount = movements.bytes_of(megabytes=megabytes)
    with transaction.atomic():
        book = dataflow.lock_lines([line_id], now=now)[line_id]
        key = f"data-bank:withdrawal:{line_id}:{request_key}" if request_key else ""
        first = DataMovement.objects.filter(key=key).first() if key else None
        if first is not None:
            if first.amount != amount:
                raise BankKeyReused()
            return first
        _active(book)
        _limit(
            line_id, MovementKind.WITHDRAWAL, amount,
            settings.DATA_BANK_WITHDRAWAL_MONTHLY_MAX_MB, now,
        )  # fmt: skip
        lots = DataBankLot.objects.filter(line_id=line_id, remaining__gt=0)
        taken = movements.take_lots(
            lots=[movements.Lot(lot.pk, lot.remaining, lot.expires_at) for lot in lots],
            amount=amount, at=now,
        )  # fmt: skip
        for lot_id, n in taken:
            DataBankLot.objects.filter(pk=lot_id).update(remaining=F("remaining") - dataflow.big(n))
        movement = DataMovement.objects.create(
            line_id=line_id, kind=MovementKind.WITHDRAWAL, amount=amount,
            takes=[[lot_id, "LOT", n] for lot_id, n in taken], created_at=now,
            key=key or f"data-bank:withdrawal:{line_id}:{secrets.token_hex(8)}",
        )  # fmt: skip
        bucket = dataflow.new_bucket(
            line_id=line_id, source=Source.BANK, label="流量银行取出", amount=amount,
            origin=f"data-bank:{movement.pk}", now=now, valid_to=cycle.next_month_start(now),
        )  # fmt: skip
        DataMovement.objects.filter(pk=movement.pk).update(bucket_id=bucket.pk)
        movement.bucket_id = bucket.pk
        ledger.post(
            legs=[
                ledger.Leg(_bank_account(line_id), amount),
                ledger.Leg(chart.DATA_ON_BUCKETS, -amount),
            ],
            kind="charging.data_withdrawal", memo="从流量银行取出",
            key=f"data-bank:withdrawal:{movement.pk}",
        )  # fmt: skip
        notifications.quota_available(line_id=line_id, cause=f"bank:{movement.pk}", now=now)
    log.info("data_bank_withdrawal", line_id=line_id, movement_id=movement.pk, amount=amount)
    return movement


def expire_lots(*, now: dt.datetime, limit: int = 500) -> int:
    """What is left of lots past their expiry leaves the bank (to ``data_expired:bank``), one
    line at a time under its lock. Safe to run twice. How many lots expired."""
    due = (
        DataBankLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .order_by("line_id")
        .values_list("line_id", flat=True)
        .distinct()[:limit]
    )
    done = 0
    for line_id in list(due):
        with transaction.atomic():
            dataflow.lock_lines([line_id], now=now)
            lots = DataBankLot.objects.filter(line_id=line_id, remaining__gt=0, expires_at__lte=now)
            for lot in lots.order_by("expires_at", "id"):
                _expire(lot, now=now)
                done += 1
    return done


def _expire(lot: DataBankLot, *, now: dt.datetime) -> None:
    left = lot.remaining
    DataBankLot.objects.filter(pk=lot.pk).update(remaining=0)
    ledger.post(
        legs=[
            ledger.Leg(_bank_account(lot.line_id), left),
            ledger.Leg(chart.DATA_BANK_EXPIRED, -left),
        ],
        kind="charging.data_bank_expiry", memo="流量银行到期", key=f"data-bank:expiry:{lot.pk}",
    )  # fmt: skip
    dataflow.record(
        line_id=lot.line_id, kind=MovementKind.BANK_EXPIRY, amount=left,
        key=f"data-bank:expiry:{lot.pk}", now=now, lot=lot,
    )  # fmt: skip


# ---------------------------------------------------------------- reading the bank


@dataclass(frozen=True)
class Statement:
    balance_bytes: int
    lots: list[DataBankLot]
    history: list[dict]


def balance_bytes(*, line_id: int) -> int:
    """The bank's balance from the ledger (0 for a line that never deposited)."""
    try:
        return -ledger.balance_fen(account=chart.data_bank(line_id=line_id))
    except ledger.UnknownAccount:
        return 0


def statement(*, line_id: int, now: dt.datetime, history: int = 20) -> Statement:
    """The balance, the lots with something left (oldest expiry first) and the latest
    ``history`` bank movements."""
    lots = DataBankLot.objects.filter(line_id=line_id, remaining__gt=0, expires_at__gt=now)
    page = dataflow.history(
        line_id=line_id, limit=history, after=None,
        kinds=[MovementKind.DEPOSIT, MovementKind.WITHDRAWAL, MovementKind.BANK_EXPIRY],
    )  # fmt: skip
    return Statement(
        balance_bytes(line_id=line_id), list(lots.order_by("expires_at", "id")), page.items
    )
