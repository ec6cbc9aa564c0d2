"""Double-entry ledger: money moves only as balanced transactions.

Conventions: an entry's ``amount_fen`` is positive for a debit and negative for a credit; the
entries of one transaction sum to zero, so the entries of the whole ledger sum to zero. Each
account caches its balance (sum of its entries) in the same database transaction, except busy
system accounts (see ``open_account(busy=True)``), whose balance is summed when read.

Units: every account holds one unit, decided by the chart from its code
(``accounts_chart.unit_of``: fen, bytes, points). A transaction's legs are all of one unit
(:class:`MixedUnits` otherwise), so each unit balances on its own (:func:`trial_balance`).
``amount_fen`` and ``balance_fen`` keep their names and hold the account's unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BigIntegerField, F, QuerySet, Sum, Value

from haoka.core import accounts_chart, bulk, clock, rows
from haoka.core.errors import Conflict, NotFound, ValidationError
from haoka.core.models import LedgerAccount, LedgerEntry, LedgerTransaction


class UnbalancedTransaction(ValidationError):
    code = "ledger_unbalanced"
    message = "记账分录借贷不平衡"


class MixedUnits(ValidationError):
    code = "ledger_mixed_units"
    message = "一笔交易的分录必须使用同一计量单位"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    message = "余额不足"


class LedgerKeyReused(Conflict):
    code = "ledger_key_reused"
    message = "该记账幂等键已用于另一笔不同的交易"


class UnknownAccount(NotFound):
    code = "ledger_account_not_found"
    message = "账户不存在"


@dataclass(frozen=True)
class Leg:
    """One side of a posting: account code and signed amount (debit +, credit -)."""

    account: str
    amount_fen: int


def _account(code: str) -> LedgerAccount | None:
    return rows.get(LedgerAccount, "t.code = %s", [code])


def _transaction_of(key: str) -> LedgerTransaction | None:
    return rows.get(LedgerTransaction, 't."key" = %s', [key])


def check_balanced(legs: Sequence[Leg]) -> None:
    """Raise UnbalancedTransaction unless legs are non-empty, non-zero integers summing to 0;
    MixedUnits when their accounts hold different units (fen and bytes)."""
    if len(legs) < 2:
        raise UnbalancedTransaction("一笔交易至少需要两条分录", legs=len(legs))
    for leg in legs:
        if not isinstance(leg.amount_fen, int) or isinstance(leg.amount_fen, bool):
            raise UnbalancedTransaction("金额必须是整数分", account=leg.account)
        if leg.amount_fen == 0:
            raise UnbalancedTransaction("分录金额不能为零", account=leg.account)
    units = {accounts_chart.unit_of(leg.account) for leg in legs}
    if len(units) > 1:
        raise MixedUnits(units=sorted(units), accounts=sorted({leg.account for leg in legs}))
    total = sum(leg.amount_fen for leg in legs)
    if total != 0:
        raise UnbalancedTransaction(total_fen=total)


def open_account(
    *, code: str, name: str, kind: str, allow_negative: bool = True, busy: bool = False
) -> LedgerAccount:
    """Create the account if it does not exist; return it either way. A ``busy`` account (one
    that most sales post to) keeps no cached balance, so concurrent postings never wait for
    each other on it; it must allow negative balances. Raises ValueError for a busy account
    that may not go negative."""
    if busy and not allow_negative:
        raise ValueError("a busy ledger account cannot refuse negative balances")
    account = _account(code)
    if account is None:
        account, _ = LedgerAccount.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "unit": accounts_chart.unit_of(code),
                "allow_negative": allow_negative,
                "cached_balance": not busy,
                "created_at": clock.now(),
            },
        )
    if busy and account.cached_balance:  # made before it was known to be busy
        LedgerAccount.objects.filter(pk=account.pk).update(cached_balance=False)
        account.cached_balance = False
    return account


def open_system_accounts(**_signal_kwargs) -> None:
    """Open every system account of the chart that does not exist yet (connected to
    ``post_migrate``: after ``migrate`` and after a ``flush``)."""
    for account in accounts_chart.SYSTEM_ACCOUNTS:
        open_account(code=account.code, name=account.name, kind=account.kind, busy=account.busy)


def post(
    *, legs: Sequence[Leg], kind: str, memo: str = "", key: str | None = None
) -> LedgerTransaction:
    """Post a balanced transaction atomically and update cached balances.

    With ``key``, a repeat of the same posting returns the first transaction unchanged.
    Raises UnbalancedTransaction, UnknownAccount, InsufficientBalance (an account that may not
    go negative would), LedgerKeyReused (same key, different posting).
    """
    check_balanced(legs)
    if connection.in_atomic_block:
        # Part of the caller's transaction: no savepoint (two statements) is needed, since
        # nothing below fails half-way but on an error of the database itself.
        return _post(legs=legs, kind=kind, memo=memo, key=key)
    with transaction.atomic():
        return _post(legs=legs, kind=kind, memo=memo, key=key)


def _post(*, legs: Sequence[Leg], kind: str, memo: str, key: str | None) -> LedgerTransaction:
    """The transaction's row first, keyed (a repeat, even a concurrent one, finds it there);
    then the balances, whose refusal takes the row back out; then the entries."""
    txn = rows.insert_new(
        LedgerTransaction(key=key, kind=kind, memo=memo[:300], created_at=clock.now()),
        conflict=("key",),
    )
    if txn is None:
        return _same_or_refuse(_transaction_of(key), legs=legs, kind=kind)
    try:
        accounts = _move_balances(legs)
    except (UnknownAccount, InsufficientBalance):
        # Nothing else was written: the caller may open the account (or top up) and post
        # again under the same key, inside the same transaction.
        rows.delete(LedgerTransaction, "id = %s", [txn.pk])
        raise
    rows.insert_many(
        [
            LedgerEntry(
                transaction=txn,
                account=accounts[leg.account],
                amount_fen=leg.amount_fen,
                created_at=txn.created_at,
            )
            for leg in legs
        ]
    )
    return txn


def _same_or_refuse(
    existing: LedgerTransaction, *, legs: Sequence[Leg], kind: str
) -> LedgerTransaction:
    """A repeat must be the same posting; a different one under the same key is a bug upstream."""
    posted = sorted(existing.entries.values_list("account__code", "amount_fen"))
    if existing.kind != kind or posted != sorted((leg.account, leg.amount_fen) for leg in legs):
        raise LedgerKeyReused(key=existing.key)
    return existing


@dataclass(frozen=True)
class Posting:
    """One transaction of a batch for :func:`post_many`."""

    legs: Sequence[Leg]
    kind: str
    memo: str = ""
    key: str | None = None


def post_many(*, postings: Sequence[Posting]) -> list[LedgerTransaction]:
    """Post several balanced transactions at once, each its own transaction with its own
    entries, in a handful of statements (one per account whose cached balance moves, one
    insert of the transactions, one of the entries): for batch work such as commission.

    Unlike :func:`post`, a key already used is not answered with the first transaction: the
    caller makes sure keys are new (under its own lock); the UNIQUE constraint still refuses a
    repeat (IntegrityError) and nothing of the batch is written. Raises
    UnbalancedTransaction, UnknownAccount, InsufficientBalance, IntegrityError."""
    if not postings:
        return []
    for posting in postings:
        check_balanced(posting.legs)
    with transaction.atomic():
        accounts = _move_balances([leg for p in postings for leg in p.legs])
        at = clock.now()
        txns = LedgerTransaction.objects.bulk_create(
            [
                LedgerTransaction(key=p.key, kind=p.kind, memo=p.memo[:300], created_at=at)
                for p in postings
            ]
        )
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction=txn,
                    account=accounts[leg.account],
                    amount_fen=leg.amount_fen,
                    created_at=at,
                )
                for txn, posting in zip(txns, postings, strict=True)
                for leg in posting.legs
            ]
        )
    return txns


def _move_balances(legs: Sequence[Leg]) -> dict[str, LedgerAccount]:
    """Lock-free for busy accounts; one conditional UPDATE for the others. Returns the
    accounts by code. Raises UnknownAccount, InsufficientBalance."""
    codes = sorted({leg.account for leg in legs})
    found = rows.select(LedgerAccount, rows.among("t.code", len(codes)), codes)
    accounts = {a.code: a for a in found}
    missing = [c for c in codes if c not in accounts]
    if missing:
        raise UnknownAccount(accounts=missing)
    deltas: dict[str, int] = {}
    for leg in legs:
        deltas[leg.account] = deltas.get(leg.account, 0) + leg.amount_fen
    # Busy accounts are not updated at all (summed on read); zero net moves need no write.
    moving = {
        accounts[code].pk: delta
        for code, delta in deltas.items()
        if delta and accounts[code].cached_balance
    }
    if moving:
        _update_cached(moving, accounts=accounts)
    return accounts


def _update_cached(moving: dict[int, int], *, accounts: dict[str, LedgerAccount]) -> None:
    """Move cached balances (account id -> delta), checking "may not go negative" under the
    row locks. One account: one conditional UPDATE. Several: their rows are locked in id
    order (two postings touching the same accounts cannot deadlock), checked, and moved by
    one UPDATE (a batch of many agents' commission would otherwise cost a statement per
    account). Raises InsufficientBalance."""
    by_id = {a.pk: a for a in accounts.values()}
    if len(moving) == 1:
        ((pk, delta),) = moving.items()
        rows = LedgerAccount.objects.filter(pk=pk)
        if not by_id[pk].allow_negative and delta < 0:
            rows = rows.filter(balance_fen__gte=-delta)
        # A bigint parameter: a plain int in ``F + n`` is bound as int4 on PostgreSQL, and a
        # BYTES account moves more than 2**31 at once (a 3 GB deposit).
        moved = Value(delta, output_field=BigIntegerField())
        if rows.update(balance_fen=F("balance_fen") + moved) != 1:
            raise InsufficientBalance(
                account=by_id[pk].code,
                balance_fen=LedgerAccount.objects.get(pk=pk).balance_fen,
                delta_fen=delta,
            )
        return
    locked = (
        LedgerAccount.objects.select_for_update()
        .filter(pk__in=sorted(moving))
        .order_by("pk")
        .values_list("pk", "balance_fen", "allow_negative")
    )
    for pk, balance, allow_negative in locked:
        if not allow_negative and balance + moving[pk] < 0:
            raise InsufficientBalance(
                account=by_id[pk].code, balance_fen=balance, delta_fen=moving[pk]
            )
    bulk.update_values(
        LedgerAccount, {pk: {"balance_fen": delta} for pk, delta in moving.items()}, add=True
    )


def balance_fen(*, account: str) -> int:
    """The balance of an account: cached, or summed from entries for a busy account.
    Raises UnknownAccount."""
    row = (
        LedgerAccount.objects.filter(code=account)
        .values_list("balance_fen", "cached_balance")
        .first()
    )
    if row is None:
        raise UnknownAccount(account=account)
    return row[0] if row[1] else recomputed_balance_fen(account=account)


def recomputed_balance_fen(*, account: str) -> int:
    """The balance summed from entries (for reconciliation against the cached column)."""
    total = LedgerEntry.objects.filter(account__code=account).aggregate(s=Sum("amount_fen"))["s"]
    return int(total or 0)


def trial_balance(*, unit: str) -> int:
    """Sum of every entry of the accounts holding ``unit``; always 0 for a healthy ledger."""
    found = LedgerEntry.objects.filter(account__unit=unit).aggregate(s=Sum("amount_fen"))
    return int(found["s"] or 0)


def trial_balances() -> dict[str, int]:
    """Each unit's trial balance (units with no entries left out); all 0 when healthy."""
    rows = LedgerEntry.objects.values("account__unit").annotate(s=Sum("amount_fen")).order_by()
    return {r["account__unit"]: int(r["s"]) for r in rows}


