"""Background work of charging: each task makes one call (or a few, for the daily checks)."""

from __future__ import annotations

from django_tasks import task

from haoka.charging import (
    alerts,
    cdr_files,
    cycles,
    databank,
    gifts,
    online,
    points_ledger,
    sponsored,
    topups,
)
from haoka.core import clock


@task()
def expire_sessions() -> int:
    """Close online-charging sessions that outlived their holding time."""
    return online.expire_sessions(now=clock.now())


@task()
def settle_sponsored() -> int:
    """Settle the budget slices whose SPONSOR bucket is used up or ended."""
    return sponsored.settle(now=clock.now())


@task()
def write_cdrs() -> dict:
    """Charging data records of closed sessions, and the files of the hours that ended."""
    return cdr_files.run(now=clock.now())


@task()
def expire_data() -> dict:
    """Gifts whose SMS code ran out unconfirmed; banked data 12 months after its deposit."""
    now = clock.now()
    return {"gifts": gifts.expire(now=now), "bank_lots": databank.expire_lots(now=now)}


@task()
def expire_points() -> int:
    """Points 12 months after they were earned leave their owners' accounts."""
    return points_ledger.expire_lots(now=clock.now())


@task()
def run_cycles() -> dict:
    """Open the new month of every line due one (cheap when none is)."""
    return cycles.run_cycles(now=clock.now())


@task()
def daily() -> dict:
    """Arrears suspensions, pack-expiring and low-balance alerts, auto top-ups."""
    now = clock.now()
    return {
        "suspended": cycles.suspend_arrears(now=now),
        **alerts.sweep(now=now),
        **topups.sweep_auto_topups(now=now),
    }


@task()
def start_auto_topup(*, ref: str) -> str:
    """Start the payment of an auto top-up and send the owner its pay link."""
    return topups.start_auto_topup(ref=ref, now=clock.now()).status


@task()
def refund_topup(*, payment_id: int, reference: str) -> str:
    """Give back a top-up that was paid after its line had closed."""
    return topups.refund_late_topup(payment_id=payment_id, reference=reference, now=clock.now())
