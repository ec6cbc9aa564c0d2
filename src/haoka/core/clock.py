"""The one place that reads the wall clock.

Domain functions take ``now`` as a parameter; interfaces (API, pages, tasks, CLI) call
:func:`now`. Tests move time with :func:`frozen`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC

_override = threading.local()
_global_override: list[dt.datetime] = []


def now() -> dt.datetime:
    """Aware UTC now, or the frozen instant inside :func:`frozen`."""
    frozen_at = getattr(_override, "at", None) or (
        _global_override[-1] if _global_override else None
    )
    if frozen_at is not None:
        return frozen_at
    return dt.datetime.now(tz=UTC)


@contextlib.contextmanager
def frozen(at: dt.datetime, *, all_threads: bool = False) -> Iterator[None]:
    """Freeze :func:`now` at ``at`` (aware) for this thread, or for every thread."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    at = at.astimezone(UTC)
    if all_threads:
        _global_override.append(at)
        try:
            yield
        finally:
            _global_override.pop()
        return
    previous = getattr(_override, "at", None)
    _override.at = at
    try:
        yield
    finally:
        _override.at = previous


def beijing(at: dt.datetime) -> dt.datetime:
    """The same instant in Beijing time."""
    return at.astimezone(BEIJING)


def beijing_date(at: dt.datetime) -> dt.date:
    """The Beijing calendar date of an instant (business days are Beijing days)."""
    return at.astimezone(BEIJING).date()
