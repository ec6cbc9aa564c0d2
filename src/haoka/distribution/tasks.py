"""Background work of distribution: each task makes one call into commission, credit or fraud."""

from __future__ import annotations

from django_tasks import task

from haoka.core import clock
from haoka.distribution import commission, credit, withdrawals


@task()
def sweep() -> dict:
    """Facts not yet turned into commission, entries past their hold or cool-down."""
    now = clock.now()
    return {
        "processed": commission.process_due(now=now),
        **commission.settle_due(now=now),
        "released": commission.release_due(now=now),
    }


@task()
def reconcile_withdrawals() -> dict:
    """Withdrawals left PAYING (the payout provider did not answer, or is still processing):
    ask it and finish them."""
    return withdrawals.reconcile_paying(now=clock.now())


@task()
def credit_daily() -> dict:
    """Every approved or frozen agent's credit score and tier for today."""
    return {"scored": credit.run_daily(now=clock.now())}
