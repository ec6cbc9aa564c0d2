"""Fixed-window rate limits kept in the database, correct across processes."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F

from haoka.core.errors import RateLimited
from haoka.core.models import RateCounter


def hit(*, key: str, limit: int, window: dt.timedelta, now: dt.datetime) -> int:
    """Count one hit on ``key`` in the current window; raise RateLimited past ``limit``.

    The counter is incremented even when over the limit, so hammering does not reset it.
    """
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    start = dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window_start=start).update(
            count=F("count") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=start, count=1)
            except IntegrityError:
                RateCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
        count = RateCounter.objects.get(key=key, window_start=start).count
    if count > limit:
        retry_after = seconds - (epoch - int(start.timestamp()))
        raise RateLimited(retry_after_seconds=retry_after)
    return count


def purge(*, before: dt.datetime) -> int:
    """Drop counters of windows that started before ``before``."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=before).delete()
    return deleted
