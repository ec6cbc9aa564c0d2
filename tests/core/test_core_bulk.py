"""Writing many rows in one UPDATE: every kind of value lands as the ORM would save it (text,
integers, booleans, aware datetimes and NULL), ``add`` adds to the column, other rows and
fields stay as they were; the ledger uses it to move many cached balances at once."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.core import bulk, clock, ledger
from haoka.core.ledger import InsufficientBalance, Leg
from haoka.core.models import LedgerAccount, LedgerTransaction

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 2, 28, 16, 0, 0, 123456, tzinfo=dt.UTC)  # midnight, 1 March, Beijing


def _accounts(n: int) -> list[LedgerAccount]:
    return [ledger.open_account(code=f"acct:{i}", name=f"账户{i}", kind="ASSET") for i in range(n)]


def test_rows_are_saved_with_each_kind_of_value_in_one_statement(django_assert_num_queries):
    rows = _accounts(3)
    untouched = rows.pop()
    for i, row in enumerate(rows):
        row.name, row.balance_fen, row.allow_negative = f"改名{i} 'quoted'", 10**15 + i, False
        row.created_at = AT + dt.timedelta(days=i)
    with django_assert_num_queries(1):
        assert (
            bulk.update_rows(
                LedgerAccount, rows, ["name", "balance_fen", "allow_negative", "created_at"]
            )
            == 2
        )
    fresh = {a.pk: a for a in LedgerAccount.objects.all()}
    for i, row in enumerate(rows):
        got = fresh[row.pk]
        assert (got.name, got.balance_fen, got.allow_negative) == (
            f"改名{i} 'quoted'",
            10**15 + i,
            False,
        )
        assert got.created_at == AT + dt.timedelta(days=i)
        assert got.code == row.code  # a field not named stays
    assert fresh[untouched.pk].name == untouched.name and fresh[untouched.pk].balance_fen == 0


def test_a_nullable_column_can_be_set_to_null_and_back():
    txns = [
        LedgerTransaction.objects.create(key=f"k{i}", kind="x", created_at=clock.now())
        for i in range(2)
    ]
    assert (
        bulk.update_values(LedgerTransaction, {txns[0].pk: {"key": None}, txns[1].pk: {"key": "n"}})
        == 2
    )
    assert dict(LedgerTransaction.objects.values_list("pk", "key")) == {
        txns[0].pk: None,
        txns[1].pk: "n",
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deltas=st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=12))
def test_adding_to_many_rows_moves_each_by_its_own_amount(deltas):
    LedgerAccount.objects.all().delete()
    rows = _accounts(len(deltas))
    bulk.update_values(
        LedgerAccount,
        {r.pk: {"balance_fen": d} for r, d in zip(rows, deltas, strict=True)},
        add=True,
    )
    bulk.update_values(LedgerAccount, {rows[0].pk: {"balance_fen": 1}}, add=True)
    got = dict(LedgerAccount.objects.values_list("pk", "balance_fen"))
    assert [got[r.pk] for r in rows] == [deltas[0] + 1, *deltas[1:]]


def test_a_batch_over_many_cached_accounts_moves_each_once_and_an_overdraft_anywhere_moves_none():
    rows = _accounts(5)
    ledger.open_account(code="strict", name="s", kind="ASSET", allow_negative=False)
    ledger.open_account(code="source", name="s", kind="ASSET")
    ledger.post_many(
        postings=[
            ledger.Posting(
                legs=[Leg(r.code, 100 * (i + 1)), Leg("source", -100 * (i + 1))], kind="x"
            )
            for i, r in enumerate(rows)
        ]
        + [ledger.Posting(legs=[Leg("strict", 10), Leg(rows[0].code, -10)], kind="x")]
    )
    assert [ledger.balance_fen(account=r.code) for r in rows] == [90, 200, 300, 400, 500]
    assert ledger.balance_fen(account="strict") == 10
    with pytest.raises(InsufficientBalance) as refused:
        ledger.post_many(
            postings=[
                ledger.Posting(legs=[Leg(rows[1].code, 1), Leg(rows[2].code, -1)], kind="x"),
                ledger.Posting(legs=[Leg(rows[3].code, 6), Leg("strict", -6)], kind="x"),
                ledger.Posting(legs=[Leg(rows[4].code, 6), Leg("strict", -6)], kind="x"),
            ]
        )
    assert refused.value.details["account"] == "strict"
    assert [ledger.balance_fen(account=r.code) for r in rows] == [90, 200, 300, 400, 500]
    assert ledger.balance_fen(account="strict") == 10
    assert ledger.trial_balance_fen() == 0
