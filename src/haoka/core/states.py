"""Explicit state machines, one helper for all of them.

A domain defines its states once (an enum in its ``domain.py``) and its table of allowed moves
as a ``Machine``; the model's ``choices`` derive from the machine, so the two never disagree.
Use cases ``check`` a move before they write it (or ``record`` it: check, write the new state and
the event row that says who moved it, when and why, in one call). An illegal move raises the
machine's error, never does nothing.

    class LineState(StrEnum): ...
    MACHINE = states.Machine(
        LineState,
        {LineState.PENDING_ACTIVATION: {LineState.ACTIVE, LineState.CLOSED}, ...},
        error=LineStateConflict,
        labels={LineState.ACTIVE: "正常", ...},
    )
    status = models.CharField(choices=MACHINE.choices(), ...)
    MACHINE.check(current=line.status, target=LineState.SUSPENDED)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from haoka.core.errors import IllegalTransition, ValidationError


class UnknownState(ValidationError):
    code = "unknown_state"
    message = "未知的状态"


@dataclass(frozen=True)
class Transition:
    """A move that was allowed: ``before`` -> ``after`` (values of the enum)."""

    before: str
    after: str


S = TypeVar("S", bound=enum.Enum)


class Machine(Generic[S]):
    """The allowed moves between the states of one enum.

    ``moves`` maps every state to the states it may move to (a state with none is final);
    ``error`` is the IllegalTransition subclass raised for a move not in the table (its code is
    what the API answers); ``labels`` name the states for people (default: a ``TextChoices``
    label, else the value). Raises ValueError when the table is not complete or names a
    state of another enum (a programming error, found at import)."""

    def __init__(
        self,
        states: type[S],
        moves: Mapping[S, Iterable[S]],
        *,
        error: type[IllegalTransition] = IllegalTransition,
        labels: Mapping[S, str] | None = None,
    ) -> None:
        self.states = states
        self.moves: dict[S, frozenset[S]] = {s: frozenset(t) for s, t in moves.items()}
        self.error = error
        missing = set(states) - set(self.moves)
        strays = {t for targets in self.moves.values() for t in targets} | set(self.moves)
        strays -= set(states)
        if missing or strays:
            raise ValueError(f"{states.__name__}: table misses {missing or '-'}, strays {strays}")
        self._labels = dict(labels or {})

    # ------------------------------------------------------------------ reading the table
    def state(self, value: S | str) -> S:
        """The enum member of ``value``. Raises UnknownState."""
        try:
            return self.states(value)
        except ValueError:
            raise UnknownState(state=str(value)) from None

    def targets(self, current: S | str) -> frozenset[S]:
        return self.moves[self.state(current)]

    def allows(self, *, current: S | str, target: S | str) -> bool:
        return self.state(target) in self.targets(current)

    @property
    def final(self) -> frozenset[S]:
        return frozenset(s for s, targets in self.moves.items() if not targets)

    def label(self, state: S | str) -> str:
        member = self.state(state)
        return self._labels.get(member) or getattr(member, "label", None) or str(member.value)

    def choices(self) -> list[tuple[str, str]]:
        """``(value, label)`` pairs for a model field's ``choices``, in the enum's order."""
        return [(str(s.value), self.label(s)) for s in self.states]

    # ------------------------------------------------------------------ moving
    def check(self, *, current: S | str, target: S | str) -> Transition:
        """Allow ``current -> target`` or raise the machine's error (with ``current``,
        ``target`` and the ``allowed`` targets in its details). Raises UnknownState."""
        before, after = self.state(current), self.state(target)
        allowed = self.moves[before]
        if after not in allowed:
            raise self.error(
                current=str(before.value),
                target=str(after.value),
                allowed=sorted(str(s.value) for s in allowed),
            )
        return Transition(before=str(before.value), after=str(after.value))

    def record(
        self,
        instance: Any,
        *,
        target: S | str,
        actor: str,
        at: dt.datetime,
        reason: str = "",
        field: str = "status",
        columns: tuple[str, str] = ("from_status", "to_status"),
        update: Mapping[str, Any] | None = None,
        **event: Any,
    ) -> Transition:
        """Check the move of ``instance.<field>`` to ``target``, save it (with the other
        ``update`` fields) and add the event row through ``instance.events`` (its columns for
        the two states are ``columns``; ``actor``, ``reason``, ``at`` and ``event`` fill the
        rest). Call it inside the use case's transaction, on a row it holds locked. Raises the
        machine's error, UnknownState."""
        move = self.check(current=getattr(instance, field), target=target)
        changes = {field: move.after, **(update or {})}
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.save(update_fields=list(changes))
        before, after = columns
        instance.events.create(
            **{before: move.before, after: move.after},
            actor=actor,
            reason=reason,
            at=at,
            **event,
        )
        return move
