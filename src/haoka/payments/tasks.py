from django_tasks import task

from haoka.core import clock
from haoka.payments import operations


@task()
def reconcile_pending_payments() -> dict:
    """Ask the gateway about payments and refunds left unsettled for a while."""
    return operations.reconcile_pending(now=clock.now())
