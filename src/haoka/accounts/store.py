"""The accounts' hand-written statements: the bearer token of every API request (the ORM's
compiling of the join cost more than the database) and the per-user lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from haoka.accounts.models import AuthToken, User
from haoka.core import rows

_LIVE = "t.token_hash = %s AND t.revoked_at IS NULL"


def live_token_row(token_hash: str) -> Sequence | None:
    """The raw row of the unrevoked token of this hash joined with its user, or None (the
    row is what the token cache keeps; :func:`token_from_row` builds the instances)."""
    found = rows.fetch(AuthToken, _LIVE, [token_hash], related="user", limit=1)
    return found[0] if found else None


def token_from_row(row: Sequence) -> AuthToken:
    """The token (with its ``user``) from a row of :func:`live_token_row`."""
    return rows.from_row(AuthToken, row, related="user")


def touch_token(token_id: int, *, now: dt.datetime) -> None:
    """Record that the token was used at ``now``."""
    rows.change(
        AuthToken,
        "last_used_at = %s",
        "id = %s",
        [rows.prep(AuthToken, "last_used_at", now), token_id],
    )


def lock_user(user_id: int) -> None:
    """Lock one user's row until the transaction ends."""
    rows.values(User, "id", "t.id = %s", [user_id], lock=True)
