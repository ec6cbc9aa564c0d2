"""一证五号 and staff review: a check waiting for review is an in-flight order. It takes its
slot when it is flagged, keeps it when approved and gives it back when rejected."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.kyc import domain, operations, queries
from haoka.kyc.domain import ClaimStatus
from haoka.kyc.models import IdentityClaim, IdentityClaimCounter
from tests.support.kyc import DAY, NOW, check, make_user, new_ref

pytestmark = pytest.mark.django_db
LATER = NOW + dt.timedelta(hours=3)
NORMAL_VELOCITY = domain.VELOCITY_LIMIT


@pytest.fixture
def flag_everything(monkeypatch):
    """Every check is sent to staff review (the velocity rule trips on the first order)."""
    monkeypatch.setattr(domain, "VELOCITY_LIMIT", 1)


@pytest.fixture
def staff():
    return make_user("reviewer")


def _five_in_review() -> list[str]:
    refs = []
    for _ in range(domain.LINE_LIMIT):
        ref = new_ref()
        assert check(order_ref=ref).status == "FLAGGED"
        refs.append(ref)
    return refs


def _active_slots(result) -> int:
    return queries.active_lines(id_hash=result.id_hash, carrier="CMCC")


def test_five_orders_in_review_hold_five_slots_and_a_sixth_is_refused_with_id_line_limit(
    flag_everything,
):
    _five_in_review()
    ref = new_ref()
    sixth = check(order_ref=ref)
    assert (sixth.status, sixth.reason_code) == ("REJECTED", "id_line_limit")
    assert "一证五号" in sixth.message
    assert not IdentityClaim.objects.filter(order_ref=ref, status=ClaimStatus.ACTIVE).exists()
    assert _active_slots(sixth) == domain.LINE_LIMIT
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == domain.LINE_LIMIT


def test_rejecting_an_order_in_review_frees_its_slot_for_a_new_order(
    flag_everything, staff, monkeypatch
):
    refs = _five_in_review()
    result = operations.review(
        order_ref=refs[0], approve=False, staff_id=staff.pk, note="疑似号贩子", now=LATER
    )
    assert (result.status, result.reason_code) == ("REJECTED", "review_rejected")
    claim = IdentityClaim.objects.get(order_ref=refs[0])
    assert (claim.status, claim.released_at) == (ClaimStatus.RELEASED, LATER)
    assert _active_slots(result) == domain.LINE_LIMIT - 1
    monkeypatch.setattr(domain, "VELOCITY_LIMIT", NORMAL_VELOCITY)
    new = check(now=NOW + 2 * DAY)
    assert (new.status, new.reason_code) == ("PASSED", "")
    assert _active_slots(new) == domain.LINE_LIMIT


def test_approving_an_order_in_review_keeps_its_slot_without_counting_it_twice(
    flag_everything, staff
):
    refs = _five_in_review()
    result = operations.review(
        order_ref=refs[0], approve=True, staff_id=staff.pk, note="本人来电核实", now=LATER
    )
    assert (result.status, result.reason_code) == ("PASSED", "")
    claim = IdentityClaim.objects.get(order_ref=refs[0])
    assert (claim.status, claim.created_at) == (ClaimStatus.ACTIVE, NOW)
    assert _active_slots(result) == domain.LINE_LIMIT
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == domain.LINE_LIMIT
    sixth = check()
    assert (sixth.status, sixth.reason_code) == ("REJECTED", "id_line_limit")


def test_a_recheck_of_an_order_in_review_keeps_its_one_slot(flag_everything):
    ref = new_ref()
    first = check(order_ref=ref)
    assert first.status == "FLAGGED"
    assert check(order_ref=ref).status == "FLAGGED"
    assert _active_slots(first) == 1
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == 1


def test_the_line_limit_in_domain_counts_checks_in_review():
    assert domain.holds_slot(domain.KycStatus.PASSED)
    assert domain.holds_slot(domain.KycStatus.FLAGGED)
    assert not domain.holds_slot(domain.KycStatus.REJECTED)
