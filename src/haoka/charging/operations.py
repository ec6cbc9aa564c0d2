"""Use cases of charging: provision a line (its charging account and the month's plan
allowances) and rate usage records (offline CDRs), idempotent by record id.

Online charging sessions (Nchf) are in ``charging.online``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from haoka.charging import cycle, domain, family_pool, linebook, tariffs
from haoka.charging import online_store as store
from haoka.charging.domain import Unit
from haoka.charging.models import Bucket, ChargingAccount, CycleRun
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import ValidationError
from haoka.core.schema_types import MAX_UNITS

PLAN_LABELS = {
    (Unit.BYTES, False): "套餐通用流量",
    (Unit.BYTES, True): "套餐定向流量",
    (Unit.SECONDS, False): "套餐语音",
    (Unit.SMS, False): "套餐短信",
}
#: Services a usage record may name, and the unit each is rated in.
SERVICES = {"data": Unit.BYTES, "voice": Unit.SECONDS, "sms": Unit.SMS}
MAX_BATCH = 1000
FEE_REVENUE = chart.MONTHLY_FEES


class InvalidUsageRecord(ValidationError):
    code = "invalid_usage_record"
    message = "话单格式不正确"


class BatchTooLarge(ValidationError):
    code = "batch_too_large"
    message = f"每批最多 {MAX_BATCH} 条话单"


# ---------------------------------------------------------------- provisioning


def provision_line(
    *, line_id: int, plan_code: str, activated: bool = True, now: dt.datetime
) -> ChargingAccount:
    """Give a new line its charging account and its first month. A line ``activated`` here
    (born from an order) gets the plan's first-month term (``domain.first_month``): by
    default the fee and the allowances prorated by the Beijing days left, the fee posted like
    the cycle's (same kind and key, so the cycle never charges the month again) and recorded
    as the month's CycleRun. A wallet the fee leaves negative is not put on the arrears clock
    here (the first top-up is credited right after, in the same transaction); a debt that
    remains is chased with the next month's fee. A line brought over from another system
    (``activated`` False: that system charged this month) gets the month's allowances in
    full and no fee. Idempotent. Runs inside the caller's transaction. Raises PlanNotFound."""
    with transaction.atomic():
        account = ChargingAccount.objects.filter(line_id=line_id).first()
        if account is not None:
            return account
        wallet_id = ledger.account_id(code=chart.line_wallet(line_id=line_id))
        month_start, month_end = cycle.beijing_month(now)
        month, activated_on = cycle.beijing_date(month_start), cycle.beijing_date(now)
        account = ChargingAccount.objects.create(
            line_id=line_id, wallet_account_id=wallet_id, cycle_month=month, updated_at=now
        )
        if not activated:
            grant_plan_month(
                line_id=line_id, plan_code=plan_code, valid_from=now, month_end=month_end
            )
            return account
        _, terms, fee_fen = tariffs.plan_charging(plan_code=plan_code)
        share = domain.first_month(
            rule=tariffs.first_month_rule(plan_code=plan_code),
            fee_fen=fee_fen,
            activated_on=activated_on,
        )
        grant_plan_month(
            line_id=line_id,
            plan_code=plan_code,
            valid_from=now,
            month_end=month_end,
            terms=cycle.first_month_terms(plan=terms, share=share, activated_on=activated_on),
        )
        what = f"首月按天折算 {share.days}/{share.month_days} 天" if share.prorated else "首月"
        post_monthly_fee(
            line_id=line_id,
            fee_fen=share.fee_fen,
            month=month,
            memo=f"{month:%Y年%m月}月租（{plan_code}，{what}）",
        )
        CycleRun.objects.create(
            line_id=line_id,
            month=month,
            plan_code=plan_code,
            fee_fen=share.fee_fen,
            balance_after_fen=-ledger.balance_fen(account=chart.line_wallet(line_id=line_id)),
            suspend_at=None,
            created_at=now,
            first_month=share.rule,
            days=share.days,
            month_days=share.month_days,
        )
        return account


def post_monthly_fee(*, line_id: int, fee_fen: int, month: dt.date, memo: str) -> None:
    """Debit a month's fee from the line's wallet (it may go negative), once per line and
    month (the ledger key). Nothing for a zero fee."""
    if fee_fen:
        ledger.post(
            legs=[
                ledger.Leg(chart.line_wallet(line_id=line_id), fee_fen),
                ledger.Leg(FEE_REVENUE, -fee_fen),
            ],
            kind="charging.monthly_fee",
            memo=memo,
            key=f"monthly_fee:{line_id}:{month:%Y-%m}",
        )


