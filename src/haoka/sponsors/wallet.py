"""A sponsor's wallet on the ledger: its prepaid money (``liability:sponsor:<id>``, may not
go negative) and the money its campaigns hold (``liability:sponsor_held:<id>``); top-ups
through the payment gateway (purpose SPONSOR_TOPUP, as a line's top-up); the low-balance
alert; the wholesale cost of data per carrier.

Both accounts are liabilities: a credit balance is the sponsor's money, shown positive."""

from __future__ import annotations

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.accounts_chart import AccountKind
from haoka.sponsors.models import Sponsor


def open_accounts(*, sponsor: Sponsor) -> None:
    """Open the sponsor's two ledger accounts (idempotent). The held account is posted to by
    every settled slice of every campaign of the sponsor: it keeps no cached balance, so
    settlements never wait for each other on it (``core.ledger.open_account(busy=True)``)."""
    ledger.open_account(
        code=chart.sponsor_wallet(sponsor_id=sponsor.sponsor_id),
        name=f"后向客户预付款 {sponsor.sponsor_id}",
        kind=AccountKind.LIABILITY,
        allow_negative=False,
    )
    ledger.open_account(
        code=chart.sponsor_held(sponsor_id=sponsor.sponsor_id),
        name=f"后向客户活动预算 {sponsor.sponsor_id}",
        kind=AccountKind.LIABILITY,
        busy=True,
    )


def balance_fen(*, sponsor_id: str) -> int:
    """The wallet's money (free to fund campaigns)."""
    return -ledger.balance_fen(account=chart.sponsor_wallet(sponsor_id=sponsor_id))


def held_fen(*, sponsor_id: str) -> int:
    """The money the sponsor's campaigns hold (unsliced budget and open slices)."""
    return -ledger.balance_fen(account=chart.sponsor_held(sponsor_id=sponsor_id))
