"""Commission on the ledger: facts from other domains (activation, top-up, monthly fee, line
ended) arrive in the inbox inside their own transaction and are turned into entries right
after it commits; entries settle after their hold, become withdrawable after the cool-down,
and are clawed back by a compensating transaction.

Ledger accounts per agent (liabilities, credit balances are what haoka owes the agent):
``liability:agent:<id>:pending`` -> ``:settled`` -> ``:withdrawable``. Commission is an
expense (``expense:commission``); a clawback credits it back. The withdrawable account may go
negative: a debt recovered from later commission.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F

from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.distribution import credit, domain, fraud, store
from haoka.distribution.domain import EntryStatus, Kind, SaleState
from haoka.distribution.models import Entry, Inbox, Sale
from haoka.lines import queries as line_queries

log = structlog.get_logger(__name__)

#: A fact that failed this often is left for staff (the sweep stops retrying it).
ATTEMPTS_LIMIT = 20

_STAGE_ACCOUNT = {
    EntryStatus.PENDING: "pending",
    EntryStatus.SETTLED: "settled",
    EntryStatus.WITHDRAWABLE: "withdrawable",
}


def account(agent_id: int, stage: str) -> str:
    """``stage``: pending | settled | withdrawable."""
    return chart.agent_commission(agent_id=agent_id, stage=stage)


def open_agent_accounts(*, agent_id: int, code: str) -> None:
    for stage, label in (("pending", "待结算"), ("settled", "已结算"), ("withdrawable", "可提现")):
        ledger.open_account(
            code=account(agent_id, stage),
            name=f"代理 {code} 佣金（{label}）",
            kind=chart.AccountKind.LIABILITY,
        )


def open_system_accounts() -> None:
    """The system accounts (opened by migrate and flush already; kept for the benchmark's
    setup, which truncates tables)."""
    ledger.open_system_accounts()


def balances_fen(*, agent_id: int) -> dict[str, int]:
    """What haoka owes the agent, by stage (a negative withdrawable amount is a debt)."""
    return {
        stage: -ledger.balance_fen(account=account(agent_id, stage))
        for stage in ("pending", "settled", "withdrawable")
    }


# ------------------------------------------------------------------------------ inbox


def record(*, sale_id: int, kind: str, key: str, data: dict, at: dt.datetime) -> bool:
    """Note a fact about a sale inside the caller's transaction, once per ``key``; it is
    processed right after that transaction commits. Returns False for a repeat."""
    try:
        with transaction.atomic():
            item = Inbox.objects.create(key=key[:80], kind=kind, sale_id=sale_id, data=data, at=at)
    except IntegrityError:
        return False
    transaction.on_commit(lambda: _process_quietly(item.pk))
    return True


def _process_quietly(inbox_id: int) -> None:
    try:
        process(inbox_id=inbox_id, now=clock.now())
    except Exception:  # the sweep retries; the fact that triggered it has committed
        log.exception("inbox_fact_failed", inbox_id=inbox_id)
        Inbox.objects.filter(pk=inbox_id).update(attempts=F("attempts") + 1)


def process_due(*, now: dt.datetime, limit: int = 500, batch: int = 100) -> int:
    """Process facts left unprocessed (a crash, a failure, a backlog): the sweep behind
    ``record``. Facts are taken ``batch`` at a time in one transaction (rows other sweeps hold
    are skipped); a batch that fails is redone one fact at a time, so one bad fact only
    delays itself. Returns the number of facts processed."""
    ids = list(
        Inbox.objects.filter(processed_at__isnull=True, attempts__lt=ATTEMPTS_LIMIT)
        .order_by("at", "id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        try:
            done += _process(chunk, now=now, skip_locked=True)[0]
            continue
        except Exception:
            log.info("inbox_batch_failed_one_at_a_time", exc_info=True)
        for inbox_id in chunk:
            try:
                done += _process([inbox_id], now=now, skip_locked=True)[0]
            except Exception as exc:
                log.exception("inbox_fact_failed", inbox_id=inbox_id)
                Inbox.objects.filter(pk=inbox_id).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:300]
                )
    return done


def process(*, inbox_id: int, now: dt.datetime) -> int:
    """Turn one fact into commission entries (or a clawback). Idempotent: a processed fact
    is skipped. Returns the number of entries written or clawed back."""
    return _process([inbox_id], now=now, skip_locked=False)[1]


def _process(ids: list[int], *, now: dt.datetime, skip_locked: bool) -> tuple[int, int]:
    """Process these facts in one transaction: at most one per sale (a sale's later facts
    wait for the next round, so each handler sees the sale as the earlier ones left it).
    Returns (facts processed, entries written or clawed back)."""
    with transaction.atomic():
        items = list(
            Inbox.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=ids, processed_at__isnull=True)
            .order_by("at", "id")
        )
        first: dict[int, Inbox] = {}
        for item in items:
            first.setdefault(item.sale_id, item)
        first = _in_turn(first)
        if not first:
            return 0, 0
        sales = {
            sale.pk: sale
            for sale in Sale.objects.select_for_update().filter(pk__in=first).order_by("pk")
        }
        writes = Writes(sales=list(sales.values()))
        written = 0
        done, waiting = [], []
        for item in first.values():
            handler = _HANDLERS[item.kind]
            try:
                written += handler(
                    sales[item.sale_id], item.data, at=item.at, now=now, writes=writes
                )
            except NotYet:  # raised before the handler changed anything
                waiting.append(item.pk)
                continue
            done.append(item.pk)
        writes.flush(now=now)
        # What these facts changed (activations, top-ups, arrears, endings, flags) is what the
        # sellers' scores count: rescored once this commits.
        credit.refresh_on_commit(agent_ids=[sales[i.sale_id].agent_id for i in first.values()])
        Inbox.objects.filter(pk__in=done).update(processed_at=now, attempts=F("attempts") + 1)
        Inbox.objects.filter(pk__in=waiting).update(
            attempts=F("attempts") + 1, last_error="线路激活尚未处理，稍后重试"
        )
    return len(done), written


def _in_turn(items: dict[int, Inbox]) -> dict[int, Inbox]:
    """The facts (by sale) that are their sale's oldest unprocessed one: a later fact waits
    while an earlier one is held by another sweep or failed (and is still being retried)."""
    oldest: dict[int, tuple] = {}
    unprocessed = Inbox.objects.filter(
        sale_id__in=items, processed_at__isnull=True, attempts__lt=ATTEMPTS_LIMIT
    )
    for sale_id, at, pk in unprocessed.values_list("sale_id", "at", "id"):
        oldest[sale_id] = min(oldest.get(sale_id, (at, pk)), (at, pk))
    return {
        sale_id: item
        for sale_id, item in items.items()
        if oldest.get(sale_id, (item.at, item.pk)) >= (item.at, item.pk)
    }


class Writes:
    """What the facts of one transaction write, gathered by the handlers and written together
    at the end: commission entries and their ledger transactions, the sales' new state, and
    the fraud screening of the sales just activated. The sales are locked by the caller.
    Clawbacks (rare) are written at once by their handler; should two batches then wait for
    each other's ledger rows, PostgreSQL aborts one and it is redone one fact at a time."""

    #: Every field a handler may change on a sale (the locked rows are saved whole).
    SALE_FIELDS = (
        "status", "line_id", "activated_at", "first_topup_at", "ever_arrears", "ended_at",
        "committed_fen", "fraud_hold",
    )  # fmt: skip

    def __init__(self, *, sales: list[Sale]):
        self.sales = sales
        self.seen = set(Entry.objects.filter(sale__in=sales).values_list("key", flat=True))
        self.entries: list[Entry] = []
        self.postings: list[ledger.Posting] = []
        self.activated: list[Sale] = []
        self.ended_agents: set[int] = set()  # agents whose lines ended: watched for 养卡

    def flush(self, *, now: dt.datetime) -> None:
        if self.activated:
            fraud.screen_sales(sales=self.activated, now=now)
        Entry.objects.bulk_create(self.entries)
        ledger.post_many(postings=self.postings)
        store.save_sales(self.sales, self.SALE_FIELDS)
        for agent_id in sorted(self.ended_agents):  # reads the sales just saved
            fraud.watch_quick_exits(agent_id=agent_id, now=now)