def grant_plan_month(
    *,
    line_id: int,
    plan_code: str,
    valid_from: dt.datetime,
    month_end: dt.datetime,
    terms: cycle.PlanTerms | None = None,
) -> list[Bucket]:
    """The plan's allowances for the month ending ``month_end`` (idempotent per month);
    ``terms``: other amounts than the plan's monthly ones (the activation month)."""
    if terms is None:
        _, terms, _ = tariffs.plan_charging(plan_code=plan_code)
    month = cycle.beijing_date(month_end - dt.timedelta(seconds=1)).strftime("%Y-%m")
    made = []
    for new in cycle.plan_grants(plan=terms, month_start=valid_from, month_end=month_end):
        scoped = bool(new.rating_groups)
        kind = {Unit.BYTES: "targeted" if scoped else "data", Unit.SECONDS: "voice"}.get(
            new.unit, "sms"
        )
        bucket, _ = Bucket.objects.get_or_create(
            origin=f"plan:{line_id}:{month}:{kind}",
            defaults={
                "line_id": line_id,
                "unit": new.unit,
                "source": new.source,
                "label": PLAN_LABELS[(new.unit, scoped)],
                "amount": new.amount,
                "valid_from": new.valid_from,
                "valid_to": new.valid_to,
                "rating_groups": sorted(new.rating_groups),
            },
        )
        made.append(bucket)
    return made


# ---------------------------------------------------------------- offline usage records


@dataclass(frozen=True)
class RecordIn:
    """A usage record as received: ``amount`` raw (bytes, seconds or messages)."""

    record_id: str
    subscriber: str
    service: str
    amount: int
    started_at: dt.datetime
    rating_group: int | None = None


@dataclass(frozen=True)
class RecordOutcome:
    record_id: str
    status: str  # RATED | DUPLICATE | REJECTED
    reason: str = ""
    code: str = ""
    wallet_fen: int = 0
    unpaid: int = 0


def _check(rec: RecordIn) -> str | None:
    """Why a record cannot be rated (None when it can)."""
    if not rec.record_id or len(rec.record_id) > 80:
        return "记录编号为空或过长"
    if rec.service not in SERVICES:
        return f"未知业务类型 {rec.service!r}（data / voice / sms）"
    if not isinstance(rec.amount, int) or isinstance(rec.amount, bool) or rec.amount < 0:
        return "用量必须是非负整数"
    if rec.amount > MAX_UNITS:
        return "用量超出范围"
    if rec.rating_group is not None and not 0 <= rec.rating_group < 2**32:
        return "费率组超出范围"
    if rec.started_at.tzinfo is None:
        return "开始时间必须带时区"
    return None


def rate_records(*, records: list[RecordIn], now: dt.datetime) -> list[RecordOutcome]:
    """Rate a batch of usage records (up to :data:`MAX_BATCH`), each line in its own
    transaction, in time order per line. A record id seen before is a DUPLICATE (its first
    rating stands); a bad record is REJECTED with a reason; the others are RATED.
    Raises BatchTooLarge."""
    if len(records) > MAX_BATCH:
        raise BatchTooLarge(count=len(records))
    answers: list[RecordOutcome | None] = [None] * len(records)
    by_line: dict[int, list[tuple[int, RecordIn]]] = defaultdict(list)
    seen_in_batch: set[str] = set()
    lines: dict[str, int | None] = {}  # subscriber -> line, looked up once per batch
    for i, rec in enumerate(records):
        reason = _check(rec)
        if reason is None and rec.record_id in seen_in_batch:
            answers[i] = RecordOutcome(rec.record_id, "DUPLICATE")
            continue
        line_id = None
        if reason is None:
            if rec.subscriber not in lines:
                try:
                    lines[rec.subscriber] = tariffs.line_id_for(subscriber=rec.subscriber)
                except tariffs.UnknownSubscriber:
                    lines[rec.subscriber] = None
            line_id = lines[rec.subscriber]
            if line_id is None:
                reason = "找不到该号码的在网线路"
        if reason is not None:
            answers[i] = RecordOutcome(rec.record_id, "REJECTED", reason, "invalid_usage_record")
            continue
        seen_in_batch.add(rec.record_id)
        by_line[line_id].append((i, rec))
    opened = store.lines_opened_at(by_line)
    for line_id, items in by_line.items():
        items = _in_window(items, opened_at=opened[line_id], now=now, answers=answers)
        if not items:
            continue
        rated = _rate_line(line_id=line_id, records=[rec for _, rec in items], now=now)
        for i, rec in items:
            answers[i] = rated[rec.record_id]
    return [a for a in answers if a is not None]


