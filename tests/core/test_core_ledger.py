"""Double-entry ledger: balanced postings only, cached balances kept, nothing half-written."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.core import clock, ledger
from haoka.core.ledger import InsufficientBalance, Leg, UnbalancedTransaction, UnknownAccount
from haoka.core.models import LedgerAccount, LedgerEntry, LedgerTransaction

pytestmark = pytest.mark.django_db


def _open(code: str, *, allow_negative: bool = True) -> LedgerAccount:
    return ledger.open_account(code=code, name=code, kind="ASSET", allow_negative=allow_negative)


def _counts() -> tuple[int, int]:
    return LedgerTransaction.objects.count(), LedgerEntry.objects.count()


@pytest.fixture
def accounts():
    _open("bank")
    _open("wallet", allow_negative=False)
    ledger.open_account(code="revenue", name="收入", kind="REVENUE")


def test_opening_an_account_twice_returns_the_first_one():
    first = _open("bank")
    again = ledger.open_account(code="bank", name="other", kind="EXPENSE", allow_negative=False)
    assert again.pk == first.pk
    assert (again.name, again.kind, again.allow_negative) == ("bank", "ASSET", True)


def test_a_balanced_posting_writes_its_entries_and_updates_cached_balances(accounts):
    txn = ledger.post(legs=[Leg("wallet", 500), Leg("bank", -500)], kind="topup", memo="充值")
    assert sorted(txn.entries.values_list("account__code", "amount_fen")) == [
        ("bank", -500),
        ("wallet", 500),
    ]
    assert ledger.balance_fen(account="wallet") == 500
    assert ledger.balance_fen(account="bank") == -500
    assert ledger.recomputed_balance_fen(account="wallet") == 500
    assert ledger.trial_balance_fen() == 0


def test_a_posting_may_have_more_than_two_legs(accounts):
    ledger.post(legs=[Leg("wallet", 1000), Leg("bank", -1200), Leg("revenue", 200)], kind="split")
    assert ledger.balance_fen(account="revenue") == 200
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []


@pytest.mark.parametrize(
    "legs",
    [
        [Leg("wallet", 500), Leg("bank", -499)],  # unbalanced
        [Leg("wallet", 500)],  # single leg
        [],  # nothing
        [Leg("wallet", 0), Leg("bank", 0)],  # zero legs sum to zero but say nothing
        [Leg("wallet", 500), Leg("bank", -500), Leg("revenue", 0)],
        [Leg("wallet", 1.5), Leg("bank", -1.5)],  # type: ignore[arg-type]
        [Leg("wallet", True), Leg("bank", -1)],  # type: ignore[arg-type]
    ],
    ids=["unbalanced", "single-leg", "empty", "all-zero", "one-zero", "float", "bool"],
)
def test_an_ill_formed_posting_is_refused_and_writes_nothing(accounts, legs):
    with pytest.raises(UnbalancedTransaction) as exc:
        ledger.post(legs=legs, kind="bad")
    assert exc.value.code == "ledger_unbalanced"
    assert _counts() == (0, 0)
    assert ledger.balance_fen(account="wallet") == 0


def test_a_posting_to_an_unknown_account_is_refused_and_writes_nothing(accounts):
    with pytest.raises(UnknownAccount) as exc:
        ledger.post(legs=[Leg("wallet", 100), Leg("nowhere", -100)], kind="x")
    assert exc.value.details == {"accounts": ["nowhere"]}
    assert _counts() == (0, 0)
    assert ledger.balance_fen(account="wallet") == 0


def test_asking_the_balance_of_an_unknown_account_is_refused():
    with pytest.raises(UnknownAccount):
        ledger.balance_fen(account="nowhere")


def test_a_repeated_key_returns_the_first_transaction_and_posts_once(accounts):
    first = ledger.post(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="topup", key="pay-1")
    again = ledger.post(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="topup", key="pay-1")
    assert again.pk == first.pk
    assert _counts() == (1, 2)
    assert ledger.balance_fen(account="wallet") == 300


def test_a_different_key_posts_again(accounts):
    ledger.post(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="topup", key="pay-1")
    ledger.post(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="topup", key="pay-2")
    assert ledger.balance_fen(account="wallet") == 600


def test_an_account_that_may_not_go_negative_refuses_an_overdraft_and_nothing_is_written(accounts):
    ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="topup")
    before = _counts()
    with pytest.raises(InsufficientBalance) as exc:
        ledger.post(legs=[Leg("wallet", -101), Leg("revenue", 101)], kind="spend")
    assert exc.value.code == "insufficient_balance"
    assert exc.value.status == 409
    assert exc.value.details == {"account": "wallet", "balance_fen": 100, "delta_fen": -101}
    assert _counts() == before
    assert ledger.balance_fen(account="wallet") == 100
    assert ledger.balance_fen(account="revenue") == 0


def test_spending_a_non_negative_account_down_to_exactly_zero_is_allowed(accounts):
    ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="topup")
    ledger.post(legs=[Leg("wallet", -100), Leg("revenue", 100)], kind="spend")
    assert ledger.balance_fen(account="wallet") == 0


def test_the_overdraft_check_nets_several_legs_on_one_account(accounts):
    # -150 then +100 on the same account nets to -50 from 100: allowed.
    ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="topup")
    ledger.post(legs=[Leg("wallet", -150), Leg("wallet", 100), Leg("revenue", 50)], kind="net")
    assert ledger.balance_fen(account="wallet") == 50
    assert ledger.recomputed_balance_fen(account="wallet") == 50


def test_the_database_refuses_a_negative_balance_written_directly(accounts):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(code="wallet").update(balance_fen=-1)
    assert ledger.balance_fen(account="wallet") == 0


def test_the_database_refuses_a_zero_entry_written_directly(accounts):
    txn = ledger.post(legs=[Leg("wallet", 1), Leg("bank", -1)], kind="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(transaction=txn).update(amount_fen=0)


def test_a_negative_balance_is_fine_for_an_account_that_allows_it(accounts):
    LedgerAccount.objects.filter(code="bank").update(balance_fen=-10)
    assert ledger.balance_fen(account="bank") == -10


def test_a_tampered_entry_shows_in_trial_balance_and_unbalanced_transactions(accounts):
    txn = ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="x")
    LedgerEntry.objects.filter(transaction=txn, account__code="wallet").update(amount_fen=101)
    assert ledger.trial_balance_fen() == 1
    assert ledger.unbalanced_transactions() == [txn.pk]


# --- property: random sequences of postings keep the ledger consistent -------------------------

CODES = ["cash", "bank", "wallet:a", "wallet:b"]
NON_NEGATIVE = {"wallet:a", "wallet:b"}

legs_strategy = st.lists(
    st.tuples(st.sampled_from(CODES), st.integers(min_value=-5_000, max_value=5_000).filter(bool)),
    min_size=1,
    max_size=3,
)


def _balanced(raw: list[tuple[str, int]], closing: str) -> list[Leg]:
    """Close the generated legs with one more leg on ``closing`` so they sum to zero."""
    legs = [Leg(code, amount) for code, amount in raw]
    rest = -sum(amount for _, amount in raw)
    if rest:
        legs.append(Leg(closing, rest))
    return legs


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(postings=st.lists(st.tuples(legs_strategy, st.sampled_from(CODES)), max_size=15))
def test_random_postings_keep_the_ledger_balanced_and_caches_true(db, postings):
    with transaction.atomic():
        for code in CODES:
            _open(code, allow_negative=code not in NON_NEGATIVE)
        expected = dict.fromkeys(CODES, 0)
        for raw, closing in postings:
            legs = _balanced(raw, closing)
            before = _counts()
            try:
                ledger.post(legs=legs, kind="random")
            except UnbalancedTransaction:
                assert len(legs) < 2
                assert _counts() == before
                continue
            except InsufficientBalance:
                assert _counts() == before
                continue
            for leg in legs:
                expected[leg.account] += leg.amount_fen

        assert ledger.trial_balance_fen() == 0
        assert ledger.unbalanced_transactions() == []
        for code in CODES:
            cached = ledger.balance_fen(account=code)
            assert cached == ledger.recomputed_balance_fen(account=code) == expected[code]
            if code in NON_NEGATIVE:
                assert cached >= 0
        transaction.set_rollback(True)  # each example starts from an empty ledger


def test_a_busy_account_keeps_no_cached_balance_and_its_balance_is_summed(accounts):
    ledger.open_account(code="gateway", name="网关", kind="ASSET", busy=True)
    ledger.post(legs=[Leg("gateway", 700), Leg("bank", -700)], kind="pay", key="p1")
    ledger.post(legs=[Leg("gateway", -200), Leg("bank", 200)], kind="refund", key="r1")
    row = LedgerAccount.objects.get(code="gateway")
    assert (row.cached_balance, row.balance_fen) == (False, 0)  # the row itself never moved
    assert (
        ledger.balance_fen(account="gateway")
        == 500
        == ledger.recomputed_balance_fen(account="gateway")
    )
    assert ledger.balance_fen(account="bank") == -500 and ledger.trial_balance_fen() == 0


def test_an_account_opened_as_busy_later_switches_to_summed_balances(accounts):
    ledger.post(legs=[Leg("revenue", -300), Leg("bank", 300)], kind="sale")
    ledger.open_account(code="revenue", name="收入", kind="REVENUE", busy=True)
    ledger.post(legs=[Leg("revenue", -100), Leg("bank", 100)], kind="sale")
    assert ledger.balance_fen(account="revenue") == -400


def test_a_busy_account_must_allow_negative_balances():
    with pytest.raises(ValueError):
        ledger.open_account(code="x", name="x", kind="ASSET", busy=True, allow_negative=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(
            code="y", name="y", kind="ASSET", allow_negative=False, cached_balance=False,
            created_at=clock.now(),
        )  # fmt: skip


def test_a_batch_of_postings_writes_each_as_its_own_transaction_with_cached_balances(accounts):
    txns = ledger.post_many(
        postings=[
            ledger.Posting(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="a", key="b1"),
            ledger.Posting(legs=[Leg("wallet", 200), Leg("revenue", -200)], kind="b", key="b2"),
        ]
    )
    assert [t.key for t in txns] == ["b1", "b2"]
    assert sorted(txns[1].entries.values_list("account__code", "amount_fen")) == [
        ("revenue", -200),
        ("wallet", 200),
    ]
    assert ledger.balance_fen(account="wallet") == 500
    assert ledger.recomputed_balance_fen(account="wallet") == 500
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []


def test_a_batch_with_a_used_key_or_an_overdraft_writes_nothing(accounts):
    ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="seed", key="used")
    before = _counts()
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post_many(
            postings=[
                ledger.Posting(legs=[Leg("wallet", 1), Leg("bank", -1)], kind="x", key="new"),
                ledger.Posting(legs=[Leg("wallet", 1), Leg("bank", -1)], kind="x", key="used"),
            ]
        )
    with pytest.raises(InsufficientBalance):
        ledger.post_many(
            postings=[
                ledger.Posting(legs=[Leg("bank", 50), Leg("wallet", -50)], kind="x"),
                ledger.Posting(legs=[Leg("bank", 60), Leg("wallet", -60)], kind="x"),
            ]
        )
    assert _counts() == before
    assert ledger.balance_fen(account="wallet") == 100


def test_an_unbalanced_posting_in_a_batch_is_refused_before_anything_is_written(accounts):
    with pytest.raises(UnbalancedTransaction):
        ledger.post_many(
            postings=[
                ledger.Posting(legs=[Leg("wallet", 1), Leg("bank", -1)], kind="x"),
                ledger.Posting(legs=[Leg("wallet", 2), Leg("bank", -1)], kind="x"),
            ]
        )
    assert _counts() == (0, 0)


def test_inside_a_callers_transaction_a_posting_takes_no_savepoint(accounts):
    with transaction.atomic(), CaptureQueriesContext(connection) as seen:
        ledger.post(legs=[Leg("wallet", 300), Leg("bank", -300)], kind="topup", key="k-sp")
    assert not [q for q in seen.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert ledger.balance_fen(account="wallet") == 300


def test_a_refused_posting_inside_a_callers_transaction_leaves_nothing_and_may_be_posted_again(
    accounts,
):
    with transaction.atomic():
        with pytest.raises(InsufficientBalance):
            ledger.post(legs=[Leg("wallet", -100), Leg("revenue", 100)], kind="spend", key="k1")
        assert _counts() == (0, 0)
        # the caller tops up and posts again under the same key, in the same transaction
        ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="topup")
        ledger.post(legs=[Leg("wallet", -100), Leg("revenue", 100)], kind="spend", key="k1")
    assert _counts() == (2, 4)
    assert ledger.balance_fen(account="wallet") == 0
    assert ledger.trial_balance_fen() == 0


def test_a_posting_to_an_unknown_account_inside_a_callers_transaction_can_follow_its_opening(
    accounts,
):
    legs = [Leg("bank", 100), Leg("later", -100)]
    with transaction.atomic():
        with pytest.raises(UnknownAccount):
            ledger.post(legs=legs, kind="x", key="k-open")
        ledger.open_account(code="later", name="later", kind="LIABILITY")
        first = ledger.post(legs=legs, kind="x", key="k-open")
    assert ledger.post(legs=legs, kind="x", key="k-open").pk == first.pk
    assert _counts() == (1, 2)


def test_a_repeated_key_with_another_posting_is_refused_inside_a_callers_transaction(accounts):
    with transaction.atomic():
        ledger.post(legs=[Leg("wallet", 100), Leg("bank", -100)], kind="topup", key="k2")
        with pytest.raises(ledger.LedgerKeyReused):
            ledger.post(legs=[Leg("wallet", 200), Leg("bank", -200)], kind="topup", key="k2")
    assert ledger.balance_fen(account="wallet") == 100
