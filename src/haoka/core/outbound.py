"""Calling outside systems over HTTP: signed JSON requests, timeouts, retries with exponential
backoff and jitter (only for requests that are safe to repeat), and a circuit breaker.

Retries are on connection errors, timeouts and 5xx. A 4xx is the other side's answer and is
returned, never retried. After the last attempt :class:`Unavailable` is raised.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from haoka.core import signing

log = structlog.get_logger("haoka.outbound")


def segment(value: object) -> str:
    """``value`` as one path segment of an outbound URL, percent-encoded: a ``/``, ``?``, ``#``,
    space or control character in an id cannot change which resource is asked for (nor make
    httpx refuse the URL); ``.`` and ``..`` are encoded too, as URL normalisation would drop
    them."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


class Unavailable(Exception):
    """The outside system did not answer usefully after every attempt (or its circuit is open)."""

    def __init__(self, reason: str, *, circuit_open: bool = False) -> None:
        self.reason = reason
        self.circuit_open = circuit_open
        super().__init__(reason)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``reset_after`` seconds lets one
    trial call through (half-open): success closes it, failure opens it again."""

    def __init__(self, *, threshold: int = 5, reset_after: float = 30.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.reset_after and not self._trial:
                self._trial = True  # half-open: exactly one caller tries
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial = False
            if self._failures >= self.threshold:
                self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None


class SignedJsonClient:
    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        secret: str,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.2,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.secret = secret
        self.attempts = attempts
        self.backoff = backoff
        self.breaker = breaker
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
        )

    def call(
        self, method: str, path: str, *, payload: dict | None = None, retry: bool = True
    ) -> Reply:
        """One logical call (several attempts when ``retry``). Raises Unavailable."""
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        attempts = self.attempts if retry else 1
        last = ""
        for attempt in range(1, attempts + 1):
            if self.breaker is not None and not self.breaker.allow():
                raise Unavailable(f"{self.name}: circuit open", circuit_open=True)
            try:
                reply = self._once(method, path, body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}"
            else:
                if reply.status < 500:
                    if self.breaker is not None:
                        self.breaker.success()
                    return reply
                last = f"HTTP {reply.status}"
            if self.breaker is not None:
                self.breaker.failure()
            log.warning(
                "outbound_call_failed",
                system=self.name,
                method=method,
                path=path,
                attempt=attempt,
                attempts=attempts,
                error=last,
            )
            if attempt < attempts:
                # Full jitter keeps many workers from retrying in lockstep.
                time.sleep(random.uniform(0, self.backoff * 2 ** (attempt - 1)))  # noqa: S311
        raise Unavailable(f"{self.name}: {last}")

    def _once(self, method: str, path: str, body: bytes) -> Reply:
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(secret=self.secret, body=body),
        }
        response = self.http.request(method, path, content=body, headers=headers)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {"raw": response.text[:200]}
        return Reply(
            status=response.status_code, body=data if isinstance(data, dict) else {"data": data}
        )