def _as_sale(sale: Sale) -> domain.Sale:
    return domain.Sale(
        order_ref=sale.order_ref,
        terms=domain.Terms.from_json(sale.terms),
        seller_tier=sale.seller_tier,
        has_parent=sale.parent_id is not None,
        committed_fen=sale.committed_fen,
    )


def _on_activated(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime, writes) -> int:
    if sale.status != SaleState.OPEN:
        return 0
    domain.SALE_MACHINE.check(current=sale.status, target=SaleState.ACTIVATED)
    sale.status = SaleState.ACTIVATED
    sale.line_id = data["line_id"]
    sale.activated_at = at
    writes.activated.append(sale)
    return accrue(sale, domain.on_activation(_as_sale(sale), at=at), now=now, writes=writes)


class NotYet(Exception):
    """A fact about a line whose activation has not been processed yet: retried later."""


def _on_topup(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime, writes) -> int:
    if sale.status == SaleState.OPEN:
        raise NotYet(sale.order_ref)
    if sale.first_topup_at is not None or sale.status != SaleState.ACTIVATED:
        return 0  # only the line's first top-up counts
    sale.first_topup_at = at
    accruals = domain.on_first_topup(_as_sale(sale), amount_fen=data["amount_fen"], at=at)
    return accrue(sale, accruals, now=now, writes=writes)


