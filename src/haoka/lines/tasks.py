"""Background work of lines: each task makes one call into lines' operations."""

from django_tasks import task

from haoka.core import clock
from haoka.lines import exits


@task()
def retry_closure_refunds() -> int:
    return exits.retry_closure_refunds(now=clock.now())
