"""The state-machine helper: a complete table, checked moves, recorded transitions."""

from __future__ import annotations

import datetime as dt
import enum

import pytest
from django.db import models

from haoka.core.errors import IllegalTransition
from haoka.core.states import Machine, Transition, UnknownState

NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


class Door(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    LOCKED = "LOCKED"
    GONE = "GONE"


class DoorStuck(IllegalTransition):
    code = "door_stuck"
    message = "门卡住了"


DOOR = Machine(
    Door,
    {
        Door.OPEN: {Door.CLOSED, Door.GONE},
        Door.CLOSED: {Door.OPEN, Door.LOCKED},
        Door.LOCKED: {Door.CLOSED},
        Door.GONE: set(),
    },
    error=DoorStuck,
    labels={Door.OPEN: "开", Door.CLOSED: "关"},
)


def test_an_allowed_move_is_returned_as_a_transition():
    assert DOOR.check(current="OPEN", target=Door.CLOSED) == Transition("OPEN", "CLOSED")
    assert DOOR.allows(current=Door.CLOSED, target="LOCKED")


def test_a_move_outside_the_table_raises_the_machines_error_with_what_is_allowed():
    with pytest.raises(DoorStuck) as raised:
        DOOR.check(current=Door.LOCKED, target=Door.OPEN)
    assert raised.value.code == "door_stuck"
    assert raised.value.details == {"current": "LOCKED", "target": "OPEN", "allowed": ["CLOSED"]}
    assert not DOOR.allows(current="LOCKED", target="OPEN")


def test_a_state_the_enum_does_not_know_is_refused_as_unknown():
    with pytest.raises(UnknownState):
        DOOR.check(current="AJAR", target="OPEN")
    with pytest.raises(UnknownState):
        DOOR.check(current="OPEN", target="ajar")


def test_states_without_moves_are_final():
    assert DOOR.final == {Door.GONE}
    with pytest.raises(DoorStuck):
        DOOR.check(current=Door.GONE, target=Door.OPEN)


def test_a_table_that_forgets_a_state_or_names_another_enums_state_is_refused_at_once():
    with pytest.raises(ValueError, match="misses"):
        Machine(Door, {Door.OPEN: set()})

    class Other(enum.StrEnum):
        X = "X"

    table = {door: set() for door in Door} | {Door.OPEN: {Other.X}}
    with pytest.raises(ValueError, match="strays"):
        Machine(Door, table)


def test_choices_follow_the_enum_with_labels_falling_back_to_text_choices_then_values():
    assert DOOR.choices() == [
        ("OPEN", "开"),
        ("CLOSED", "关"),
        ("LOCKED", "LOCKED"),
        ("GONE", "GONE"),
    ]

    class Light(models.TextChoices):
        ON = "ON", "亮"
        OFF = "OFF", "灭"

    light = Machine(Light, {Light.ON: {Light.OFF}, Light.OFF: {Light.ON}})
    assert light.choices() == [("ON", "亮"), ("OFF", "灭")]
    assert light.label("OFF") == "灭"


class _Events:
    def __init__(self):
        self.rows = []

    def create(self, **fields):
        self.rows.append(fields)


class _Row:
    """Stands in for a model instance: ``save(update_fields=...)`` and ``events.create``."""

    def __init__(self, status):
        self.status = status
        self.note = ""
        self.saved = []
        self.events = _Events()

    def save(self, *, update_fields):
        self.saved.append(update_fields)


def test_record_saves_the_new_state_and_the_event_that_says_who_when_and_why():
    door = _Row("CLOSED")
    move = DOOR.record(
        door,
        target=Door.LOCKED,
        actor="user:7",
        at=NOW,
        reason="夜间",
        update={"note": "locked for the night"},
        data={"key": "k1"},
    )
    assert move == Transition("CLOSED", "LOCKED")
    assert (door.status, door.note) == ("LOCKED", "locked for the night")
    assert door.saved == [["status", "note"]]
    assert door.events.rows == [
        {
            "from_status": "CLOSED",
            "to_status": "LOCKED",
            "actor": "user:7",
            "reason": "夜间",
            "at": NOW,
            "data": {"key": "k1"},
        }
    ]


def test_record_of_an_illegal_move_writes_nothing():
    door = _Row("LOCKED")
    with pytest.raises(DoorStuck):
        DOOR.record(door, target=Door.GONE, actor="system", at=NOW)
    assert door.status == "LOCKED"
    assert door.saved == [] and door.events.rows == []


def test_record_names_the_event_columns_of_models_that_call_them_otherwise():
    door = _Row("OPEN")
    door.state = "OPEN"
    DOOR.record(
        door, target="CLOSED", field="state", columns=("from_state", "to_state"), actor="a", at=NOW
    )
    assert door.state == "CLOSED"
    assert door.events.rows[0]["from_state"] == "OPEN"
    assert door.events.rows[0]["to_state"] == "CLOSED"
