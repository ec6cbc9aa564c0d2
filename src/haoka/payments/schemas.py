from __future__ import annotations

import datetime as dt

from ninja import Schema


class OkOut(Schema):
    ok: bool


class PaymentOut(Schema):
    payment_id: int
    merchant_order_id: str
    purpose: str
    reference: str
    amount_fen: int
    amount: str
    method: str
    status: str
    status_label: str
    pay_url: str
    paid_at: dt.datetime | None
    refunded_fen: int
    created_at: dt.datetime
