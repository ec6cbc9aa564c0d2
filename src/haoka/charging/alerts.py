"""Alerts to a line's owner (notification centre + SMS, each once per key): data at 80% and
100% of a bucket, a low wallet balance, an add-on pack about to expire.

Usage alerts are raised where usage is committed (``linebook.write`` calls :func:`after_book`,
which calls :func:`after_charging`): only the buckets that commit
drew from are looked at, in memory, and a query is made only when it crossed a threshold.
The balance checks run there too when the wallet was debited (a low-balance alert on the
crossing, and auto top-up); the daily :func:`sweep` catches balances already low and packs
about to expire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from haoka.charging import domain, topups
from haoka.charging.domain import PayerKind, Source, Unit
from haoka.charging.models import Bucket, ChargingAccount
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.money import format_fen
from haoka.lines import operations as line_ops
from haoka.lines.domain import LineState

#: Buckets whose use is worth an alert (a 日租 allowance renews daily; sponsors pay theirs).
ALERTED_SOURCES = {Source.PLAN, Source.PACK, Source.ROLLOVER, Source.GIFT, Source.BANK}
WALLET_PREFIX = chart.LINE_WALLET_PREFIX
EXPIRING_DAYS = 3


def format_bytes(amount: int) -> str:
    """1.5GB, 300.0MB, 12KB."""
    if amount >= 1024**3:
        return f"{amount / 1024**3:.1f}GB"
    if amount >= 1024**2:
        return f"{amount / 1024**2:.1f}MB"
    return f"{amount // 1024}KB"


# ---------------------------------------------------------------- after charging


@dataclass(frozen=True)
class Use:
    """What one commit did to a bucket: ``used`` went from ``used_before`` to ``used_after``."""

    bucket_id: int
    unit: str
    source: str
    payer_kind: str
    amount: int
    used_before: int
    used_after: int


def after_book(book, *, now: dt.datetime) -> None:
    """Alerts due after a line book (``charging.linebook``) was written: the buckets whose
    ``used`` grew, and the wallet if it was debited. In memory; queries only on a crossing."""
    uses = []
    for bucket_id, (used, _reserved) in book.pending.items():
        bucket = book.buckets.get(bucket_id)
        if used > 0 and bucket is not None:
            uses.append(
                Use(bucket_id, bucket.unit, bucket.source, bucket.payer_kind, bucket.amount,
                    bucket.used - used, bucket.used)
            )  # fmt: skip
    after = book.wallet().available_fen  # the book's debits are already subtracted
    after_charging(
        line_id=book.line.line_id,
        uses=uses,
        before_fen=after + book.debited_fen,
        after_fen=after,
        now=now,
    )


def after_charging(
    *, line_id: int, uses: Iterable[Use], before_fen: int, after_fen: int, now: dt.datetime
) -> None:
    """Alerts due after the line's usage was committed (inside the charging transaction):
    usage thresholds crossed, then :func:`after_debit` when money left the wallet."""
    for use in uses:
        usage_alert(use, line_id=line_id, now=now)
    if after_fen < before_fen:
        after_debit(line_id=line_id, before_fen=before_fen, after_fen=after_fen, now=now)


def usage_alert(use: Use, *, line_id: int, now: dt.datetime) -> int | None:
    """The highest threshold this commit crossed on a data bucket, sent once (None if none).
    ``alerted_pct`` moves up by a conditional UPDATE, so concurrent commits send it once."""
    if use.unit != Unit.BYTES or use.source not in ALERTED_SOURCES:
        return None
    if use.payer_kind != PayerKind.LINE:
        return None
    crossed = domain.usage_alerts(
        total=use.amount,
        remaining_before=use.amount - use.used_before,
        remaining_after=use.amount - use.used_after,
    )
    if not crossed:
        return None
    pct = max(crossed)  # 70% -> 100% in one go sends the 100% alert only
    if not Bucket.objects.filter(pk=use.bucket_id, alerted_pct__lt=pct).update(alerted_pct=pct):
        return None
    label = Bucket.objects.filter(pk=use.bucket_id).values_list("label", flat=True)[0]
    left = max(0, use.amount - use.used_after)
    body = (
        f"您的{label}已用完，继续使用将按套餐资费从余额扣费，可购买加油包。"
        if pct >= 100
        else f"您的{label}已使用{pct}%，剩余{format_bytes(left)}。"
    )
    line_ops.notify(
        line_id=line_id,
        kind=f"DATA_{pct}",
        key=f"data{pct}:{use.bucket_id}",
        title=f"流量已使用{pct}%",
        body=body,
        sms=True,
        now=now,
    )
    return pct


def after_debit(*, line_id: int, before_fen: int, after_fen: int, now: dt.datetime) -> None:
    """Money left the wallet (available ``before_fen`` -> ``after_fen``): a low-balance alert
    when this debit crossed the threshold, and the line's auto top-up if it is due."""
    threshold = settings.LOW_BALANCE_FEN
    if before_fen >= threshold > after_fen:
        low_balance(line_id=line_id, balance_fen=after_fen, now=now)
    topups.trigger_auto_topup(line_id=line_id, available_fen=after_fen, now=now)


