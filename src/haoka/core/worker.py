"""``haoka worker``: runs queued tasks (django-tasks database backend; on PostgreSQL workers
claim tasks with SELECT ... FOR UPDATE SKIP LOCKED, so several can run side by side), runs
the pumps (loops that take what is due in batches: paid orders to their carrier), and
enqueues periodic jobs. A periodic job is enqueued once per period across all workers: the
slot is claimed through a UNIQUE row (a rate-limit counter with a limit of 1)."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from collections import Counter
from dataclasses import dataclass

import structlog
from django.db import close_old_connections
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker

from haoka.core import clock, ratelimit
from haoka.core.errors import RateLimited

log = structlog.get_logger("haoka.worker")


@dataclass(frozen=True)
class Periodic:
    name: str
    every: dt.timedelta
    task: str  # dotted path of a django-tasks Task taking no arguments


PERIODIC: list[Periodic] = [
    Periodic(
        "numbers.release_expired_holds",
        dt.timedelta(seconds=30),
        "haoka.numbers.tasks.release_expired_holds",
    ),
    Periodic("core.purge", dt.timedelta(hours=1), "haoka.core.tasks.purge_expired"),
    # Sign-in and step-up codes a month after they ended.
    Periodic(
        "accounts.purge_challenges",
        dt.timedelta(hours=6),
        "haoka.accounts.tasks.purge_challenges",
    ),
    # Submissions due (retries), refunds pending, unpaid timeouts, stuck orders.
    Periodic("orders.sweep", dt.timedelta(seconds=5), "haoka.orders.tasks.sweep"),
    # Payments whose notification never came: ask the gateway.
    Periodic(
        "payments.reconcile",
        dt.timedelta(minutes=5),
        "haoka.payments.tasks.reconcile_pending_payments",
    ),
    # Online-charging sessions nobody reported on: release what they hold.
    Periodic(
        "charging.expire_sessions",
        dt.timedelta(seconds=60),
        "haoka.charging.tasks.expire_sessions",
    ),
    # Charging data records (TS 32.298) of closed sessions; an hour's file once it ended.
    Periodic("charging.write_cdrs", dt.timedelta(minutes=5), "haoka.charging.tasks.write_cdrs"),
    # Commission: facts left unprocessed, entries past their hold or cool-down.
    Periodic("distribution.sweep", dt.timedelta(seconds=30), "haoka.distribution.tasks.sweep"),
    # Agent credit scores and tiers (a day's slot starts 00:00 UTC = 08:00 Beijing).
    Periodic(
        "distribution.credit_daily",
        dt.timedelta(days=1),
        "haoka.distribution.tasks.credit_daily",
    ),
    # Payouts the provider has not answered for yet.
    Periodic(
        "distribution.reconcile_withdrawals",
        dt.timedelta(seconds=60),
        "haoka.distribution.tasks.reconcile_withdrawals",
    ),
    # 流量控: unconfirmed gifts expire, banked data 12 months after its deposit.
    Periodic("charging.expire_data", dt.timedelta(minutes=10), "haoka.charging.tasks.expire_data"),
    # 积分: points 12 months after they were earned, off their owners' accounts.
    Periodic(
        "charging.expire_points", dt.timedelta(minutes=10), "haoka.charging.tasks.expire_points"
    ),
    # Sponsors' campaigns past their validity: ended, their unsliced budget returned.
    Periodic("sponsors.end_expired", dt.timedelta(minutes=5), "haoka.sponsors.tasks.end_expired"),
    # 定向免流: budget slices whose SPONSOR bucket is used up or ended, charged to the sponsor.
    Periodic(
        "charging.settle_sponsored",
        dt.timedelta(seconds=60),
        "haoka.charging.tasks.settle_sponsored",
    ),
    # The monthly cycle: one query when no line is due, so it can look often.
    Periodic("charging.run_cycles", dt.timedelta(minutes=10), "haoka.charging.tasks.run_cycles"),
    # Arrears suspension, alerts, auto top-ups: a day's slot starts 00:00 UTC = 08:00 Beijing,
    # so reminders go out in the morning rather than at night.
    Periodic("charging.daily", dt.timedelta(days=1), "haoka.charging.tasks.daily"),
    # Closed lines whose balance the gateway could not take back yet.
    Periodic(
        "lines.retry_closure_refunds",
        dt.timedelta(minutes=5),
        "haoka.lines.tasks.retry_closure_refunds",
    ),
    # Numbers of closed lines whose 90-day rest is over go back on sale.
    Periodic("numbers.release_cooled", dt.timedelta(hours=1), "haoka.numbers.tasks.release_cooled"),
]


@dataclass(frozen=True)
class Pump:
    """A loop the worker runs beside its tasks, in a thread of its own: ``call(now=...,
    limit=batch)`` handles up to ``batch`` things that are due and returns a dict, an outcome
    per thing it handled (logged as counts); when it handled fewer than ``batch`` it waits
    the worker's interval before looking again."""

    name: str
    call: str  # dotted path
    batch: int
    #: Seconds between idle looks, when it must be quicker than the worker's interval.
    tick: float | None = None


