"""Pure rules of a line (a subscription): states and transitions. Issue "Lines and real-time
charging" extends this with the wallet, buckets and self-service."""

from __future__ import annotations

from enum import StrEnum

from haoka.core.errors import IllegalTransition


class LineState(StrEnum):
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CLOSED = "CLOSED"
    PORTED_OUT = "PORTED_OUT"


L = LineState
TRANSITIONS = {
    L.PENDING_ACTIVATION: frozenset({L.ACTIVE, L.CLOSED}),
    L.ACTIVE: frozenset({L.SUSPENDED, L.CLOSED, L.PORTED_OUT}),
    L.SUSPENDED: frozenset({L.ACTIVE, L.CLOSED}),
    L.CLOSED: frozenset(),
    L.PORTED_OUT: frozenset(),
}
LABELS = {
    L.PENDING_ACTIVATION: "待激活",
    L.ACTIVE: "正常",
    L.SUSPENDED: "停机",
    L.CLOSED: "已销户",
    L.PORTED_OUT: "已携出",
}


class LineStateConflict(IllegalTransition):
    code = "line_state_conflict"
    message = "线路当前状态不允许此操作"


def check_transition(*, current: str, target: str) -> None:
    if LineState(target) not in TRANSITIONS[LineState(current)]:
        raise LineStateConflict(current=current, target=target)


def wallet_account(*, line_id: int) -> str:
    """The ledger account of a line's money wallet (a liability: the customer's money)."""
    return f"liability:wallet:line:{line_id}"
