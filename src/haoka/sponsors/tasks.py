"""Background work of sponsors: each task makes one call into a use case."""

from __future__ import annotations

from django_tasks import task

from haoka.core import clock
from haoka.sponsors import campaigns


@task()
def end_expired() -> int:
    """End the campaigns past their validity and return their unsliced budget."""
    return campaigns.end_expired(now=clock.now())
