"""The ledger's small reads for other domains (keys posted, ids and codes, entries, cached
balances by prefix)."""

from __future__ import annotations

import pytest

from haoka.core import ledger
from haoka.core.ledger import Leg, UnknownAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallets():
    for code in ("w:1", "w:2", "w:3", "bank"):
        ledger.open_account(code=code, name=code, kind="LIABILITY", allow_negative=True)
    ledger.post(legs=[Leg("w:1", 300), Leg("bank", -300)], kind="t", memo="", key="k1")
    ledger.post(legs=[Leg("bank", 200), Leg("w:2", -200)], kind="t", memo="", key="k2")


def test_posted_tells_whether_a_key_was_used(wallets):
    assert ledger.posted(key="k1") is True
    assert ledger.posted(key="nope") is False


def test_account_id_and_code_of_are_inverse(wallets):
    pk = ledger.account_id(code="w:2")
    assert ledger.code_of(account_id=pk) == "w:2"
    with pytest.raises(UnknownAccount):
        ledger.account_id(code="missing")
    with pytest.raises(UnknownAccount):
        ledger.code_of(account_id=10**9)


def test_entries_of_an_account(wallets):
    amounts = sorted(ledger.entries(account="w:2").values_list("amount_fen", flat=True))
    assert amounts == [-200]
    assert ledger.entries(account="w:3").count() == 0


def test_cached_balances_above_filters_by_prefix_and_balance(wallets):
    assert ledger.cached_balances_above(prefix="w:", above_fen=0, limit=10) == [("w:1", 300)]
    assert ledger.cached_balances_above(prefix="w:", above_fen=-500, limit=10) == [
        ("w:1", 300),
        ("w:2", -200),
        ("w:3", 0),
    ]
    assert ledger.cached_balances_above(prefix="w:", above_fen=-500, limit=1) == [("w:1", 300)]
