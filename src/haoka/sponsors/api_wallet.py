"""The sponsor's wallet: its balance and what its campaigns hold, and top-ups through the
payment gateway (as a line's top-up: pay at ``pay_url``, the money arrives when the payment
succeeds)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.core import clock
from haoka.core.money import format_fen
from haoka.core.schema_types import Fen
from haoka.sponsors import wallet
from haoka.sponsors.api import sponsor_caller
from haoka.sponsors.domain import TOPUP_MACHINE
from haoka.sponsors.models import SponsorTopUp

router = Router(tags=["sponsors"], auth=sponsor_caller)


class WalletOut(Schema):
    sponsor_id: str
    balance_fen: int = Field(..., description="可用余额（分）")
    balance: str
    held_fen: int = Field(..., description="活动预算占用（分）")
    held: str
    low_balance_fen: int


class TopUpIn(Schema):
    amount_fen: Fen = Field(..., description="充值金额（分），¥100–¥1,000,000")
    method: str = Field(..., max_length=20, description="wechat | alipay")


class TopUpOut(Schema):
    ref: str
    amount_fen: int
    amount: str
    method: str
    status: str
    status_label: str
    pay_url: str
    created_at: dt.datetime
    paid_at: dt.datetime | None


def _topup(t: SponsorTopUp) -> dict:
    return {
        "ref": t.ref, "amount_fen": t.amount_fen, "amount": format_fen(t.amount_fen),
        "method": t.method.lower(), "status": t.status,
        "status_label": TOPUP_MACHINE.label(t.status), "pay_url": t.pay_url,
        "created_at": t.created_at, "paid_at": t.paid_at,
    }  # fmt: skip


@router.get("/sponsor/wallet", response=WalletOut)
def get_wallet(request):
    """The wallet's free money and what the sponsor's campaigns hold."""
    s = request.sponsor
    balance = wallet.balance_fen(sponsor_id=s.sponsor_id)
    held = wallet.held_fen(sponsor_id=s.sponsor_id)
    return {
        "sponsor_id": s.sponsor_id, "balance_fen": balance, "balance": format_fen(balance),
        "held_fen": held, "held": format_fen(held), "low_balance_fen": s.low_balance_fen,
    }  # fmt: skip


@router.post("/sponsor/topups", response={201: TopUpOut})
def start_topup(request, body: TopUpIn):
    """Top up the wallet: pay at ``pay_url``; the money arrives when the payment succeeds."""
    topup = wallet.start_topup(
        sponsor=request.sponsor,
        user_id=request.auth.pk,
        amount_fen=body.amount_fen,
        method=body.method,
        now=clock.now(),
    )
    return Status(201, _topup(topup))
