"""Periodic jobs are enqueued once per period, however many schedulers tick."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils.module_loading import import_string

from haoka.core import clock, idempotency, worker
from haoka.core.models import IdempotencyRecord, RateCounter

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.UTC)


class FakeTask:
    """Stands in for a django-tasks Task: counts enqueues."""

    def __init__(self) -> None:
        self.enqueued = 0

    def enqueue(self) -> None:
        self.enqueued += 1


FAST = FakeTask()
SLOW = FakeTask()


@pytest.fixture
def jobs(monkeypatch):
    FAST.enqueued = SLOW.enqueued = 0
    monkeypatch.setattr(
        worker,
        "PERIODIC",
        [
            worker.Periodic("test.fast", dt.timedelta(seconds=30), f"{__name__}.FAST"),
            worker.Periodic("test.slow", dt.timedelta(hours=1), f"{__name__}.SLOW"),
        ],
    )


def test_each_job_is_enqueued_once_per_period_even_when_called_twice(jobs):
    assert worker.enqueue_due(now=T0) == ["test.fast", "test.slow"]
    assert worker.enqueue_due(now=T0 + dt.timedelta(seconds=5)) == []
    assert (FAST.enqueued, SLOW.enqueued) == (1, 1)


def test_a_job_is_enqueued_again_in_its_next_period(jobs):
    worker.enqueue_due(now=T0)
    assert worker.enqueue_due(now=T0 + dt.timedelta(seconds=30)) == ["test.fast"]
    assert worker.enqueue_due(now=T0 + dt.timedelta(hours=1)) == ["test.fast", "test.slow"]
    assert (FAST.enqueued, SLOW.enqueued) == (3, 2)


def test_a_job_whose_task_cannot_be_loaded_does_not_stop_the_others(monkeypatch):
    FAST.enqueued = 0
    monkeypatch.setattr(
        worker,
        "PERIODIC",
        [
            worker.Periodic("test.broken", dt.timedelta(minutes=1), "haoka.no_such_module.task"),
            worker.Periodic("test.fast", dt.timedelta(seconds=30), f"{__name__}.FAST"),
        ],
    )
    assert worker.enqueue_due(now=T0) == ["test.fast"]
    assert FAST.enqueued == 1


def test_the_shipped_periodic_jobs_point_at_loadable_tasks():
    for job in worker.PERIODIC:
        assert callable(import_string(job.task).enqueue), job.task


def test_the_core_purge_job_drops_expired_idempotency_records_and_old_counters(monkeypatch):
    monkeypatch.setattr(
        worker,
        "PERIODIC",
        [worker.Periodic("core.purge", dt.timedelta(hours=1), "haoka.core.tasks.purge_expired")],
    )
    old = T0 - idempotency.RETENTION - dt.timedelta(seconds=1)
    for key, at in (("old", old), ("fresh", T0)):
        IdempotencyRecord.objects.create(
            scope="anon:x",
            key=key,
            method="POST",
            path="/api/v1/x",
            request_hash="h",
            created_at=at,
        )
        RateCounter.objects.create(key=key, window_start=at - dt.timedelta(days=1), count=1)
    with clock.frozen(T0):  # the task reads the clock itself; the backend runs it immediately
        assert worker.enqueue_due(now=T0) == ["core.purge"]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert list(
        RateCounter.objects.exclude(key__startswith="periodic:").values_list("key", flat=True)
    ) == ["fresh"]


def test_the_shipped_pumps_point_at_loadable_functions():
    for pump in worker.PUMPS:
        assert callable(import_string(pump.call)), pump.name


def test_a_pump_goes_on_at_once_after_a_full_round_and_waits_after_a_short_one_or_a_failure():
    rounds = iter([{"a": "x", "b": "x"}, {"c": "x"}, RuntimeError("db down"), {}])
    waits = []

    class Stop(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            if len(waits) == 3:
                self.set()
            return self.is_set()

    def call(*, now, limit):
        assert limit == 2
        got = next(rounds)
        if isinstance(got, Exception):
            raise got
        return got

    stop = Stop()
    worker._pump(worker.Pump("test", "unused", batch=2), call, stop, 0.2)
    # round 1 was full (no wait); round 2 short, round 3 failed, round 4 empty: one wait each
    assert waits == [0.2, 0.2, 0.2]
