"""The payment and refund machines, without a database: final states, named errors, and the
models' choices derived from them."""

from __future__ import annotations

import pytest

from haoka.core.errors import IllegalTransition
from haoka.payments import domain
from haoka.payments.domain import PaymentState as P
from haoka.payments.domain import RefundState as R
from haoka.payments.models import Payment, Refund


def test_the_final_states():
    assert domain.MACHINE.final == {P.REFUNDED}
    assert domain.REFUND_MACHINE.final == {R.SUCCEEDED, R.FAILED}


def test_a_refused_move_raises_the_machines_error_with_the_same_code_as_before():
    with pytest.raises(domain.PaymentStateConflict) as refused:
        domain.check_transition(current=P.REFUNDED, target=P.PAID)
    assert isinstance(refused.value, IllegalTransition)
    assert refused.value.code == "illegal_transition"
    assert refused.value.details == {"current": "REFUNDED", "target": "PAID", "allowed": []}
    with pytest.raises(domain.RefundStateConflict):
        domain.check_refund_transition(current=R.FAILED, target=R.SUCCEEDED)


def test_an_unknown_refund_state_keeps_the_payments_code():
    with pytest.raises(domain.UnknownPaymentState):
        domain.check_refund_transition(current="REQUESTED", target="LOST")


def test_the_models_choices_derive_from_the_machines():
    assert Payment._meta.get_field("status").choices == domain.MACHINE.choices()
    assert Refund._meta.get_field("status").choices == domain.REFUND_MACHINE.choices()
    assert dict(domain.MACHINE.choices())["PENDING"] == "待支付"
