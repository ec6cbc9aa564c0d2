"""Logging: structlog everywhere, through the standard library's handlers.

Every module logs with ``log = structlog.get_logger(__name__)`` and events as snake_case words
with key-value context (``log.info("pump_done", pump=name, counts=...)``). structlog hands each
event to the standard ``logging`` module, so haoka's events, Django's and the libraries' all go
through the handlers of ``settings.LOGGING`` and one renderer: readable lines on a console
(default) or one JSON object per line (``HAOKA_LOG_FORMAT=json``, for a log collector).
Tracebacks never print local variables: they may hold names and ID numbers, which are never
logged.
"""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not to the stream it was
    when logging was configured (a test runner or a daemonizing server may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _capture_exception(_logger, _method, event_dict: dict) -> dict:
    """``exc_info=True`` becomes the exception itself while it is being handled, so the handler
    renders it even when it formats the event later (or elsewhere)."""
    if event_dict.get("exc_info") is True:
        event_dict["exc_info"] = sys.exc_info()
    return event_dict


def _renderer(fmt: str):
    if fmt == "json":
        return structlog.processors.JSONRenderer(ensure_ascii=False)
    return structlog.dev.ConsoleRenderer(
        colors=False,
        exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
    )


def configure(*, level: str, fmt: str) -> dict:
    """Configure structlog and return the ``LOGGING`` dictionary for Django's settings."""
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            _capture_exception,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    tail = [structlog.processors.format_exc_info] if fmt == "json" else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *tail,
                    _renderer(fmt),
                ],
            }
        },
        "handlers": {
            "console": {"class": "haoka.core.logs.StderrHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
