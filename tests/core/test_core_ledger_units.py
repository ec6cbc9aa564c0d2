"""Ledger units: each account holds one unit decided by the chart (fen, bytes, points); a
posting never mixes units, and each unit balances on its own."""

from __future__ import annotations

import pytest

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.ledger import Leg, MixedUnits
from haoka.core.models import LedgerAccount, LedgerTransaction

pytestmark = pytest.mark.django_db


def test_the_chart_decides_an_accounts_unit_by_its_code():
    assert chart.unit_of("liability:wallet:line:7") == "FEN"
    assert chart.unit_of(chart.data_bank(line_id=7)) == "BYTES"
    assert chart.unit_of(chart.DATA_ON_BUCKETS) == "BYTES"
    assert chart.unit_of(chart.DATA_BANK_EXPIRED) == "BYTES"
    assert chart.unit_of("points_member:7") == "POINTS"


def test_accounts_are_opened_in_their_charts_unit():
    ledger.open_account(code="data_bank:1", name="bank", kind="LIABILITY")
    ledger.open_account(code="asset:test", name="test", kind="ASSET")
    units = dict(LedgerAccount.objects.values_list("code", "unit"))
    assert units["data_bank:1"] == "BYTES" and units["asset:test"] == "FEN"
    assert units[chart.DATA_ON_BUCKETS] == "BYTES"  # system accounts, opened by migration


def test_a_posting_that_mixes_bytes_and_fen_is_refused_before_anything_is_written():
    ledger.open_account(code="data_bank:1", name="bank", kind="LIABILITY")
    before = LedgerTransaction.objects.count()
    with pytest.raises(MixedUnits) as refused:
        ledger.post(legs=[Leg("data_bank:1", -100), Leg(chart.USAGE_REVENUE, 100)], kind="x")
    assert refused.value.code == "ledger_mixed_units"
    assert LedgerTransaction.objects.count() == before


def test_a_batch_refuses_a_posting_that_mixes_units():
    postings = [
        ledger.Posting(legs=[Leg(chart.DATA_ON_BUCKETS, 5), Leg(chart.NUMBER_SALES, -5)], kind="x")
    ]
    with pytest.raises(MixedUnits):
        ledger.post_many(postings=postings)


def test_each_unit_balances_on_its_own_and_the_fen_trial_balance_keeps_its_meaning():
    ledger.open_account(code="data_bank:1", name="bank", kind="LIABILITY")
    ledger.open_account(code="asset:test", name="test", kind="ASSET")
    ledger.post(legs=[Leg(chart.DATA_ON_BUCKETS, 1024), Leg("data_bank:1", -1024)], kind="dep")
    ledger.post(legs=[Leg("asset:test", 300), Leg(chart.NUMBER_SALES, -300)], kind="sale")
    assert ledger.balance_fen(account="data_bank:1") == -1024  # bytes, in the same column
    assert ledger.trial_balance(unit="BYTES") == 0 and ledger.trial_balance_fen() == 0
    assert ledger.trial_balances() == {"BYTES": 0, "FEN": 0}
    assert ledger.unbalanced_transactions() == []


def test_a_trial_balance_of_a_unit_counts_only_that_units_entries():
    ledger.open_account(code="data_bank:1", name="bank", kind="LIABILITY")
    txn = ledger.post(
        legs=[Leg(chart.DATA_ON_BUCKETS, 1024), Leg("data_bank:1", -1024)], kind="dep"
    )
    txn.entries.filter(account__code="data_bank:1").update(amount_fen=-1000)  # corrupt it
    assert ledger.trial_balance(unit="BYTES") == 24
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == [txn.pk]


def test_a_bytes_posting_beyond_two_to_the_31_keeps_its_cached_balance_exact():
    # PostgreSQL binds a plain int in ``F + n`` as int4: 3 GB would wrap around.
    ledger.open_account(code="data_bank:1", name="bank", kind="LIABILITY")
    three_gb = 3 * 1024**3
    ledger.post(
        legs=[Leg(chart.DATA_ON_BUCKETS, three_gb), Leg("data_bank:1", -three_gb)], kind="d"
    )
    ledger.post(legs=[Leg("data_bank:1", 1024**3), Leg(chart.DATA_ON_BUCKETS, -(1024**3))],
                kind="w")  # fmt: skip
    assert ledger.balance_fen(account="data_bank:1") == -2 * 1024**3
    assert ledger.recomputed_balance_fen(account="data_bank:1") == -2 * 1024**3
