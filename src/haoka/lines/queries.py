from __future__ import annotations

from haoka.core import ledger
from haoka.lines import domain
from haoka.lines.models import Line


def line_for_order(*, order_ref: str) -> Line | None:
    return Line.objects.filter(order_ref=order_ref).first()


def wallet_balance_fen(*, line: Line) -> int:
    """Customer money on the line (the liability's credit balance, shown positive)."""
    return -ledger.balance_fen(account=domain.wallet_account(line_id=line.pk))
