"""Background work of distribution: each task makes one call into commission, credit or fraud."""

from __future__ import annotations

from django_tasks import task

from haoka.core import clock


@task()
def sweep() -> dict:
    """Facts not yet turned into commission, entries past their hold or cool-down."""
    from haoka.distribution import commission

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
    from haoka.distribution import withdrawals

    return withdrawals.reconcile_paying(now=clock.now())


@task()
def credit_daily() -> dict:
    """Every approved or frozen agent's credit score and tier for today."""
    from haoka.distribution import credit

    return {"scored": credit.run_daily(now=clock.now())}
