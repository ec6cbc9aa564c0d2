import datetime as dt

from django_tasks import task

from haoka.core import clock, idempotency, ratelimit

#: Rate-limit windows are at most a day long; older counters are dead weight.
RATE_COUNTER_RETENTION = dt.timedelta(days=1)


@task()
def purge_expired() -> dict:
    now = clock.now()
    return {
        "idempotency": idempotency.purge(now=now),
        "rate_counters": ratelimit.purge(before=now - RATE_COUNTER_RETENTION),
    }