def _on_monthly_fee(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime, writes) -> int:
    if sale.status == SaleState.OPEN:
        raise NotYet(sale.order_ref)
    if sale.status != SaleState.ACTIVATED or sale.activated_at is None:
        return 0
    if data.get("arrears"):
        sale.ever_arrears = True
        return clawback(sale, reason="欠费，结算前追回", now=now)
    month = dt.date.fromisoformat(data["month"])
    accruals = domain.on_monthly_fee(
        _as_sale(sale), activated_at=sale.activated_at, month=month, fee_fen=data["fee_fen"], at=at
    )
    return accrue(sale, accruals, now=now, writes=writes)


def _on_line_ended(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime, writes) -> int:
    reason = data.get("reason", "线路销户")
    if data.get("arrears"):
        sale.ever_arrears = True
    else:
        if sale.status != SaleState.ENDED:  # a repeated notice only moves the date
            domain.SALE_MACHINE.check(current=sale.status, target=SaleState.ENDED)
        sale.status = SaleState.ENDED
        sale.ended_at = at
    clawed = clawback(sale, reason=f"{reason}，结算前追回", now=now)
    if sale.status == SaleState.ENDED:
        writes.ended_agents.add(sale.agent_id)
    return clawed


_HANDLERS = {
    "ACTIVATED": _on_activated,
    "TOPUP": _on_topup,
    "MONTHLY_FEE": _on_monthly_fee,
    "LINE_ENDED": _on_line_ended,
}


# ------------------------------------------------------------------------------ posting


