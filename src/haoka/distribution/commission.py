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
import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from haoka.core import clock, ledger
from haoka.core.models import AccountKind
from haoka.distribution import domain
from haoka.distribution.domain import EntryStatus, Kind
from haoka.distribution.models import Entry, Inbox, Sale, SaleStatus

log = logging.getLogger(__name__)

EXPENSE = "expense:commission"
MARKUP_REVENUE = "revenue:shop_markup"
#: Where the customer's checkout money waits (owned by lines; the markup is taken from it).
PREPAYMENTS = "liability:customer_prepayments"

_STAGE_ACCOUNT = {
    EntryStatus.PENDING: "pending",
    EntryStatus.SETTLED: "settled",
    EntryStatus.WITHDRAWABLE: "withdrawable",
}


def account(agent_id: int, stage: str) -> str:
    """``stage``: pending | settled | withdrawable."""
    return f"liability:agent:{agent_id}:{stage}"


def open_agent_accounts(*, agent_id: int, code: str) -> None:
    for stage, label in (("pending", "待结算"), ("settled", "已结算"), ("withdrawable", "可提现")):
        ledger.open_account(
            code=account(agent_id, stage),
            name=f"代理 {code} 佣金（{label}）",
            kind=AccountKind.LIABILITY,
        )


def open_system_accounts() -> None:
    ledger.open_account(code=EXPENSE, name="代理佣金支出", kind=AccountKind.EXPENSE, busy=True)
    ledger.open_account(
        code=MARKUP_REVENUE, name="店铺加价收入", kind=AccountKind.REVENUE, busy=True
    )
    ledger.open_account(code=PREPAYMENTS, name="客户预收款", kind=AccountKind.LIABILITY, busy=True)


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
        log.exception("distribution inbox %s failed", inbox_id)
        Inbox.objects.filter(pk=inbox_id).update(attempts=F("attempts") + 1)


def process_due(*, now: dt.datetime, limit: int = 500) -> int:
    """Process facts left unprocessed (a crash, a failure): the sweep behind ``record``."""
    ids = list(
        Inbox.objects.filter(processed_at__isnull=True, attempts__lt=20)
        .order_by("at", "id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for inbox_id in ids:
        try:
            done += process(inbox_id=inbox_id, now=now)
        except Exception as exc:
            log.exception("distribution inbox %s failed", inbox_id)
            Inbox.objects.filter(pk=inbox_id).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:300]
            )
    return done


def process(*, inbox_id: int, now: dt.datetime) -> int:
    """Turn one fact into commission entries (or a clawback). Idempotent: a processed fact
    is skipped. Returns the number of entries written or clawed back."""
    with transaction.atomic():
        item = Inbox.objects.select_for_update().filter(pk=inbox_id).first()
        if item is None or item.processed_at is not None:
            return 0
        sale = Sale.objects.select_for_update().get(pk=item.sale_id)
        handler = _HANDLERS[item.kind]
        written = handler(sale, item.data, at=item.at, now=now)
        item.processed_at = now
        item.attempts += 1
        item.save(update_fields=["processed_at", "attempts"])
    return written


def _as_sale(sale: Sale) -> domain.Sale:
    return domain.Sale(
        order_ref=sale.order_ref,
        terms=domain.Terms.from_json(sale.terms),
        seller_tier=sale.seller_tier,
        has_parent=sale.parent_id is not None,
        committed_fen=sale.committed_fen,
    )


def _on_activated(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime) -> int:
    if sale.status != SaleStatus.OPEN:
        return 0
    sale.status = SaleStatus.ACTIVATED
    sale.line_id = data["line_id"]
    sale.activated_at = at
    sale.save(update_fields=["status", "line_id", "activated_at"])
    written = accrue(sale, domain.on_activation(_as_sale(sale), at=at), now=now)
    from haoka.distribution import fraud

    fraud.screen_sale(sale=sale, now=now)
    return written


class NotYet(Exception):
    """A fact about a line whose activation has not been processed yet: retried later."""


def _on_topup(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime) -> int:
    if sale.status == SaleStatus.OPEN:
        raise NotYet(sale.order_ref)
    if sale.first_topup_at is not None or sale.status != SaleStatus.ACTIVATED:
        return 0  # only the line's first top-up counts
    sale.first_topup_at = at
    sale.save(update_fields=["first_topup_at"])
    accruals = domain.on_first_topup(_as_sale(sale), amount_fen=data["amount_fen"], at=at)
    return accrue(sale, accruals, now=now)


def _on_monthly_fee(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime) -> int:
    if sale.status == SaleStatus.OPEN:
        raise NotYet(sale.order_ref)
    if sale.status != SaleStatus.ACTIVATED or sale.activated_at is None:
        return 0
    if data.get("arrears"):
        sale.ever_arrears = True
        sale.save(update_fields=["ever_arrears"])
        return clawback(sale, reason="欠费，结算前追回", now=now)
    month = dt.date.fromisoformat(data["month"])
    accruals = domain.on_monthly_fee(
        _as_sale(sale), activated_at=sale.activated_at, month=month, fee_fen=data["fee_fen"], at=at
    )
    return accrue(sale, accruals, now=now)


def _on_line_ended(sale: Sale, data: dict, *, at: dt.datetime, now: dt.datetime) -> int:
    reason = data.get("reason", "线路销户")
    if data.get("arrears"):
        sale.ever_arrears = True
        sale.save(update_fields=["ever_arrears"])
    else:
        sale.status = SaleStatus.ENDED
        sale.ended_at = at
        sale.save(update_fields=["status", "ended_at"])
    clawed = clawback(sale, reason=f"{reason}，结算前追回", now=now)
    if sale.status == SaleStatus.ENDED:
        from haoka.distribution import fraud

        fraud.watch_quick_exits(agent_id=sale.agent_id, now=now)
    return clawed


