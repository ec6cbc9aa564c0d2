"""The state machines of charging (an Nchf session, a top-up): their tables without a
database, and a top-up refused a move its table does not have."""

from __future__ import annotations

import pytest

from haoka.charging import domain, topups
from haoka.charging.domain import (
    SESSION_MACHINE,
    SOURCE_LABELS,
    TOPUP_MACHINE,
    UNIT_LABELS,
    SessionState,
    Source,
    TopUpStatus,
    Unit,
)
from haoka.charging.models import Bucket, ChargingSession, Grant, TopUp, UsageRecord
from tests.support.charging import make_line, wallet_fen

T = TopUpStatus
PLAN = "CM-MANGO-39"


def test_a_session_ends_once_released_or_expired():
    for target in (SessionState.RELEASED, SessionState.EXPIRED):
        SESSION_MACHINE.check(current=SessionState.OPEN, target=target)
    for current, target in [
        (SessionState.RELEASED, SessionState.OPEN),
        (SessionState.EXPIRED, SessionState.RELEASED),
        (SessionState.OPEN, SessionState.OPEN),  # an update is not a move
    ]:
        with pytest.raises(domain.SessionStateConflict) as refused:
            SESSION_MACHINE.check(current=current, target=target)
        assert refused.value.code == "session_state_conflict"
    assert SESSION_MACHINE.final == {SessionState.RELEASED, SessionState.EXPIRED}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (T.PENDING, T.PAID),
        (T.PENDING, T.FAILED),  # a manual top-up whose payment could not start
        (T.FAILED, T.PAID),  # the gateway took the money all the same
        (T.PENDING, T.REFUNDING),  # paid after the line closed
        (T.FAILED, T.REFUNDING),
        (T.PAID, T.REFUNDING),  # another attempt paid after the line closed
        (T.REFUNDING, T.REFUNDED),
        (T.REFUNDED, T.REFUNDING),
    ],
)
def test_a_top_up_makes_the_moves_of_its_table(current, target):
    TOPUP_MACHINE.check(current=current, target=target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (T.PAID, T.PENDING),
        (T.PAID, T.FAILED),
        (T.FAILED, T.PENDING),
        (T.PENDING, T.REFUNDED),  # only what is being refunded is refunded
        (T.REFUNDING, T.PAID),  # a closed line's wallet takes no money
        (T.REFUNDED, T.PAID),
        (T.REFUNDING, T.FAILED),
    ],
)
def test_a_top_up_refuses_any_other_move(current, target):
    with pytest.raises(domain.TopUpStateConflict) as refused:
        TOPUP_MACHINE.check(current=current, target=target)
    assert refused.value.code == "topup_state_conflict" and refused.value.status == 409


def test_no_top_up_state_is_final_but_pending_has_no_way_back():
    assert TOPUP_MACHINE.final == frozenset()
    assert not any(T.PENDING in TOPUP_MACHINE.targets(s) for s in T)


@pytest.mark.django_db
def test_money_for_a_top_up_being_refunded_is_refused_on_a_live_line(catalog, now):
    line = make_line(plan=PLAN, balance_fen=500, now=now)
    topup = TopUp.objects.create(
        ref="TUREFUNDING01", line_id=line.pk, kind="MANUAL", amount_fen=2000, method="WECHAT",
        status=T.REFUNDING, created_at=now,
    )  # fmt: skip
    with pytest.raises(domain.TopUpStateConflict):
        topups.payment_received(payment_id=1, reference=topup.ref, amount_fen=2000, now=now)
    topup.refresh_from_db()
    assert (topup.status, topup.credited_fen, wallet_fen(line)) == ("REFUNDING", 0, 500)


def test_each_state_and_unit_field_takes_its_choices_from_the_domain():
    assert TopUp._meta.get_field("status").choices == TOPUP_MACHINE.choices()
    assert ChargingSession._meta.get_field("state").choices == SESSION_MACHINE.choices()
    units = [(u.value, UNIT_LABELS[u]) for u in Unit]
    for model in (Bucket, Grant, UsageRecord):
        assert model._meta.get_field("unit").choices == units
    assert Bucket._meta.get_field("source").choices == [(s.value, SOURCE_LABELS[s]) for s in Source]
    assert TOPUP_MACHINE.label("REFUNDING") == "退款中"