def low_balance(*, line_id: int, balance_fen: int, now: dt.datetime) -> bool:
    """Tell the owner the balance is low, once per episode: an episode ends with the next
    credit to the wallet (a top-up), so the key names the latest credit entry."""
    wallet = chart.line_wallet(line_id=line_id)
    last_credit = (
        ledger.entries(account=wallet)
        .filter(amount_fen__lt=0)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return line_ops.notify(
        line_id=line_id,
        kind="LOW_BALANCE",
        key=f"low_balance:{line_id}:{last_credit or 0}",
        title="余额不足",
        body=f"您的余额为 {format_fen(balance_fen)}，"
        f"已低于 {format_fen(settings.LOW_BALANCE_FEN)}，请及时充值以免影响使用。",
        sms=True,
        now=now,
    )


# ---------------------------------------------------------------- the daily sweep


def expiring_packs(*, now: dt.datetime, limit: int = 5000) -> int:
    """Tell owners about pack allowances (with something left) ending within 3 days."""
    soon = Bucket.objects.filter(
        source=Source.PACK,
        valid_to__gt=now,
        valid_to__lte=now + dt.timedelta(days=EXPIRING_DAYS),
        line__status=LineState.ACTIVE,
    ).order_by("valid_to", "id")[:limit]
    sent = 0
    for bucket in soon:
        left = bucket.amount - bucket.used - bucket.reserved
        if left <= 0 or not domain.expiring_soon(valid_to=bucket.valid_to, at=now):
            continue
        what = format_bytes(left) if bucket.unit == Unit.BYTES else f"{left // 60}分钟"
        if bucket.unit == Unit.SMS:
            what = f"{left}条"
        ends = bucket.valid_to.astimezone(domain.BEIJING)
        sent += line_ops.notify(
            line_id=bucket.line_id,
            kind="PACK_EXPIRING",
            key=f"pack_expiring:{bucket.pk}",
            title="加油包即将到期",
            body=f"您的{bucket.label}将于 {ends:%m月%d日 %H:%M} 到期，还剩 {what}。",
            sms=True,
            now=now,
        )
    return sent


def low_balances(*, now: dt.datetime, limit: int = 5000) -> int:
    """Low-balance alerts for live lines whose wallet is already below the threshold
    (e.g. after the monthly fee); each episode once."""
    # A wallet is a liability: customer money is a credit (negative) balance.
    low = ledger.cached_balances_above(
        prefix=WALLET_PREFIX, above_fen=-settings.LOW_BALANCE_FEN, limit=limit
    )
    sent = 0
    for code, balance in low:
        line_id = int(code.removeprefix(WALLET_PREFIX))
        live = ChargingAccount.objects.filter(
            line_id=line_id, line__status__in=[LineState.ACTIVE, LineState.SUSPENDED]
        ).exists()
        if live:
            sent += low_balance(line_id=line_id, balance_fen=-balance, now=now)
    return sent


def sweep(*, now: dt.datetime) -> dict[str, int]:
    """The daily alerts. Returns how many were sent."""
    return {"pack_expiring": expiring_packs(now=now), "low_balance": low_balances(now=now)}
