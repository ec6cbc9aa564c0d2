"""A line's closure (销户) as its owner asks online: mostly money, so charging's use case.

Charging ends the line's usage (open sessions released, allowances end) and reads the
wallet under its lock; lines records the closure (``lines.exits.close_ended``: contract lock,
arrears, refunds planned, status CLOSED, number cooling); then the refunds go to the payment
gateway after the transaction has committed (``lines.exits.send_closure_refunds``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from haoka.accounts.domain import StepUpAction
from haoka.charging import closing
from haoka.charging.models import TopUp
from haoka.lines import exits, lifecycle
from haoka.lines import queries as line_queries
from haoka.lines.domain import Caller, LineState


def close_line(
    *, msisdn: str, caller: Caller, confirm: bool, now: dt.datetime, step_up: str = ""
) -> exits.Closure:
    """Close the line for good. Refused under contract (ContractLocked, with its end date)
    and in arrears (InArrears: pay first). Usage is settled (open sessions released,
    allowances end), the positive balance is refunded (see ``lines.exits``), the line
    becomes CLOSED, its number COOLING for 90 days, its 一证五号 slot and porting code free.
    An owner spends ``step_up``, the proof of a fresh SMS code (``accounts.stepup``; unspent
    if the closure is refused). A repeat returns the first closure (and wants no proof: it
    changes nothing). Raises LineNotFound, ConfirmationRequired, StepUpRequired,
    LineStateConflict, ContractLocked, InArrears, NotProvisioned."""
    if confirm is not True:
        raise exits.ConfirmationRequired()
    line = line_queries.line_for(msisdn=msisdn, caller=caller)
    with transaction.atomic():
        # The charging lock first (as ratings take it), then the line: a concurrent closure
        # waits here and then finds the line closed.
        if line.status != LineState.CLOSED:
            lifecycle.spend_step_up(
                caller=caller, action=StepUpAction.CLOSURE, line=line, proof=step_up, now=now
            )
        ended = closing.end_line(line_id=line.pk, now=now)
        cooling = exits.close_ended(
            line_id=line.pk,
            balance=ended.wallet_fen,
            topup_refs=paid_topup_refs(line_id=line.pk),
            caller=caller,
            now=now,
        )
    outcome = exits.send_closure_refunds(line_id=line.pk, now=now)
    return exits.Closure(outcome.line, outcome.closure, outcome.refunds, cooling)


def paid_topup_refs(*, line_id: int) -> list[str]:
    """The refs of the line's paid top-ups, oldest first."""
    return list(
        TopUp.objects.filter(line_id=line_id, paid_at__isnull=False)
        .order_by("id")
        .values_list("ref", flat=True)
    )
