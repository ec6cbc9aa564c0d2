"""The task queue: django-tasks' database backend, with the enqueue written out.

Every paid order enqueues its carrier submission from the payment notification's request;
the backend's ``objects.create`` compiled an INSERT of fourteen columns for each, a sixth of
that request's CPU. :func:`haoka.core.rows.insert` writes the same row (the model's own
field conversions, its defaults and ``auto_now_add``) without compiling. The worker side
(claiming, running, recording results) is the library's, unchanged.
"""

from __future__ import annotations

from django_tasks_db.backend import DatabaseBackend as LibraryBackend
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult
from django_tasks_db.signal_handlers import set_run_after

from haoka.core import rows


class DatabaseBackend(LibraryBackend):
    def _task_to_db_task(self, task, args, kwargs):
        row = DBTaskResult(
            id=self._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )
        # The library's one pre_save receiver of the model (rows.insert sends no signals):
        # no run_after means "any time", stored as the far future it orders by.
        set_run_after(sender=DBTaskResult, instance=row)
        return rows.insert(row)
