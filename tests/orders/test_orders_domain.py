"""Pure order rules: the transition table and how carrier events move an order."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core.errors import ValidationError
from haoka.orders import domain
from haoka.orders.domain import State

S = State


@pytest.mark.parametrize(
    "current, target",
    [(a, b) for a, targets in domain.TRANSITIONS.items() for b in targets],
)
def test_every_listed_transition_is_allowed(current, target):
    domain.check_transition(current=current, target=target)


@pytest.mark.parametrize(
    "current, target",
    [
        (S.CREATED, S.PAID),
        (S.SIGNED, S.ACTIVATED),
        (S.SUBMITTED, S.CANCELLED),
        (S.ACTIVATED, S.CANCELLED),
        (S.CANCELLED, S.CREATED),
        (S.DELIVERED, S.SHIPPED),
    ],
)
def test_an_unlisted_transition_raises_and_says_what_is_allowed(current, target):
    with pytest.raises(domain.OrderStateConflict) as exc:
        domain.check_transition(current=current, target=target)
    assert exc.value.code == "order_state_conflict"
    assert exc.value.details["allowed"] == sorted(domain.TRANSITIONS[current])


def test_an_order_cannot_be_cancelled_once_it_is_with_the_carrier():
    assert S.SUBMITTED not in domain.CANCELLABLE
    assert all(S.CANCELLED in domain.TRANSITIONS[s] for s in domain.CANCELLABLE)


def test_failed_exits_are_final():
    assert domain.FAILED <= domain.FINAL


def test_the_amount_due_is_the_number_price_plus_the_first_top_up():
    assert domain.amount_due_fen(number_price_fen=188_800, first_topup_fen=5_000) == 193_800
    with pytest.raises(ValidationError):
        domain.amount_due_fen(number_price_fen=-1, first_topup_fen=0)


def test_every_state_has_a_chinese_label_and_a_next_action_entry():
    assert set(domain.LABELS) == set(State) == set(domain.NEXT_ACTION)


def test_order_refs_are_unguessable_and_well_formed():
    refs = {domain.new_order_ref() for _ in range(1000)}
    assert len(refs) == 1000
    assert all(r.startswith("HK") and len(r) == 18 for r in refs)


def test_submission_backoff_grows_and_is_capped():
    delays = [domain.submit_backoff(attempts=n) for n in range(1, 15)]
    assert delays[0] == dt.timedelta(seconds=2)
    assert delays == sorted(delays)
    assert delays[-1] == domain.SUBMIT_BACKOFF_CAP


def test_a_shipped_event_before_accepted_walks_through_accepted():
    plan = domain.plan_carrier_event(current=S.SUBMITTED, event_type="order.shipped")
    assert plan.steps == (S.ACCEPTED, S.SHIPPED) and not plan.merge_only


def test_a_late_accepted_event_only_adds_its_data():
    plan = domain.plan_carrier_event(current=S.SHIPPED, event_type="order.accepted")
    assert plan.steps == () and plan.merge_only and not plan.anomaly


def test_a_rejection_only_moves_an_order_the_carrier_has_not_shipped():
    assert domain.plan_carrier_event(current=S.SUBMITTED, event_type="order.rejected").steps == (
        S.CARRIER_REJECTED,
    )
    late = domain.plan_carrier_event(current=S.DELIVERED, event_type="order.rejected")
    assert late.steps == () and late.anomaly


def test_events_for_a_cancelled_order_are_flagged_not_applied():
    plan = domain.plan_carrier_event(current=S.CANCELLED, event_type="order.accepted")
    assert plan.steps == () and plan.anomaly


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValidationError):
        domain.plan_carrier_event(current=S.SUBMITTED, event_type="order.exploded")


EVENTS = ["order.accepted", "order.shipped", "order.delivered", "order.activated"]


@given(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=12))
def test_any_order_of_carrier_events_ends_at_the_furthest_one_through_legal_steps(arrivals):
    state = S.SUBMITTED
    for event in arrivals:
        plan = domain.plan_carrier_event(current=state, event_type=event)
        for step in plan.steps:
            domain.check_transition(current=state, target=step)
            state = step
    furthest = max(domain.CARRIER_PATH.index(domain.EVENT_STATE[e]) for e in arrivals)
    assert state == domain.CARRIER_PATH[furthest]


@pytest.mark.parametrize(
    "iccid, last6, ok",
    [
        ("89860012345678901234", "901234", True),
        ("89860012345678901234", "901235", False),
        ("89860012345678901234", "01234", False),
        ("89860012345678901234", "90123a", False),
        ("", "901234", False),
    ],
)
def test_the_card_is_proven_by_the_last_six_digits_of_its_iccid(iccid, last6, ok):
    assert domain.iccid_matches(iccid=iccid, last6=last6) is ok


# --------------------------------------------------------------------------- real-name outcomes


@pytest.mark.parametrize("reason", sorted(domain.CORRECTABLE_KYC_REASONS))
def test_a_typo_refusal_waits_for_a_correction_until_the_last_attempt(reason):
    targets = [
        domain.kyc_target(status="REJECTED", reason_code=reason, failures=f)
        for f in range(domain.KYC_ATTEMPTS)
    ]
    assert targets == [S.KYC_RETRY] * (domain.KYC_ATTEMPTS - 1) + [S.KYC_REJECTED]


@pytest.mark.parametrize(
    "reason", ["blacklisted_id", "age_out_of_range", "id_line_limit", "review_rejected", ""]
)
def test_a_hard_refusal_ends_the_order_at_once(reason):
    assert domain.kyc_target(status="REJECTED", reason_code=reason, failures=0) == S.KYC_REJECTED


@given(failures=st.integers(min_value=0, max_value=domain.KYC_ATTEMPTS))
def test_a_pass_or_a_flag_moves_on_whatever_failed_before(failures):
    assert domain.kyc_target(status="PASSED", reason_code="", failures=failures) == S.KYC_PASSED
    assert domain.kyc_target(status="FLAGGED", reason_code="velocity", failures=failures) == (
        S.KYC_REVIEW
    )
    left = domain.kyc_attempts_left(failures=failures)
    assert left == domain.KYC_ATTEMPTS - failures and left >= 0


def test_an_unknown_real_name_status_is_refused():
    with pytest.raises(ValidationError):
        domain.kyc_target(status="MAYBE", reason_code="", failures=0)


def test_an_order_waiting_for_a_correction_is_unpaid_cancellable_and_asks_for_kyc():
    assert S.KYC_RETRY in domain.UNPAID and S.KYC_RETRY in domain.CANCELLABLE
    assert domain.NEXT_ACTION[S.KYC_RETRY] == "kyc"
    assert domain.TRANSITIONS[S.KYC_RETRY] == {
        S.KYC_PASSED, S.KYC_REVIEW, S.KYC_REJECTED, S.CANCELLED
    }  # fmt: skip