PUMPS: list[Pump] = [
    # Paid orders to their carrier (several workers share the work: SKIP LOCKED leases).
    Pump("orders.submissions", "haoka.orders.fulfilment.pump_submissions", batch=50),
    # CHF-initiated notifications (REAUTHORIZATION, ABORT_CHARGING) to the sessions' consumers.
    # A blocked session hears of a top-up within a second: an idle look is one indexed read.
    Pump("charging.notifications", "haoka.charging.notifications.pump", batch=50, tick=0.2),
    # CAMARA webhooks (sponsorship ends, campaign alerts) to the sponsors' sinks, with retries.
    Pump("sponsors.camara_webhooks", "haoka.sponsors.camara_webhooks.pump", batch=50, tick=1.0),
]


def _pump(pump: Pump, call, stop: threading.Event, tick: float) -> None:
    while not stop.is_set():
        handled = 0
        try:
            close_old_connections()
            done = call(now=clock.now(), limit=pump.batch)
            handled = len(done)
            if handled:
                log.info("pump_done", pump=pump.name, outcomes=dict(Counter(done.values())))
        except Exception:  # keep pumping; the leases make the next round pick it up
            log.exception("pump_failed", pump=pump.name)
        if handled < pump.batch:
            stop.wait(tick)


def enqueue_due(*, now: dt.datetime) -> list[str]:
    """Enqueue every periodic job whose current slot nobody has claimed yet."""
    enqueued = []
    for job in PERIODIC:
        try:
            ratelimit.hit(key=f"periodic:{job.name}", limit=1, window=job.every, now=now)
        except RateLimited:
            continue
        try:
            import_string(job.task).enqueue()
        except Exception:  # one broken job must not starve the jobs after it
            log.exception("periodic_job_not_enqueued", job=job.name)
            continue
        enqueued.append(job.name)
    return enqueued


def _scheduler(stop: threading.Event, tick: float) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            for name in enqueue_due(now=clock.now()):
                log.info("periodic_job_enqueued", job=name)
        except Exception:  # keep scheduling; the next tick retries
            log.exception("scheduler_tick_failed")
        stop.wait(tick)


def run(*, queues: list[str] | None, interval: float) -> int:
    stop = threading.Event()
    thread = threading.Thread(
        target=_scheduler, args=(stop, 5.0), name="haoka-scheduler", daemon=True
    )
    thread.start()
    pumps = [(pump, import_string(pump.call)) for pump in PUMPS]
    # What is loaded by now lives as long as the process: frozen, the collector's passes no
    # longer walk it (they were 6-13% of this process's CPU under bench/checkout.py).
    gc.freeze()
    for pump, call in pumps:
        threading.Thread(
            target=_pump,
            args=(pump, call, stop, min(interval, pump.tick or interval)),
            name=f"haoka-{pump.name}",
            daemon=True,
        ).start()
    worker = Worker(
        queue_names=queues or ["default"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=True,
        max_tasks=None,
        worker_id=f"haoka-{int(time.time() * 1000) % 10**9}",
        excluded_queue_names=[],
    )
    worker.configure_signals()
    try:
        worker.run()
    finally:
        stop.set()
    return 0