def _in_window(items, *, opened_at: dt.datetime, now: dt.datetime, answers: list) -> list:
    """The records of a line dated within its life; the others answered REJECTED."""
    kept = []
    for i, rec in items:
        try:
            domain.check_usage_window(started_at=rec.started_at, opened_at=opened_at, now=now)
        except domain.UsageOutOfWindow as exc:
            answers[i] = RecordOutcome(rec.record_id, "REJECTED", exc.message, exc.code)
        else:
            kept.append((i, rec))
    return kept


def _rate_line(
    *, line_id: int, records: list[RecordIn], now: dt.datetime
) -> dict[str, RecordOutcome]:
    records = sorted(records, key=lambda r: (r.started_at, r.record_id))
    with transaction.atomic():
        # Lock first, then look for ids already rated: a concurrent batch with the same ids
        # has committed by the time the lock is ours (the UNIQUE record_id is the last guard).
        book = linebook.open_book(
            line_id, since=records[0].started_at, until=records[-1].started_at
        )
        known = store.known_record_ids([r.record_id for r in records])
        fresh = [r for r in records if r.record_id not in known]
        out = {i: RecordOutcome(i, "DUPLICATE") for i in known}
        if not fresh:
            return out
        tariff, _, _ = tariffs.plan_charging(plan_code=book.line.plan_code)
        days = _BeijingDays()
        rated_at = store.db_time(now)
        for rec in fresh:
            out[rec.record_id] = _rate_one(book, rec, tariff=tariff, now=now, days=days,
                                           rated_at=rated_at)  # fmt: skip
        linebook.write(
            book, key=f"usage:{fresh[0].record_id}", now=now, memo=f"话单计费 {len(fresh)} 条"
        )
    return out


class _BeijingDays:
    """The Beijing date of each record of a batch (records of a line come in time order, so
    the last day's bounds answer nearly every one without a zone conversion)."""

    def __init__(self) -> None:
        self._start = self._end = None
        self._day = None

    def of(self, at: dt.datetime) -> dt.date:
        if self._start is not None and self._start <= at < self._end:
            return self._day
        self._start, self._end = cycle.beijing_day(at)
        self._day = cycle.beijing_date(at)
        return self._day


def _draws_json(draws: list[domain.Draw]) -> str:
    if not draws:  # most records are paid by the wallet alone
        return "[]"
    return json.dumps([[d.bucket_id, str(d.source), d.amount] for d in draws])


def _rate_one(
    book, rec: RecordIn, *, tariff, now: dt.datetime, days: _BeijingDays, rated_at
) -> RecordOutcome:
    unit = SERVICES[rec.service]
    rated = domain.rated_amount(unit=unit, raw=rec.amount)
    at = rec.started_at

    def rate() -> domain.Rating:
        return domain.rate(
            unit=unit,
            amount=rated,
            rating_group=rec.rating_group,
            at=at,
            buckets=book.engine_buckets(unit, at),
            tariff=tariff,
            wallet=book.wallet(),
        )

    rating = rate()
    if unit == domain.Unit.BYTES and family_pool.is_member(book.line):  # 家庭共享
        rating = family_pool.with_pool(book, rating, rerate=rate, now=at)
    fee = 0
    if rating.daily_purchase is not None:
        fee = rating.daily_purchase.fee_fen
        rating = linebook.buy_daily(book, rating, now=now)
    draws = [d for d in rating.draws if d.amount]
    for d in draws:
        book.move(d.bucket_id, used=d.amount)
    book.debited_fen += rating.wallet_fen
    book.carry = rating.carry
    book.usage.append((
        rec.record_id, book.line.line_id, "OFFLINE", unit.value, rec.rating_group, rec.amount,
        rated, sum(d.amount for d in draws), rating.zero_rated, rating.wallet_units,
        rating.shortfall, rating.wallet_fen, fee, _draws_json(draws),
        store.db_time(at), days.of(at), rated_at,
    ))  # fmt: skip
    return RecordOutcome(
        rec.record_id, "RATED", wallet_fen=rating.wallet_fen + fee, unpaid=rating.shortfall
    )
