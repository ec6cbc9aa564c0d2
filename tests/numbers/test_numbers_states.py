"""The pool number's machine, without a database."""

from __future__ import annotations

import pytest

from haoka.numbers import domain
from haoka.numbers.domain import NumberState as S
from haoka.numbers.models import PhoneNumber


def test_the_machine_is_the_table_and_only_a_ported_out_number_is_final():
    assert domain.MACHINE.moves == domain.TRANSITIONS
    assert domain.MACHINE.final == {S.PORTED_OUT}


def test_a_refused_move_names_its_error_and_keeps_the_code():
    with pytest.raises(domain.NumberStateConflict) as refused:
        domain.check_transition(current=S.AVAILABLE, target=S.IN_USE)
    assert refused.value.code == "illegal_transition"
    assert refused.value.details["allowed"] == ["RESERVED"]


def test_the_models_choices_derive_from_the_machine():
    assert PhoneNumber._meta.get_field("status").choices == domain.MACHINE.choices()
    assert domain.MACHINE.label(S.COOLING) == "冷冻期"
