"""Background work of orders: each task takes an order ref (keyword-only) and makes one call."""

from django_tasks import task

from haoka.core import clock
from haoka.orders import fulfilment


@task()
def submit_order(*, ref: str) -> str:
    return fulfilment.submit_to_carrier(ref=ref, now=clock.now(), first=True)


@task()
def refund_order(*, ref: str) -> str:
    return fulfilment.refund_order(ref=ref, now=clock.now())


@task()
def sweep() -> dict:
    return fulfilment.sweep(now=clock.now())
