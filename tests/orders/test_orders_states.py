"""The order's two state machines, without a database: every allowed move passes, every other
one raises the machine's named error, the final states are the ones expected, and the model's
choices are the machine's."""

from __future__ import annotations

import itertools

import pytest

from haoka.core.errors import IllegalTransition
from haoka.orders import domain
from haoka.orders.domain import RefundState as R
from haoka.orders.domain import State as S
from haoka.orders.models import Order

REFUND_ALLOWED = {
    (R.NOT_DUE, R.PENDING),
    (R.PENDING, R.DONE),
    (R.PENDING, R.NONE),
    (R.DONE, R.PENDING),  # a duplicate or late payment after the refund
    (R.NONE, R.PENDING),  # a payment arriving after an unpaid order was cancelled
}


@pytest.mark.parametrize("current, target", sorted(REFUND_ALLOWED))
def test_each_allowed_refund_move_passes(current, target):
    move = domain.REFUND_MACHINE.check(current=current, target=target)
    assert (move.before, move.after) == (current.value, target.value)


@pytest.mark.parametrize(
    "current, target", sorted(set(itertools.product(R, R)) - REFUND_ALLOWED), ids=repr
)
def test_every_other_refund_move_raises_its_named_error(current, target):
    with pytest.raises(domain.RefundStateConflict) as refused:
        domain.REFUND_MACHINE.check(current=current, target=target)
    assert isinstance(refused.value, IllegalTransition)
    assert refused.value.code == "order_refund_state_conflict"
    assert refused.value.details["current"] == current.value


def test_a_refund_cannot_be_settled_twice_nor_without_being_due():
    with pytest.raises(domain.RefundStateConflict):
        domain.REFUND_MACHINE.check(current="DONE", target="NONE")
    with pytest.raises(domain.RefundStateConflict):
        domain.REFUND_MACHINE.check(current="", target="DONE")


def test_no_refund_state_is_final_a_later_payment_reopens_it():
    assert domain.REFUND_MACHINE.final == frozenset()


def test_the_order_machine_is_the_transition_table_and_keeps_its_error_code():
    assert domain.MACHINE.moves == domain.TRANSITIONS
    assert domain.MACHINE.final == domain.FINAL
    with pytest.raises(domain.OrderStateConflict) as refused:
        domain.MACHINE.check(current=S.ACTIVATED, target=S.CANCELLED)
    assert refused.value.code == "order_state_conflict"


def test_the_models_choices_derive_from_the_machines():
    assert Order._meta.get_field("state").choices == domain.MACHINE.choices()
    assert Order._meta.get_field("refund_state").choices == domain.REFUND_MACHINE.choices()
    assert dict(domain.MACHINE.choices())["SIGNED"] == domain.LABELS[S.SIGNED]
