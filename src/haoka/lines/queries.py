from __future__ import annotations

from django.db.models import QuerySet

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


def keep_number_fee_fen() -> int:
    """停机保号: what a line suspended at its owner's request pays a month instead of its plan's
    fee (setting ``KEEP_NUMBER_FEE_FEN``)."""
    from django.conf import settings

    return int(getattr(settings, "KEEP_NUMBER_FEE_FEN", domain.KEEP_NUMBER_FEE_FEN))


def statuses_of(*, line_ids: list[int]) -> dict[int, str]:
    """The statuses of these lines, by id (unknown lines are left out)."""
    return dict(Line.objects.filter(pk__in=line_ids).values_list("pk", "status"))


def order_refs(*, line_id: int) -> QuerySet:
    """The line's order ref as a query another domain can use as a subquery (``__in``)."""
    return Line.objects.filter(pk=line_id).exclude(order_ref="").values("order_ref")
