"""The monthly cycle (账期) and the daily arrears check.

At each Beijing month a line has not yet entered (``ChargingAccount.cycle_month`` before the
current month), oldest first, one transaction per month under the line's charging lock: the
pending plan change takes effect, the month's fee is debited from the wallet (it may go
negative: arrears), unused general plan data rolls over, the new month's allowances are
granted, the month before is billed, and ``cycle_month`` moves on. Running it twice or from
two workers at once changes nothing more: the lock and ``cycle_month`` decide, and UNIQUE
keys (CycleRun per line and month, bucket origins, ledger keys, bills) are the last guard.

Arrears: a line left negative by the fee is told at once and suspended (reason ARREARS) by
the daily check once the grace period (``ARREARS_GRACE_DAYS``) has passed and the wallet is
still negative; a top-up that clears the debt resumes it (``charging.topups``).
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.db import transaction

from haoka.charging import alerts, bills, cycle, operations, signals, tariffs
from haoka.charging.domain import Bucket as EngineBucket
from haoka.charging.domain import Source, TimeWindow, Unit
from haoka.charging.models import Bucket, ChargingAccount, CycleRun
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.money import format_fen
from haoka.lines import operations as line_ops
from haoka.lines import queries as line_queries
from haoka.lines.domain import LineState, SuspendReason

log = structlog.get_logger(__name__)
FEE_REVENUE = operations.FEE_REVENUE
LIVE = (LineState.ACTIVE, LineState.SUSPENDED)
BATCH = 200


def month_start(month: dt.date) -> dt.datetime:
    """The UTC instant a Beijing month (given by its first day) starts."""
    return dt.datetime.combine(month, dt.time(), tzinfo=cycle.BEIJING).astimezone(dt.UTC)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def current_month(now: dt.datetime) -> dt.date:
    return cycle.beijing_date(now).replace(day=1)


# ---------------------------------------------------------------- the monthly run


def run_cycles(*, now: dt.datetime, limit: int | None = None) -> dict[str, int]:
    """Bring every live line due a new month up to the current one. One indexed query when
    nothing is due. A line that fails is logged and left for the next run.
    Returns counts of lines looked at, months opened and lines that failed."""
    month = current_month(now)
    due = ChargingAccount.objects.filter(cycle_month__lt=month, line__status__in=LIVE)
    lines = months = failed = 0
    after = 0
    while limit is None or lines < limit:
        batch = list(
            due.filter(line_id__gt=after)
            .order_by("line_id")
            .values_list("line_id", flat=True)[:BATCH]
        )
        if not batch:
            break
        for line_id in batch:
            try:
                months += advance_line(line_id=line_id, now=now)
            except Exception:  # one broken line (a plan gone from the catalog) must not
                log.exception("cycle_failed", line_id=line_id)  # hold up every other line
                failed += 1
            lines += 1
        after = batch[-1]
    return {"lines": lines, "months": months, "failed": failed}


def advance_line(*, line_id: int, now: dt.datetime) -> int:
    """Open every month the line has not entered up to the current one, oldest first, each
    in its own transaction. Returns how many this call opened."""
    target = current_month(now)
    opened = 0
    while True:
        with transaction.atomic():
            account = ChargingAccount.objects.select_for_update().filter(line_id=line_id).first()
            if account is None or account.cycle_month >= target:
                return opened
            _open_month(account, month=next_month(account.cycle_month), now=now)
        opened += 1


def _open_month(account: ChargingAccount, *, month: dt.date, now: dt.datetime) -> None:
    line_id, previous = account.line_id, account.cycle_month
    start, end = month_start(month), month_start(next_month(month))
    old_plan, plan_code = line_ops.apply_pending_plan(line_id=line_id)
    wallet = chart.line_wallet(line_id=line_id)
    before = -ledger.balance_fen(account=wallet)
    fee = _charge_fee(line_id, plan_code=plan_code, month=month, balance_fen=before, now=now)
    _roll_over(line_id, month=month, start=start)
    operations.grant_plan_month(
        line_id=line_id, plan_code=plan_code, valid_from=start, month_end=end
    )
    bills.issue(line_id=line_id, month=previous, plan_code=old_plan, now=now)
    ChargingAccount.objects.filter(pk=line_id).update(cycle_month=month, updated_at=now)
    if fee.charged_fen:
        held = account.reserved_fen
        alerts.after_debit(
            line_id=line_id, before_fen=before - held, after_fen=fee.balance_fen - held, now=now
        )


def _charge_fee(
    line_id: int, *, plan_code: str, month: dt.date, balance_fen: int, now: dt.datetime
) -> cycle.FeeOutcome:
    _, _, fee_fen = tariffs.plan_charging(plan_code=plan_code)
    what = "月租"
    line = line_queries.status_and_plan(line_id=line_id)
    if line.status == LineState.SUSPENDED and line.suspend_reason == SuspendReason.USER_REQUEST:
        fee_fen, what = min(fee_fen, line_queries.keep_number_fee_fen()), "停机保号费"
    outcome = cycle.monthly_fee(
        balance_fen=balance_fen, fee_fen=fee_fen, at=now, grace_days=settings.ARREARS_GRACE_DAYS
    )
    operations.post_monthly_fee(
        line_id=line_id, fee_fen=fee_fen, month=month, memo=f"{month:%Y年%m月}{what}（{plan_code}）"
    )
    CycleRun.objects.create(
        line_id=line_id,
        month=month,
        plan_code=plan_code,
        fee_fen=fee_fen,
        balance_after_fen=outcome.balance_fen,
        suspend_at=outcome.suspend_at,
        created_at=now,
    )
    signals.monthly_fee_charged.send(
        sender=CycleRun,
        line_id=line_id,
        month=month,
        fee_fen=fee_fen,
        arrears=outcome.arrears,
        now=now,
    )
    if outcome.arrears:
        line_ops.notify(
            line_id=line_id,
            kind="ARREARS",
            key=f"arrears:{line_id}:{month:%Y-%m}",
            title="账户已欠费",
            body=f"扣除{month:%m}月月租后余额为 {format_fen(outcome.balance_fen)}，请在 "
            f"{outcome.suspend_at.astimezone(cycle.BEIJING):%m月%d日 %H:%M} 前充值，以免停机。",
            sms=True,
            now=now,
        )
    return outcome


def _roll_over(line_id: int, *, month: dt.date, start: dt.datetime) -> Bucket | None:
    """Last month's unused general plan data becomes a ROLLOVER bucket for this month."""
    ending = Bucket.objects.filter(
        line_id=line_id, source=Source.PLAN, unit=Unit.BYTES, valid_to=start
    )
    engine = [
        EngineBucket(
            id=b.pk,
            unit=Unit.BYTES,
            source=Source.PLAN,
            available=max(0, b.amount - b.used - b.reserved),
            valid_from=b.valid_from,
            valid_to=b.valid_to,
            rating_groups=frozenset(int(g) for g in b.rating_groups),
            window=None if b.window_start is None else _window(b),
        )
        for b in ending
    ]
    new = cycle.rollover(buckets=engine, month_end=start)
    if new is None:
        return None
    bucket, _ = Bucket.objects.get_or_create(
        origin=f"rollover:{line_id}:{month:%Y-%m}",
        defaults={
            "line_id": line_id,
            "unit": new.unit,
            "source": new.source,
            "label": "上月结转流量",
            "amount": new.amount,
            "valid_from": new.valid_from,
            "valid_to": new.valid_to,
        },
    )
    return bucket


