"""流量控 over the API: gifts of data to another line (转赠, confirmed by an SMS code to the
giving line's own number), the line's data bank (流量银行) and the history of every movement.

Only the line's owner (a consumer session) may move its data; staff may read. Anyone else's
line answers 404. POSTs take an ``Idempotency-Key`` (kept on the gift, lot or withdrawal
too: the same key is the same movement even after the API's 24-hour replay window).
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.charging import databank, dataflow, gifts, movements
from haoka.charging.api_money import line_of
from haoka.charging.models import DataBankLot, DataGift
from haoka.core import clock, idempotency
from haoka.core.clientip import client_ip
from haoka.core.pii import mask_phone
from haoka.core.schema_types import Count, Id
from haoka.lines import queries as line_queries

router = Router(tags=["lines"], auth=bearer)
BASE = "/lines/{msisdn}"


class GiftIn(Schema):
    to_msisdn: str = Field(..., max_length=11, description="受赠号码（本平台的正常号码）")
    megabytes: Count = Field(..., description="转赠流量（MB），至少 100MB")


class GiftConfirmIn(Schema):
    code: str = Field(..., max_length=10, description="发送到转出号码的短信验证码")


class GiftOut(Schema):
    gift_id: int
    status: str
    status_label: str
    amount_bytes: int
    data: str
    to_msisdn: str  # masked
    expires_at: dt.datetime
    done_at: dt.datetime | None
    failure: str


class BankIn(Schema):
    megabytes: Count = Field(..., description="流量（MB），至少 100MB")


class LotOut(Schema):
    id: int
    amount_bytes: int
    remaining_bytes: int
    deposited_at: dt.datetime
    expires_at: dt.datetime


class MovementOut(Schema):
    id: int
    kind: str
    label: str
    amount_bytes: int
    data: str
    lapsed_bytes: int
    direction: int
    counterpart: str  # masked
    text: str
    gift_id: int | None
    created_at: dt.datetime


class MovementPage(Schema):
    items: list[MovementOut]
    next: str | None


class WithdrawalOut(Schema):
    id: int
    amount_bytes: int
    data: str
    bucket_id: int | None
    created_at: dt.datetime


class BankOut(Schema):
    balance_bytes: int
    balance: str
    lots: list[LotOut]
    history: list[MovementOut]


def _gift(g: DataGift, to_msisdn: str) -> GiftOut:
    return GiftOut(
        gift_id=g.pk, status=g.state, status_label=movements.GiftState(g.state).label,
        amount_bytes=g.amount, data=movements.format_bytes(g.amount),
        to_msisdn=mask_phone(to_msisdn), expires_at=g.expires_at, done_at=g.done_at,
        failure=g.failure,
    )  # fmt: skip


def _lot(lot: DataBankLot) -> LotOut:
    return LotOut(
        id=lot.pk, amount_bytes=lot.amount, remaining_bytes=lot.remaining,
        deposited_at=lot.deposited_at, expires_at=lot.expires_at,
    )  # fmt: skip


def _key(request) -> str:
    return request.headers.get(idempotency.HEADER, "")[:200]


@router.post(f"{BASE}/data-gifts", response={201: GiftOut})
def ask_gift(request, msisdn: str, body: GiftIn):
    """Start a gift of data to another line on the platform: an SMS code goes to this line's
    own number; confirm with it within 5 minutes. 100MB at least; at most the monthly limit."""
    line = line_of(request, msisdn, write=True)
    gift = gifts.ask(
        line_id=line.pk, user_id=request.auth.pk, to_msisdn=body.to_msisdn,
        megabytes=body.megabytes, client_ip=client_ip(request), now=clock.now(),
        request_key=_key(request),
    )  # fmt: skip
    return Status(201, _gift(gift, body.to_msisdn))


@router.post(BASE + "/data-gifts/{gift_id}/confirm", response=GiftOut)
def confirm_gift(request, msisdn: str, gift_id: Id, body: GiftConfirmIn):
    """Confirm a gift with its SMS code: the data moves (DONE). Confirming again answers the
    same; a rule that no longer holds answers its error and the gift is FAILED."""
    line = line_of(request, msisdn, write=True)
    gift = gifts.confirm(
        gift_id=gift_id, line_id=line.pk, user_id=request.auth.pk, code=body.code,
        now=clock.now(),
    )  # fmt: skip
    numbers = line_queries.numbers_and_owners(line_ids=[gift.receiver_id])
    return _gift(gift, numbers[gift.receiver_id][0])


@router.post(f"{BASE}/data-bank/deposits", response={201: LotOut})
def deposit(request, msisdn: str, body: BankIn):
    """Bank unused general data of this month (plan and rollover) for up to 12 months."""
    line = line_of(request, msisdn, write=True)
    lot = databank.deposit(
        line_id=line.pk, megabytes=body.megabytes, now=clock.now(), request_key=_key(request)
    )
    return Status(201, _lot(lot))


@router.post(f"{BASE}/data-bank/withdrawals", response={201: WithdrawalOut})
def withdraw(request, msisdn: str, body: BankIn):
    """Take banked data out (oldest deposits first) into data valid to the end of the month."""
    line = line_of(request, msisdn, write=True)
    done = databank.withdraw(
        line_id=line.pk, megabytes=body.megabytes, now=clock.now(), request_key=_key(request)
    )
    out = WithdrawalOut(
        id=done.pk, amount_bytes=done.amount, data=movements.format_bytes(done.amount),
        bucket_id=done.bucket_id, created_at=done.created_at,
    )  # fmt: skip
    return Status(201, out)


@router.get(f"{BASE}/data-bank", response=BankOut)
def bank(request, msisdn: str):
    """The bank's balance (bytes, on the ledger), its lots and its latest movements."""
    line = line_of(request, msisdn)
    found = databank.statement(line_id=line.pk, now=clock.now())
    return BankOut(
        balance_bytes=found.balance_bytes,
        balance=movements.format_bytes(found.balance_bytes),
        lots=[_lot(lot) for lot in found.lots],
        history=[MovementOut(**m) for m in found.history],
    )


@router.get(f"{BASE}/data-movements", response=MovementPage)
def data_movements(request, msisdn: str, limit: int | None = None, after: str | None = None):
    """Every gift sent and received, reversal, deposit, withdrawal and expiry, newest first."""
    line = line_of(request, msisdn)
    page = dataflow.history(line_id=line.pk, limit=limit, after=after)
    return {"items": [MovementOut(**m) for m in page.items], "next": page.next}
