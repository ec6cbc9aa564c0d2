"""Payment rules without a database: states, ids, refund amounts, notification shape."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core.errors import IllegalTransition
from haoka.payments import domain
from haoka.payments.domain import PaymentState as P
from haoka.payments.domain import RefundState as R

ALLOWED = {
    (P.CREATED, P.PENDING),
    (P.CREATED, P.PAID),
    (P.CREATED, P.CLOSED),
    (P.PENDING, P.PAID),
    (P.PENDING, P.CLOSED),
    (P.PAID, P.PARTIALLY_REFUNDED),
    (P.PAID, P.REFUNDED),
    (P.PARTIALLY_REFUNDED, P.PARTIALLY_REFUNDED),
    (P.PARTIALLY_REFUNDED, P.REFUNDED),
    (P.CLOSED, P.PAID),
}

# ---------------------------------------------------------------- transitions


@pytest.mark.parametrize("current,target", sorted(ALLOWED))
def test_each_allowed_payment_transition_passes(current, target):
    domain.check_transition(current=current, target=target)


@pytest.mark.parametrize("current,target", sorted(set(itertools.product(P, P)) - ALLOWED), ids=str)
def test_every_other_payment_transition_raises_illegal_transition(current, target):
    with pytest.raises(IllegalTransition) as info:
        domain.check_transition(current=current, target=target)
    assert info.value.details["current"] == current
    assert info.value.details["allowed"] == sorted(domain.TRANSITIONS[current])


def test_a_paid_payment_can_never_become_closed_or_pending_again():
    for paid in domain.PAID_STATES:
        for unpaid in (P.CLOSED, P.PENDING, P.CREATED):
            with pytest.raises(IllegalTransition):
                domain.check_transition(current=paid, target=unpaid)


def test_a_fully_refunded_payment_is_final():
    assert domain.TRANSITIONS[P.REFUNDED] == frozenset()


def test_refunds_go_from_requested_to_succeeded_or_failed_and_stop_there():
    domain.check_refund_transition(current=R.REQUESTED, target=R.SUCCEEDED)
    domain.check_refund_transition(current=R.REQUESTED, target=R.FAILED)
    for current, target in itertools.product((R.SUCCEEDED, R.FAILED), R):
        with pytest.raises(IllegalTransition):
            domain.check_refund_transition(current=current, target=target)


def test_an_unknown_state_is_a_validation_error_not_a_crash():
    with pytest.raises(domain.UnknownPaymentState):
        domain.check_transition(current="PAID", target="LOST")


def test_start_creates_anew_only_when_nothing_is_open_or_paid():
    assert domain.next_step(None) is domain.NextStep.NEW_ATTEMPT
    assert domain.next_step(P.CLOSED) is domain.NextStep.NEW_ATTEMPT
    assert domain.next_step(P.CREATED) is domain.NextStep.RESUME
    for status in (P.PENDING, P.PAID, P.PARTIALLY_REFUNDED, P.REFUNDED):
        assert domain.next_step(status) is domain.NextStep.RETURN


# ---------------------------------------------------------------- ids


def test_merchant_order_ids_name_purpose_reference_and_attempt():
    assert domain.merchant_order_id(purpose="ORDER", reference="HK123", attempt=1) == "ord_HK123_1"
    assert domain.merchant_order_id(purpose="TOPUP", reference="TU9", attempt=2) == "top_TU9_2"


def test_every_attempt_of_a_reference_gets_its_own_merchant_order_id():
    ids = {
        domain.merchant_order_id(purpose="ORDER", reference="A", attempt=n) for n in range(1, 50)
    }
    assert len(ids) == 49


def test_attempt_and_refund_numbers_start_at_one():
    with pytest.raises(ValueError):
        domain.merchant_order_id(purpose="ORDER", reference="A", attempt=0)
    with pytest.raises(ValueError):
        domain.refund_id(payment_pk=1, n=0)


def test_refund_ids_are_deterministic_per_payment_and_number():
    assert domain.refund_id(payment_pk=42, n=1) == "rf_42_1"
    assert domain.refund_id(payment_pk=42, n=1) == domain.refund_id(payment_pk=42, n=1)
    assert domain.refund_id(payment_pk=4, n=21) != domain.refund_id(payment_pk=42, n=1)


@pytest.mark.parametrize("reference", ["", "a" * 65, "订单1", "a b", "a/b", None, 3.5])
def test_references_that_cannot_be_part_of_a_gateway_id_are_refused(reference):
    with pytest.raises(domain.InvalidReference):
        domain.validate_reference(reference)


def test_references_of_letters_digits_dash_and_underscore_are_accepted():
    assert domain.validate_reference("HK-2603_01") == "HK-2603_01"
    assert domain.validate_reference("13800138000") == "13800138000"


# ---------------------------------------------------------------- amounts and methods


@pytest.mark.parametrize("amount", [0, -1, 1.5, "100", True, None, domain.MAX_AMOUNT_FEN + 1])
def test_payable_amounts_are_positive_integers_of_fen(amount):
    with pytest.raises(domain.InvalidAmount):
        domain.validate_amount(amount)


def test_methods_are_wechat_or_alipay_in_any_case():
    assert domain.parse_method("wechat") is domain.Method.WECHAT
    assert domain.parse_method(" ALIPAY ") is domain.Method.ALIPAY
    with pytest.raises(domain.InvalidMethod):
        domain.parse_method("cash")


# ---------------------------------------------------------------- refund amounts


def test_refunding_none_means_all_that_is_left():
    left = domain.refund_amount(
        requested_fen=None, amount_fen=10_000, refunded_fen=2_500, in_flight_fen=500
    )
    assert left == 7_000


def test_a_refund_may_take_exactly_what_is_left():
    assert (
        domain.refund_amount(requested_fen=300, amount_fen=1_000, refunded_fen=700, in_flight_fen=0)
        == 300
    )


def test_a_refund_of_more_than_is_left_is_refused():
    with pytest.raises(domain.RefundExceedsPayment) as info:
        domain.refund_amount(requested_fen=301, amount_fen=1_000, refunded_fen=700, in_flight_fen=0)
    assert info.value.details["refundable_fen"] == 300


def test_refunds_under_way_count_against_what_is_left():
    with pytest.raises(domain.RefundExceedsPayment):
        domain.refund_amount(
            requested_fen=200, amount_fen=1_000, refunded_fen=700, in_flight_fen=200
        )


def test_refunding_all_that_is_left_of_nothing_is_refused():
    with pytest.raises(domain.RefundExceedsPayment):
        domain.refund_amount(
            requested_fen=None, amount_fen=1_000, refunded_fen=1_000, in_flight_fen=0
        )


@pytest.mark.parametrize("requested", [0, -5, 2.5, True])
def test_a_refund_amount_must_be_a_positive_integer(requested):
    with pytest.raises(domain.InvalidAmount):
        domain.refund_amount(
            requested_fen=requested, amount_fen=1_000, refunded_fen=0, in_flight_fen=0
        )


def test_the_status_after_a_refund_is_partial_until_everything_went_back():
    assert domain.status_after_refund(amount_fen=1_000, refunded_fen=1) is P.PARTIALLY_REFUNDED
    assert domain.status_after_refund(amount_fen=1_000, refunded_fen=999) is P.PARTIALLY_REFUNDED
    assert domain.status_after_refund(amount_fen=1_000, refunded_fen=1_000) is P.REFUNDED
    with pytest.raises(domain.RefundExceedsPayment):
        domain.status_after_refund(amount_fen=1_000, refunded_fen=1_001)


@given(
    amount=st.integers(1, 10**7),
    requests=st.lists(st.one_of(st.none(), st.integers(-10, 10**7)), max_size=12),
)
def test_whatever_is_asked_refunds_never_add_up_to_more_than_was_paid(amount, requests):
    refunded = 0
    for requested in requests:
        try:
            got = domain.refund_amount(
                requested_fen=requested, amount_fen=amount, refunded_fen=refunded, in_flight_fen=0
            )
        except (domain.RefundExceedsPayment, domain.InvalidAmount):
            continue
        assert got > 0
        refunded += got
        assert refunded <= amount
    assert 0 <= refunded <= amount


# ---------------------------------------------------------------- notifications


def _note(**changes):
    note = {
        "event_id": "evt_1",
        "type": "payment.succeeded",
        "payment_id": "pay_1",
        "merchant_order_id": "ord_A_1",
        "amount_fen": 100,
        "paid_at": "2026-03-01T02:00:00+00:00",
    }
    note.update(changes)
    return {k: v for k, v in note.items() if v is not None}


def test_a_well_formed_notification_is_parsed():
    note = domain.parse_notification(_note())
    assert (note.event_id, note.type, note.amount_fen) == ("evt_1", "payment.succeeded", 100)


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": None},
        {"type": "payment.exploded"},
        {"amount_fen": "100"},
        {"amount_fen": 0},
        {"merchant_order_id": ""},
        {"type": "refund.succeeded"},  # a refund notification names its refund
    ],
)
def test_a_malformed_notification_is_refused(changes):
    with pytest.raises(domain.BadNotification):
        domain.parse_notification(_note(**changes))


def test_a_notification_must_be_a_json_object():
    with pytest.raises(domain.BadNotification):
        domain.parse_notification(["payment.succeeded"])
