"""Distribution's machines (agent, sale, commission entry, withdrawal, fraud flag), without a
database: allowed and refused moves, final states, the named errors (and their messages) and
the models' choices derived from the machines."""

from __future__ import annotations

import itertools

import pytest

from haoka.distribution import domain
from haoka.distribution.domain import AgentStatus as A
from haoka.distribution.domain import EntryStatus as E
from haoka.distribution.domain import FraudStatus as F
from haoka.distribution.domain import SaleState as S
from haoka.distribution.domain import WithdrawalStatus as W
from haoka.distribution.models import Agent, Entry, FraudFlag, Sale, Withdrawal

MACHINES = [
    (domain.AGENT_MACHINE, Agent),
    (domain.SALE_MACHINE, Sale),
    (domain.ENTRY_MACHINE, Entry),
    (domain.WITHDRAWAL_MACHINE, Withdrawal),
    (domain.FRAUD_MACHINE, FraudFlag),
]


@pytest.mark.parametrize("machine, model", MACHINES, ids=lambda m: getattr(m, "__name__", ""))
def test_every_move_is_allowed_or_raises_the_machines_error(machine, model):
    for current, target in itertools.product(machine.states, machine.states):
        if target in machine.moves[current]:
            machine.check(current=current, target=target)
        else:
            with pytest.raises(machine.error):
                machine.check(current=current, target=target)
    assert model._meta.get_field("status").choices == machine.choices()


def test_the_final_states():
    assert domain.AGENT_MACHINE.final == frozenset()  # a rejected agent may apply again
    assert domain.SALE_MACHINE.final == {S.ENDED}
    assert domain.ENTRY_MACHINE.final == {E.CLAWED_BACK}
    assert domain.WITHDRAWAL_MACHINE.final == {W.PAID, W.FAILED, W.REJECTED}
    assert domain.FRAUD_MACHINE.final == {F.CONFIRMED, F.DISMISSED}


def test_the_errors_keep_their_codes_and_name_the_states_for_people():
    with pytest.raises(domain.EntryStateConflict) as entry:
        domain.check_entry_transition(current=E.CLAWED_BACK, target=E.SETTLED)
    assert (entry.value.code, entry.value.message) == (
        "illegal_transition",
        "佣金状态不能从已追回变为已结算",
    )
    with pytest.raises(domain.AgentStateConflict) as agent:
        domain.check_agent_transition(current=A.PENDING, target=A.FROZEN)
    assert agent.value.message == "代理状态不能从待审核变为已冻结"
    with pytest.raises(domain.WithdrawalAlreadyDecided) as withdrawal:
        domain.WITHDRAWAL_MACHINE.check(current=W.PAID, target=W.PAYING)
    assert withdrawal.value.code == "withdrawal_already_decided"
    assert withdrawal.value.message == "该提现申请已到账，不能再变更"
    with pytest.raises(domain.FlagDecided) as flag:
        domain.FRAUD_MACHINE.check(current=F.DISMISSED, target=F.CONFIRMED)
    assert flag.value.code == "fraud_flag_decided"
    with pytest.raises(domain.SaleStateConflict):
        domain.SALE_MACHINE.check(current=S.ENDED, target=S.ACTIVATED)