_HANDLERS = {
    "ACTIVATED": _on_activated,
    "TOPUP": _on_topup,
    "MONTHLY_FEE": _on_monthly_fee,
    "LINE_ENDED": _on_line_ended,
}


# ------------------------------------------------------------------------------ posting


def accrue(sale: Sale, accruals: list[domain.Accrual], *, now: dt.datetime) -> int:
    """Write each accrual as a PENDING entry with its own ledger transaction (all of them in a
    few statements), and count it against the sale's margin (the DB refuses a sale above it).
    Runs inside the caller's transaction with the sale locked. Returns the entries written."""
    wanted = [
        (acc, sale.agent_id if acc.to == "SELLER" else sale.parent_id)
        for acc in accruals
        if acc.amount_fen > 0
    ]
    wanted = [(acc, agent_id) for acc, agent_id in wanted if agent_id is not None]
    if not wanted:
        return 0
    seen = set(
        Entry.objects.filter(key__in=[acc.key for acc, _ in wanted]).values_list("key", flat=True)
    )
    wanted = [(acc, agent_id) for acc, agent_id in wanted if acc.key not in seen]
    postings: list[ledger.Posting] = []
    entries: list[Entry] = []
    for acc, agent_id in wanted:
        if acc.kind == Kind.MARKUP:  # the customer's money becomes platform revenue first
            postings.append(
                ledger.Posting(
                    legs=[
                        ledger.Leg(PREPAYMENTS, acc.amount_fen),
                        ledger.Leg(MARKUP_REVENUE, -acc.amount_fen),
                    ],
                    kind="distribution.markup_revenue",
                    memo=f"订单 {sale.order_ref} 店铺加价",
                    key=f"markup_revenue:{sale.order_ref}",
                )
            )
        postings.append(
            ledger.Posting(
                legs=[
                    ledger.Leg(EXPENSE, acc.amount_fen),
                    ledger.Leg(account(agent_id, "pending"), -acc.amount_fen),
                ],
                kind="distribution.accrue",
                memo=f"{domain.KIND_LABELS[acc.kind]} {sale.order_ref}",
                key=f"commission:{acc.key}",
            )
        )
        entries.append(
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
    Entry.objects.bulk_create(entries)
    ledger.post_many(postings=postings)
    sale.save(update_fields=["committed_fen"])
    return len(entries)


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
                    ledger.Leg(EXPENSE, -entry.amount_fen),
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


def settle_due(*, now: dt.datetime, limit: int = 1000) -> dict[str, int]:
    """PENDING entries past their hold: settled if the sale is in good standing (次月返 also
    needs the line ACTIVE and never in arrears), clawed back if not; sales under fraud review
    wait. Each sale in its own transaction."""
    sale_ids = list(
        Entry.objects.filter(
            status=EntryStatus.PENDING, settle_after__lte=now, sale__fraud_hold=False
        )
        .order_by("sale_id")
        .values_list("sale_id", flat=True)
        .distinct()[:limit]
    )
    counts = {"settled": 0, "clawed_back": 0}
    for sale_id in sale_ids:
        settled, clawed = _settle_sale(sale_id, now=now)
        counts["settled"] += settled
        counts["clawed_back"] += clawed
    return counts


def _line_active(line_id: int | None) -> bool:
    from haoka.lines import queries as line_queries

    return line_id is not None and line_queries.status_of(line_id=line_id) == "ACTIVE"


def _settle_sale(sale_id: int, *, now: dt.datetime) -> tuple[int, int]:
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=sale_id)
        if sale.fraud_hold:
            return 0, 0
        due = list(
            Entry.objects.select_for_update()
            .filter(sale=sale, status=EntryStatus.PENDING, settle_after__lte=now)
            .order_by("id")
        )
        if sale.status == SaleStatus.ENDED:
            return 0, clawback(sale, reason="线路已结束", now=now)
        good = not sale.ever_arrears and _line_active(sale.line_id)
        ready = [e for e in due if good or not _needs_good_standing(e)]
        if ready:
            _move(ready, to=EntryStatus.SETTLED, now=now)
        clawed = 0
        if not good and len(ready) < len(due):
            # 次月返 whose condition failed: only those entries go back.
            keys = [e.key for e in due if e.status == EntryStatus.PENDING]
            clawed = clawback(sale, reason="次月未保持正常在网", now=now, keys=keys)
    return len(ready), clawed


def _needs_good_standing(entry: Entry) -> bool:
    """次月返 (and the parent's share of it) is paid only for a line still ACTIVE and never in
    arrears when it settles."""
    return entry.kind == Kind.NEXT_MONTH or (
        entry.kind == Kind.OVERRIDE and entry.key.startswith(f"{Kind.NEXT_MONTH}:")
    )


def release_due(*, now: dt.datetime, limit: int = 1000, batch: int = 500) -> int:
    """SETTLED entries past the cool-down become WITHDRAWABLE (``batch`` per transaction)."""
    ids = list(
        Entry.objects.filter(
            status=EntryStatus.SETTLED, withdrawable_at__lte=now, sale__fraud_hold=False
        )
        .order_by("withdrawable_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            # Locked again and re-checked: moved or flagged since it was picked, it waits.
            entries = list(
                Entry.objects.select_for_update(of=("self",))
                .filter(
                    pk__in=ids[start : start + batch],
                    status=EntryStatus.SETTLED,
                    sale__fraud_hold=False,
                )
                .order_by("id")
            )
            if entries:
                _move(entries, to=EntryStatus.WITHDRAWABLE, now=now)
            done += len(entries)
    return done