def trial_balance_fen() -> int:
    """Sum of every money entry (FEN accounts) in the ledger; always 0 for a healthy ledger."""
    return trial_balance(unit=accounts_chart.LedgerUnit.FEN)


def unbalanced_transactions() -> list[int]:
    """Ids of transactions whose entries do not sum to zero (should always be empty)."""
    rows = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(s=Sum("amount_fen"))
        .exclude(s=0)
        .order_by("transaction_id")
    )
    return [r["transaction_id"] for r in rows]


# ------------------------------------------------------------------ reads for other domains


def posted(*, key: str) -> bool:
    """Whether a transaction with this idempotency key has been posted."""
    return LedgerTransaction.objects.filter(key=key).exists()


def account_id(*, code: str) -> int:
    """The id of the account with this code. Raises UnknownAccount."""
    found = LedgerAccount.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise UnknownAccount(account=code)
    return found


def code_of(*, account_id: int) -> str:
    """The code of the account with this id. Raises UnknownAccount."""
    found = LedgerAccount.objects.filter(pk=account_id).values_list("code", flat=True).first()
    if found is None:
        raise UnknownAccount(account_id=account_id)
    return found


def entries(*, account: str) -> QuerySet[LedgerEntry]:
    """The entries of an account (debit +, credit -), as a query to filter and aggregate."""
    return LedgerEntry.objects.filter(account__code=account)


def cached_balances_above(*, prefix: str, above_fen: int, limit: int) -> list[tuple[str, int]]:
    """(code, cached balance) of the accounts whose code starts with ``prefix`` and whose
    cached balance is above ``above_fen``, oldest account first, at most ``limit`` (for
    accounts of owners, e.g. wallets, whose balance is cached)."""
    found = LedgerAccount.objects.filter(code__startswith=prefix, balance_fen__gt=above_fen)
    return list(found.order_by("id").values_list("code", "balance_fen")[:limit])