def _window(b: Bucket) -> TimeWindow:
    return TimeWindow(start=b.window_start, end=b.window_end)


# ---------------------------------------------------------------- arrears


def suspend_arrears(*, now: dt.datetime, limit: int = 5000) -> int:
    """Suspend (reason ARREARS) active lines still negative after their grace period.
    Returns how many were suspended."""
    # Customer money is a credit balance: a wallet in debit is a line in arrears.
    owing = ledger.cached_balances_above(prefix=alerts.WALLET_PREFIX, above_fen=0, limit=limit)
    done = 0
    for code, _balance in owing:
        done += _suspend_if_due(int(code.removeprefix(alerts.WALLET_PREFIX)), now=now)
    return done


def _suspend_if_due(line_id: int, *, now: dt.datetime) -> bool:
    with transaction.atomic():
        account = ChargingAccount.objects.select_for_update().filter(line_id=line_id).first()
        if account is None:
            return False
        run = (
            CycleRun.objects.filter(line_id=line_id, suspend_at__isnull=False)
            .order_by("-month", "-id")
            .first()
        )
        if run is None or run.suspend_at > now:
            return False
        if line_queries.status_of(line_id=line_id) != LineState.ACTIVE:
            return False
        balance = -ledger.balance_fen(account=chart.line_wallet(line_id=line_id))
        if balance >= 0:
            return False  # topped up meanwhile
        line_ops.change_status(
            line_id=line_id,
            to=LineState.SUSPENDED,
            suspend_reason=SuspendReason.ARREARS,
            actor="charging:arrears",
            reason=f"欠费 {format_fen(-balance)} 超过宽限期",
            now=now,
        )
        line_ops.notify(
            line_id=line_id,
            kind="SUSPENDED",
            key=f"suspended:{line_id}:{run.month:%Y-%m}",
            title="欠费停机",
            body=f"您已欠费 {format_fen(-balance)}，线路已停机。充值结清欠费后自动恢复。",
            sms=True,
            now=now,
        )
    return True
