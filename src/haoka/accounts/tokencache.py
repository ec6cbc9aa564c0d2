"""Bearer tokens resolved from memory, dropped as soon as the database changes them.

Every API request names its caller by a bearer token; reading the token and its user is one
statement per request, about a tenth of a checkout request's work. On PostgreSQL each process
keeps the rows it has read, and a trigger on ``accounts_authtoken`` and ``accounts_user``
(migration ``accounts.0002``) sends ``NOTIFY haoka_auth`` with the changed token's hash or
user's id when a transaction that updates or deletes one commits — whatever made the change:
the API, the admin, a queryset update, SQL by hand. A thread per process LISTENs and drops
what changed. So a revoked token, a deactivated user or a changed role stops counting once
the notification arrives (milliseconds after the commit), not after a time-to-live.

Rules that keep it exact:

- Entries are used only while the LISTEN connection is up. When it drops, the cache is
  emptied and every request reads the database again until the connection is back (and the
  cache starts empty again: nothing heard while away is trusted).
- A row read from the database is kept only if no notification arrived while it was being
  read (``generation``): a read that raced a revocation cannot put the old row back.
- Rows are kept as the database sent them (immutable values); each request builds its own
  instances from them.

Off on SQLite (no LISTEN), and wherever ``settings.TOKEN_CACHE`` is false (the test suite,
whose transactions never commit, so never notify).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import threading
import time
import uuid

import psycopg
import structlog
from django.conf import settings
from django.db import connection

log = structlog.get_logger(__name__)

CHANNEL = "haoka_auth"
#: Entries kept at most; beyond this new rows are simply not kept (a flood of distinct tokens
#: must not grow the process without bound).
MAX_ENTRIES = 100_000
#: Seconds the listener waits for a notification before it checks whether it should stop.
POLL_S = 1.0
_IMMUTABLE = (str, int, float, bool, bytes, type(None), dt.datetime, dt.date, decimal.Decimal,
              uuid.UUID)  # fmt: skip


class TokenCache:
    def __init__(self) -> None:
        self._rows: dict[str, tuple] = {}
        self._by_user: dict[int, set[str]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._live = False
        self._pid: int | None = None
        self._epoch = 0  # which listener thread is the current one
        self._postgresql: bool | None = None
        self.heard = 0  # notifications received (for tests and the curious)
        # A forked child (a server's worker) has no listener thread: it starts its own.
        os.register_at_fork(after_in_child=self._forked)

    # --- used by authenticate_token -----------------------------------------------------

    def enabled(self) -> bool:
        if self._postgresql is None:  # the database of a process does not change
            self._postgresql = connection.vendor == "postgresql"
        return self._postgresql and bool(getattr(settings, "TOKEN_CACHE", False))

    def lookup(self, token_hash: str) -> tuple | None:
        """The kept row of this token, or None (not kept, or not listening)."""
        if self._pid is None:
            self._ensure_listener()
        return self._rows.get(token_hash) if self._live else None

    def generation(self) -> int:
        """Take this before reading a token from the database; hand it to :meth:`keep`."""
        return self._generation

    def keep(self, token_hash: str, *, user_id: int, row: tuple, generation: int) -> None:
        """Keep a row read from the database, unless a notification came in since
        ``generation`` was taken (the row may predate it) or the listener is down."""
        if not all(isinstance(v, _IMMUTABLE) for v in row):
            return
        with self._lock:
            if not self._live or generation != self._generation or len(self._rows) >= MAX_ENTRIES:
                return
            self._rows[token_hash] = row
            self._by_user.setdefault(user_id, set()).add(token_hash)

    def live(self) -> bool:
        return self._live

    # --- invalidation ---------------------------------------------------------------------

    def drop(self, payload: str) -> None:
        """Forget what a notification names: ``token:<hash>``, ``user:<id>``, anything
        else (``*``: a TRUNCATE) everything."""
        with self._lock:
            self._generation += 1
            self.heard += 1
            kind, _, key = payload.partition(":")
            if kind == "token":
                self._rows.pop(key, None)
            elif kind == "user" and key.isdigit():
                for token_hash in self._by_user.pop(int(key), ()):
                    self._rows.pop(token_hash, None)
            else:
                self._forget_all()

    def _forget_all(self) -> None:
        self._generation += 1
        self._rows.clear()
        self._by_user.clear()

    # --- the listener -------------------------------------------------------------------

    def _forked(self) -> None:
        self._lock = threading.Lock()
        self._pid = None
        self._epoch += 1
        self._live = False
        self._rows, self._by_user = {}, {}

    def _ensure_listener(self) -> None:
        """One listening thread per process, started by the first request (after the
        server's fork)."""
        pid = os.getpid()
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self._epoch += 1
            self._live = False
            self._forget_all()
            params = _conninfo(connection.settings_dict)
            threading.Thread(
                target=self._listen_forever,
                args=(params, self._epoch),
                name="token-cache",
                daemon=True,
            ).start()

    def _listen_forever(self, params: dict, epoch: int) -> None:
        pause = 0.5
        while self._epoch == epoch:
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:
                        if self._epoch != epoch:
                            return
                        self._forget_all()  # nothing heard before LISTEN is trusted
                        self._live = True
                    pause = 0.5
                    while self._epoch == epoch:
                        for note in conn.notifies(timeout=POLL_S):
                            self.drop(note.payload)
            except Exception as exc:  # the connection dropped: read the database meanwhile
                log.warning("token_cache_listener_down", error=repr(exc))
            finally:
                with self._lock:
                    if self._epoch == epoch:
                        self._live = False
                        self._forget_all()
            time.sleep(pause)
            pause = min(pause * 2, 30.0)

    def stop(self) -> None:
        """Stop using the cache in this process (tests): the listener's thread ends within
        ``POLL_S``; the next lookup starts a new one."""
        with self._lock:
            self._pid = None
            self._epoch += 1
            self._live = False
            self._forget_all()


def _conninfo(settings_dict: dict) -> dict:
    params = {
        "dbname": settings_dict.get("NAME") or "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": str(settings_dict.get("PORT") or "") or None,
        "application_name": "haoka-token-cache",
    }
    return {k: v for k, v in params.items() if v is not None}


cache = TokenCache()
