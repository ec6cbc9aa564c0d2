"""Signed webhooks and callbacks: HMAC-SHA256 over ``timestamp.body``.

Header ``X-Haoka-Signature: t=<unix seconds>,v1=<hex>``. A signature is refused when it does
not match, when it is older or newer than the tolerance (5 minutes), or when it is malformed.
Replays inside the window are refused by the receiver, which records each event id under a
UNIQUE constraint. Pure: no Django, so the simulators (separate processes) use it too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

HEADER = "X-Haoka-Signature"
TOLERANCE_SECONDS = 300
#: Unix seconds as haoka and its peers write them: digits only, no sign, no separators. A
#: longer number cannot be a time within the tolerance (and, as a float, could overflow).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """The request is not authentic (bad, stale or malformed signature)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(*, secret: str, body: bytes, header: str | None, now: float | None = None) -> int:
    """Check a header against ``body``; return its timestamp. Raises SignatureError."""
    if not header:
        raise SignatureError("missing")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    given, stamp = parts.get("v1"), parts.get("t", "")
    if given is None or not _TIMESTAMP.fullmatch(stamp):
        raise SignatureError("malformed")
    ts = int(stamp)
    current = time.time() if now is None else now
    if abs(current - ts) > TOLERANCE_SECONDS:
        raise SignatureError("stale")
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    # compare_digest raises TypeError on non-ASCII text: a forged header must be refused, not
    # crash the receiver.
    if not given.isascii() or not hmac.compare_digest(expected, given):
        raise SignatureError("mismatch")
    return ts
