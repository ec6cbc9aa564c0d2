"""The task queue's written-out enqueue: the row it writes is the one the library's worker
claims and runs."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.django_db(transaction=True)

DB_TASKS = {"default": {"BACKEND": "haoka.core.taskqueue.DatabaseBackend", "QUEUES": ["default"]}}
ran: list[tuple] = []


@task()
def remember(ref: str, *, times: int) -> int:
    ran.append((ref, times))
    return times * 2


def _worker() -> Worker:
    return Worker(
        queue_names=["default"],
        interval=0,
        batch=True,  # run what is queued, then stop
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )


def test_an_enqueued_task_is_stored_as_the_library_stores_it_and_the_worker_runs_it():
    ran.clear()
    with override_settings(TASKS=DB_TASKS):
        result = remember.using(backend="default").enqueue("HK1", times=3)
        row = DBTaskResult.objects.get(pk=result.id)
        assert row.status == "READY"
        assert row.args_kwargs == {"args": ["HK1"], "kwargs": {"times": 3}}
        assert row.task_path.endswith("test_core_taskqueue.remember")
        assert row.queue_name == "default" and row.backend_name == "default"
        assert row.enqueued_at is not None and row.run_after is not None
        _worker().run()
        row.refresh_from_db()
        assert row.status == "SUCCESSFUL", row.traceback
        assert row.return_value == 6
        assert ran == [("HK1", 3)]
