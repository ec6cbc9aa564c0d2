"""The state machines of lines (a line, its SIM cards, a closure and its refunds): their
tables, read without a database."""

from __future__ import annotations

import pytest

from haoka.core.states import UnknownState
from haoka.lines import domain
from haoka.lines.domain import (
    CLOSURE_MACHINE,
    CLOSURE_REFUND_MACHINE,
    LINE_MACHINE,
    SIM_MACHINE,
    ClosureRefundState,
    ClosureState,
    LineState,
    SimStatus,
)
from haoka.lines.models import ClosureRefund, Line, LineClosure, SimCard

L = LineState


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (L.PENDING_ACTIVATION, L.ACTIVE),
        (L.PENDING_ACTIVATION, L.CLOSED),
        (L.ACTIVE, L.SUSPENDED),
        (L.ACTIVE, L.CLOSED),
        (L.ACTIVE, L.PORTED_OUT),
        (L.SUSPENDED, L.ACTIVE),
        (L.SUSPENDED, L.CLOSED),
    ],
)
def test_a_line_makes_the_moves_of_its_table(current, target):
    move = LINE_MACHINE.check(current=current, target=target)
    assert (move.before, move.after) == (current.value, target.value)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (L.PENDING_ACTIVATION, L.SUSPENDED),
        (L.PENDING_ACTIVATION, L.PORTED_OUT),
        (L.ACTIVE, L.PENDING_ACTIVATION),
        (L.ACTIVE, L.ACTIVE),
        (L.SUSPENDED, L.PORTED_OUT),  # a suspended number cannot be ported out
        (L.CLOSED, L.ACTIVE),
        (L.PORTED_OUT, L.ACTIVE),
    ],
)
def test_a_line_refuses_any_other_move_with_its_stable_code(current, target):
    with pytest.raises(domain.LineStateConflict) as refused:
        LINE_MACHINE.check(current=current, target=target)
    assert refused.value.code == "line_state_conflict" and refused.value.status == 409
    assert refused.value.details["current"] == current.value
    assert refused.value.details["target"] == target.value


def test_a_closed_or_ported_out_line_is_final():
    assert LINE_MACHINE.final == {L.CLOSED, L.PORTED_OUT}


def test_an_unknown_line_state_is_refused():
    with pytest.raises(UnknownState):
        LINE_MACHINE.check(current="ACTIVE", target="DORMANT")


def test_a_sim_card_is_retired_once_and_for_good():
    SIM_MACHINE.check(current=SimStatus.ACTIVE, target=SimStatus.RETIRED)
    with pytest.raises(domain.SimStateConflict) as refused:
        SIM_MACHINE.check(current=SimStatus.RETIRED, target=SimStatus.ACTIVE)
    assert refused.value.code == "sim_state_conflict"
    assert SIM_MACHINE.final == {SimStatus.RETIRED}


def test_a_closure_ends_done_or_left_for_staff_and_its_refunds_are_sent_or_refused():
    for target in (ClosureState.DONE, ClosureState.MANUAL):
        CLOSURE_MACHINE.check(current=ClosureState.REFUNDING, target=target)
    for current, target in [
        (ClosureState.DONE, ClosureState.REFUNDING),
        (ClosureState.MANUAL, ClosureState.DONE),
        (ClosureState.DONE, ClosureState.MANUAL),
    ]:
        with pytest.raises(domain.ClosureStateConflict):
            CLOSURE_MACHINE.check(current=current, target=target)
    assert CLOSURE_MACHINE.final == {ClosureState.DONE, ClosureState.MANUAL}
    R = ClosureRefundState
    for target in (R.SENT, R.FAILED):
        CLOSURE_REFUND_MACHINE.check(current=R.PLANNED, target=target)
    for current, target in [(R.SENT, R.FAILED), (R.FAILED, R.SENT), (R.SENT, R.PLANNED)]:
        with pytest.raises(domain.ClosureStateConflict) as refused:
            CLOSURE_REFUND_MACHINE.check(current=current, target=target)
        assert refused.value.code == "closure_state_conflict"
    assert CLOSURE_REFUND_MACHINE.final == {R.SENT, R.FAILED}


@pytest.mark.parametrize(
    ("model", "field", "machine"),
    [
        (Line, "status", LINE_MACHINE),
        (SimCard, "status", SIM_MACHINE),
        (LineClosure, "state", CLOSURE_MACHINE),
        (ClosureRefund, "state", CLOSURE_REFUND_MACHINE),
    ],
)
def test_each_state_field_takes_its_choices_from_its_machine(model, field, machine):
    assert model._meta.get_field(field).choices == machine.choices()


def test_states_are_named_in_chinese_for_people():
    assert LINE_MACHINE.label("SUSPENDED") == "停机"
    assert SIM_MACHINE.label(SimStatus.RETIRED) == "已失效"
    assert CLOSURE_MACHINE.label("MANUAL") == "待人工退款"