def accrue(sale: Sale, accruals: list[domain.Accrual], *, now: dt.datetime, writes: Writes) -> int:
    """Add each accrual not yet written to ``writes`` as a PENDING entry with its own ledger
    transaction, and count it against the sale's margin (the DB refuses a sale above it when
    the batch is written). The sale is locked by the caller. Returns the entries added."""
    wanted = [
        (acc, sale.agent_id if acc.to == "SELLER" else sale.parent_id)
        for acc in accruals
        if acc.amount_fen > 0 and acc.key not in writes.seen
    ]
    wanted = [(acc, agent_id) for acc, agent_id in wanted if agent_id is not None]
    for acc, agent_id in wanted:
        writes.seen.add(acc.key)
        if acc.kind == Kind.MARKUP:  # the customer's money becomes platform revenue first
            writes.postings.append(
                ledger.Posting(
                    legs=[
                        ledger.Leg(chart.CUSTOMER_PREPAYMENTS, acc.amount_fen),
                        ledger.Leg(chart.SHOP_MARKUP, -acc.amount_fen),
                    ],
                    kind="distribution.markup_revenue",
                    memo=f"订单 {sale.order_ref} 店铺加价",
                    key=f"markup_revenue:{sale.order_ref}",
                )
            )
        writes.postings.append(
            ledger.Posting(
                legs=[
                    ledger.Leg(chart.COMMISSION_EXPENSE, acc.amount_fen),
                    ledger.Leg(account(agent_id, "pending"), -acc.amount_fen),
                ],
                kind="distribution.accrue",
                memo=f"{domain.KIND_LABELS[acc.kind]} {sale.order_ref}",
                key=f"commission:{acc.key}",
            )
        )
        writes.entries.append(
            Entry(
                key=acc.key,
                sale=sale,
                agent_id=agent_id,
                kind=acc.kind,
                amount_fen=acc.amount_fen,
                status=EntryStatus.PENDING,
                memo=acc.memo[:120],
                accrued_at=now,
                settle_after=acc.settle_after,
            )
        )
        if acc.kind != Kind.MARKUP:
            sale.committed_fen += acc.amount_fen
    return len(wanted)


def _move(entries: list[Entry], *, to: EntryStatus, now: dt.datetime) -> None:
    """Move locked entries to ``to``: one ledger transaction each, written together."""
    postings = []
    for entry in entries:
        domain.check_entry_transition(current=entry.status, target=to)
        postings.append(
            ledger.Posting(
                legs=[
                    ledger.Leg(
                        account(entry.agent_id, _STAGE_ACCOUNT[entry.status]), entry.amount_fen
                    ),
                    ledger.Leg(account(entry.agent_id, _STAGE_ACCOUNT[to]), -entry.amount_fen),
                ],
                kind=f"distribution.{to.lower()}",
                memo=f"{domain.KIND_LABELS[entry.kind]} {entry.memo}"[:300],
                key=f"commission:{entry.key}:{to.lower()}",
            )
        )
    ledger.post_many(postings=postings)
    fields = {"status": to}
    if to == EntryStatus.SETTLED:
        fields.update(settled_at=now, withdrawable_at=now + domain.WITHDRAW_COOLDOWN)
    Entry.objects.filter(pk__in=[e.pk for e in entries]).update(**fields)
    for entry in entries:
        for name, value in fields.items():
            setattr(entry, name, value)


def clawback(
    sale: Sale,
    *,
    reason: str,
    now: dt.datetime,
    statuses: tuple[str, ...] = (EntryStatus.PENDING,),
    keys: list[str] | None = None,
) -> int:
    """Reverse the sale's entries in ``statuses`` (PENDING by default; fraud takes settled and
    withdrawable ones too, which may leave the agent owing); only ``keys`` when given. Runs
    inside the caller's transaction with the sale locked. Returns how many were clawed back."""
    rows = Entry.objects.select_for_update().filter(sale=sale, status__in=statuses)
    if keys is not None:
        rows = rows.filter(key__in=keys)
    entries = list(rows.order_by("id"))
    if not entries:
        return 0
    postings = []
    for entry in entries:
        domain.check_entry_transition(current=entry.status, target=EntryStatus.CLAWED_BACK)
        postings.append(
            ledger.Posting(
                legs=[
                    ledger.Leg(
                        account(entry.agent_id, _STAGE_ACCOUNT[entry.status]), entry.amount_fen
                    ),
                    ledger.Leg(chart.COMMISSION_EXPENSE, -entry.amount_fen),
                ],
                kind="distribution.clawback",
                memo=f"追回 {domain.KIND_LABELS[entry.kind]} {sale.order_ref}：{reason}"[:300],
                key=f"commission:{entry.key}:clawback",
            )
        )
        if entry.kind != Kind.MARKUP:
            sale.committed_fen -= entry.amount_fen
    ledger.post_many(postings=postings)
    Entry.objects.filter(pk__in=[e.pk for e in entries]).update(
        status=EntryStatus.CLAWED_BACK, clawed_back_at=now, clawback_reason=reason[:120]
    )
    sale.save(update_fields=["committed_fen"])
    return len(entries)


