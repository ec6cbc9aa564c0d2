from django_tasks import task

from haoka.core import clock
from haoka.numbers import operations


@task()
def release_expired_holds() -> int:
    return operations.release_expired_holds(now=clock.now())


@task()
def release_cooled() -> int:
    return operations.release_cooled(now=clock.now())
