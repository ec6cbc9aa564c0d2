"""Background tasks of accounts (run by ``haoka worker``)."""

from django_tasks import task

from haoka.accounts import operations
from haoka.core import clock


@task()
def purge_challenges() -> int:
    return operations.purge_challenges(now=clock.now())