# ------------------------------------------------------------------------------ settlement


def settle_due(*, now: dt.datetime, limit: int = 1000, batch: int = 100) -> dict[str, int]:
    """PENDING entries past their hold: settled if the sale is in good standing (次月返 also
    needs the line ACTIVE and never in arrears), clawed back if not; sales under fraud review
    wait. ``batch`` sales per transaction (sales other sweeps hold are skipped); a batch that
    fails is redone one sale at a time."""
    sale_ids = list(
        Entry.objects.filter(
            status=EntryStatus.PENDING, settle_after__lte=now, sale__fraud_hold=False
        )
        .order_by("sale_id")
        .values_list("sale_id", flat=True)
        .distinct()[:limit]
    )
    counts = {"settled": 0, "clawed_back": 0}
    for start in range(0, len(sale_ids), batch):
        chunk = sale_ids[start : start + batch]
        try:
            results = [_settle_sales(chunk, now=now)]
        except Exception:
            log.info("settlement_batch_failed_one_at_a_time", exc_info=True)
            results = []
            for sale_id in chunk:
                try:
                    results.append(_settle_sales([sale_id], now=now))
                except Exception:  # left pending: the next sweep tries again
                    log.exception("settlement_failed", sale_id=sale_id)
        for settled, clawed in results:
            counts["settled"] += settled
            counts["clawed_back"] += clawed
    return counts


def _settle_sales(sale_ids: list[int], *, now: dt.datetime) -> tuple[int, int]:
    """Settle the due entries of these sales in one transaction: (settled, clawed back)."""
    with transaction.atomic():
        sales = list(
            Sale.objects.select_for_update(skip_locked=True)
            .filter(pk__in=sale_ids, fraud_hold=False)
            .order_by("pk")
        )
        if not sales:
            return 0, 0
        due: dict[int, list[Entry]] = {sale.pk: [] for sale in sales}
        rows = Entry.objects.select_for_update().filter(
            sale__in=sales, status=EntryStatus.PENDING, settle_after__lte=now
        )
        for entry in rows.order_by("id"):
            due[entry.sale_id].append(entry)
        lines = line_queries.statuses_of(line_ids=[s.line_id for s in sales if s.line_id])
        ready: list[Entry] = []
        clawed = 0
        for sale in sales:
            if sale.status == SaleState.ENDED:
                clawed += clawback(sale, reason="线路已结束", now=now)
                continue
            good = not sale.ever_arrears and lines.get(sale.line_id) == "ACTIVE"
            mine = [e for e in due[sale.pk] if good or not _needs_good_standing(e)]
            ready += mine
            if len(mine) < len(due[sale.pk]):
                # 次月返 whose condition failed: only those entries go back.
                keys = [e.key for e in due[sale.pk] if e not in mine]
                clawed += clawback(sale, reason="次月未保持正常在网", now=now, keys=keys)
        if ready:
            _move(ready, to=EntryStatus.SETTLED, now=now)
    return len(ready), clawed


def _needs_good_standing(entry: Entry) -> bool:
    """次月返 (and the parent's share of it) is paid only for a line still ACTIVE and never in
    arrears when it settles."""
    return entry.kind == Kind.NEXT_MONTH or (
        entry.kind == Kind.OVERRIDE and entry.key.startswith(f"{Kind.NEXT_MONTH}:")
    )


def release_due(*, now: dt.datetime, limit: int = 1000, batch: int = 500) -> int:
    """SETTLED entries past the cool-down become WITHDRAWABLE, ``batch`` per transaction, at
    most ``limit``. Each batch is picked and locked by one statement that skips the rows
    another sweep holds, so several sweeps share the work."""
    done = 0
    while done < limit:
        with transaction.atomic():
            entries = list(
                Entry.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(
                    status=EntryStatus.SETTLED, withdrawable_at__lte=now, sale__fraud_hold=False
                )
                .order_by("withdrawable_at", "id")[: min(batch, limit - done)]
            )
            if not entries:
                break
            _move(entries, to=EntryStatus.WITHDRAWABLE, now=now)
        done += len(entries)
    return done
