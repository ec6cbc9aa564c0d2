"""Use cases of lines (this issue: a line is born from an activated order)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from haoka.core import ledger
from haoka.core.models import AccountKind
from haoka.lines import domain
from haoka.lines.models import Line, LineEvent, LineStatus

#: Money paid up front for the line (首充) waits here until the line exists.
PREPAYMENTS = "liability:customer_prepayments"


def open_from_order(
    *,
    order_ref: str,
    user_id: int,
    msisdn: str,
    carrier_code: str,
    plan_code: str,
    iccid: str,
    imsi: str,
    opening_balance_fen: int,
    now: dt.datetime,
) -> Line:
    """Create the ACTIVE line of an activated order (idempotent by order_ref) and credit its
    wallet with the first top-up paid at checkout. Runs inside the caller's transaction."""
    with transaction.atomic():
        line = Line.objects.filter(order_ref=order_ref).first()
        if line is not None:
            return line
        line = Line.objects.create(
            msisdn=msisdn,
            user_id=user_id,
            carrier_code=carrier_code,
            plan_code=plan_code,
            status=LineStatus.ACTIVE,
            iccid=iccid,
            imsi=imsi,
            order_ref=order_ref,
            activated_at=now,
            created_at=now,
        )
        LineEvent.objects.create(
            line=line,
            from_status="",
            to_status=LineStatus.ACTIVE,
            actor=f"order:{order_ref}",
            reason="开卡激活",
            at=now,
        )
        wallet = domain.wallet_account(line_id=line.pk)
        ledger.open_account(
            code=wallet, name=f"线路 {msisdn} 余额", kind=AccountKind.LIABILITY, allow_negative=True
        )
        if opening_balance_fen > 0:
            ledger.open_account(
                code=PREPAYMENTS, name="客户预收款", kind=AccountKind.LIABILITY, busy=True
            )
            ledger.post(
                legs=[
                    ledger.Leg(PREPAYMENTS, opening_balance_fen),
                    ledger.Leg(wallet, -opening_balance_fen),
                ],
                kind="line.first_topup",
                memo=f"订单 {order_ref} 首充转入余额",
                key=f"line.first_topup:{order_ref}",
            )
    return line
