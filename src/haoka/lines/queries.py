from __future__ import annotations

from haoka.core import ledger
from haoka.lines import domain
from haoka.lines.models import Line


def line_for_order(*, order_ref: str) -> Line | None:
    return Line.objects.filter(order_ref=order_ref).first()


def wallet_balance_fen(*, line: Line) -> int:
    """Customer money on the line (the liability's credit balance, shown positive)."""
    return -ledger.balance_fen(account=domain.wallet_account(line_id=line.pk))


def lines_of(*, user_id: int) -> list[Line]:
    return list(Line.objects.filter(user_id=user_id).order_by("-created_at", "-id"))
