"""Reads of lines, for lines' own use cases and for the domains above (charging, orders, web)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import NotFound
from haoka.lines import domain
from haoka.lines.domain import Caller, LineState
from haoka.lines.models import Line, LineClosure, Notification

#: A line that still has its number (any state before closure or porting out).
LIVE = (LineState.ACTIVE, LineState.SUSPENDED)


class LineNotFound(NotFound):
    code = "line_not_found"
    message = "找不到该号码的线路"


def line_for_order(*, order_ref: str) -> Line | None:
    return Line.objects.filter(order_ref=order_ref).first()


def find_line(*, msisdn: str, user_id: int | None) -> Line | None:
    """The line with this number (only ``user_id``'s when given): the live one, else the
    latest; None when there is none."""
    lines = Line.objects.filter(msisdn=msisdn)
    if user_id is not None:
        lines = lines.filter(user_id=user_id)
    lines = lines.order_by("-created_at", "-id")
    live = [*LIVE, LineState.PENDING_ACTIVATION]
    return lines.filter(status__in=live).first() or lines.first()


def line_for(*, msisdn: str, caller: Caller) -> Line:
    """The caller's line with this number (the live one, else the latest). Raises LineNotFound
    (also for someone else's line)."""
    line = find_line(msisdn=msisdn, user_id=None if caller.staff else caller.user_id)
    if line is None:
        raise LineNotFound(msisdn=msisdn[:11])
    return line


def line_by_id(*, line_id: int) -> Line:
    """Raises Line.DoesNotExist."""
    return Line.objects.get(pk=line_id)


def wallet_balance_fen(*, line: Line) -> int:
    """Customer money on the line (the liability's credit balance, shown positive)."""
    return -ledger.balance_fen(account=chart.line_wallet(line_id=line.pk))


def lines_of(*, user_id: int) -> list[Line]:
    return list(Line.objects.filter(user_id=user_id).order_by("-created_at", "-id"))


def keep_number_fee_fen() -> int:
    """停机保号: what a line suspended at its owner's request pays a month instead of its plan's
    fee (setting ``KEEP_NUMBER_FEE_FEN``)."""
    return int(getattr(settings, "KEEP_NUMBER_FEE_FEN", domain.KEEP_NUMBER_FEE_FEN))


def statuses_of(*, line_ids: list[int]) -> dict[int, str]:
    """The statuses of these lines, by id (unknown lines are left out)."""
    return dict(Line.objects.filter(pk__in=line_ids).values_list("pk", "status"))


def numbers_and_owners(*, line_ids) -> dict[int, tuple[str, int]]:
    """(msisdn, owner's user id) of each of these lines (charging's 流量控: who to tell, and
    the counterpart's number, masked, in a line's history)."""
    found = Line.objects.filter(pk__in=list(line_ids)).values_list("pk", "msisdn", "user_id")
    return {pk: (msisdn, user_id) for pk, msisdn, user_id in found}


def msisdns_of(*, line_ids: list[int]) -> dict[int, str]:
    """The numbers of these lines, by id (unknown lines are left out)."""
    return {pk: msisdn for pk, (msisdn, _) in numbers_and_owners(line_ids=line_ids).items()}


def status_of(*, line_id: int) -> str | None:
    """The line's status (None for an unknown line)."""
    return Line.objects.filter(pk=line_id).values_list("status", flat=True).first()


@dataclass(frozen=True)
class StatusAndPlan:
    status: str
    suspend_reason: str
    plan_code: str
    pending_plan_code: str
    carrier_code: str


def status_and_plan(*, line_id: int) -> StatusAndPlan | None:
    """What charging needs of a line to bill it (None for an unknown line)."""
    row = (
        Line.objects.filter(pk=line_id)
        .values_list("status", "suspend_reason", "plan_code", "pending_plan_code", "carrier_code")
        .first()
    )
    return StatusAndPlan(*row) if row else None


def order_refs(*, line_id: int) -> QuerySet:
    """The line's order ref as a query another domain can use as a subquery (``__in``)."""
    return Line.objects.filter(pk=line_id).exclude(order_ref="").values("order_ref")


def notifications(*, line_id: int) -> QuerySet[Notification]:
    """The line's notification centre, as a query to paginate."""
    return Notification.objects.filter(line_id=line_id)


def manual_closure_refunds() -> int:
    """Closed lines whose money the gateway could not carry back (待人工退款)."""
    return LineClosure.objects.filter(state=domain.ClosureState.MANUAL).count()


@dataclass(frozen=True)
class LineFacts:
    """What a sponsor's campaign asks of a line to decide whether it may draw on it."""

    status: str
    plan_code: str
    carrier_code: str
    msisdn: str
    user_id: int


def line_facts(*, line_id: int) -> LineFacts | None:
    """Status, plan, carrier, number and owner of the line (None for an unknown line)."""
    row = (
        Line.objects.filter(pk=line_id)
        .values_list("status", "plan_code", "carrier_code", "msisdn", "user_id")
        .first()
    )
    return LineFacts(*row) if row else None
