from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from haoka.accounts.auth import bearer
from haoka.lines import queries
from haoka.lines.domain import LINE_MACHINE

router = Router(tags=["lines"])


class LineOut(Schema):
    msisdn: str
    carrier: str
    plan_code: str
    status: str
    status_label: str
    balance_fen: int
    activated_at: dt.datetime | None


@router.get("/lines", response=list[LineOut], auth=bearer)
def my_lines(request):
    """The caller's lines (issue "Lines and real-time charging" adds self-service)."""
    return [
        LineOut(
            msisdn=line.msisdn,
            carrier=line.carrier_code,
            plan_code=line.plan_code,
            status=line.status,
            status_label=LINE_MACHINE.label(line.status),
            balance_fen=queries.wallet_balance_fen(line=line),
            activated_at=line.activated_at,
        )
        for line in queries.lines_of(user_id=request.auth.pk)
    ]
