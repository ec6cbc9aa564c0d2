"""一证五号: at most five lines (active plus in-flight) per ID per carrier."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from haoka.core.models import AuditRecord
from haoka.kyc import operations, queries
from haoka.kyc.domain import ClaimStatus, InvalidIdNumber
from haoka.kyc.models import IdentityClaim, IdentityClaimCounter
from haoka.kyc.operations import IdLineLimitReached
from tests.support.kyc import DAY, ID_A, ID_B, NOW, check, make_user, new_ref

pytestmark = pytest.mark.django_db


def _five_passes(carrier: str = "CMCC") -> list[str]:
    refs = []
    for i in range(5):  # a day apart, so the velocity rule stays out of the way
        ref = new_ref()
        assert check(order_ref=ref, carrier=carrier, now=NOW + i * DAY).status == "PASSED"
        refs.append(ref)
    return refs


def test_five_pass_and_the_sixth_for_the_same_carrier_is_rejected_with_id_line_limit():
    _five_passes()
    ref = new_ref()
    sixth = check(order_ref=ref, now=NOW + 5 * DAY)
    assert (sixth.status, sixth.reason_code) == ("REJECTED", "id_line_limit")
    assert "一证五号" in sixth.message
    assert not IdentityClaim.objects.filter(order_ref=ref).exists()
    assert queries.active_lines(id_hash=sixth.id_hash, carrier="CMCC") == 5


def test_a_sixth_order_at_another_carrier_passes():
    _five_passes()
    assert check(carrier="CUCC", now=NOW + 5 * DAY).status == "PASSED"


def test_another_id_is_not_affected_by_a_full_id():
    _five_passes()
    assert check(id_number=ID_B, now=NOW + 5 * DAY).status == "PASSED"


def test_releasing_a_claim_frees_a_slot_and_a_repeat_release_changes_nothing():
    refs = _five_passes()
    assert operations.release_claim(order_ref=refs[0], reason="订单取消", now=NOW + 5 * DAY)
    assert not operations.release_claim(order_ref=refs[0], reason="订单取消", now=NOW + 5 * DAY)
    claim = IdentityClaim.objects.get(order_ref=refs[0])
    assert (claim.status, claim.release_reason) == (ClaimStatus.RELEASED, "订单取消")
    assert claim.released_at == NOW + 5 * DAY
    assert check(now=NOW + 5 * DAY).status == "PASSED"


def test_releasing_an_order_that_never_took_a_claim_is_harmless():
    assert operations.release_claim(order_ref="HKNEVER", reason="取消", now=NOW) is False


def test_the_counter_follows_the_active_claims():
    refs = _five_passes()
    counter = IdentityClaimCounter.objects.get(carrier="CMCC")
    assert counter.active == 5
    operations.release_claim(order_ref=refs[1], reason="销户", now=NOW + 6 * DAY)
    counter.refresh_from_db()
    assert counter.active == 4


def test_the_database_refuses_a_counter_above_five():
    with pytest.raises(IntegrityError), transaction.atomic():
        IdentityClaimCounter.objects.create(id_hash="x" * 64, carrier="CMCC", active=6)


def test_an_order_ref_holds_at_most_one_claim_row():
    check(order_ref="HKDUP")
    with pytest.raises(IntegrityError), transaction.atomic():
        IdentityClaim.objects.create(
            id_hash="y" * 64,
            carrier="CUCC",
            order_ref="HKDUP",
            status="ACTIVE",
            source="ORDER",
            created_at=NOW,
        )


def test_staff_can_register_existing_lines_which_count_toward_the_five():
    staff = make_user("ops")
    for i in range(4):
        assert operations.import_active_claim(
            id_number=ID_A, carrier="CMCC", reference=f"LINE-{i}", staff_id=staff.pk, now=NOW
        )
    assert AuditRecord.objects.filter(action="kyc.claim_imported").count() == 4
    assert check().status == "PASSED"
    assert check(now=NOW + DAY).reason_code == "id_line_limit"
    with pytest.raises(IdLineLimitReached):
        operations.import_active_claim(
            id_number=ID_A, carrier="CMCC", reference="LINE-9", staff_id=staff.pk, now=NOW
        )


def test_registering_the_same_line_twice_is_a_no_op():
    staff = make_user("ops")
    kwargs = {"id_number": ID_A, "carrier": "CMCC", "reference": "LINE-1", "staff_id": staff.pk}
    assert operations.import_active_claim(**kwargs, now=NOW) is True
    assert operations.import_active_claim(**kwargs, now=NOW) is False
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == 1


def test_registering_an_invalid_id_number_is_refused():
    staff = make_user("ops")
    with pytest.raises(InvalidIdNumber):
        operations.import_active_claim(
            id_number="110101199003071234",
            carrier="CMCC",
            reference="LINE-1",
            staff_id=staff.pk,
            now=NOW,
        )
    assert not IdentityClaim.objects.exists()


def test_a_released_order_can_take_its_claim_again_on_a_re_check():
    ref = new_ref()
    check(order_ref=ref)
    operations.release_claim(order_ref=ref, reason="测试", now=NOW)
    assert check(order_ref=ref, now=NOW + DAY).status == "PASSED"
    claim = IdentityClaim.objects.get(order_ref=ref)
    assert (claim.status, claim.released_at, claim.release_reason) == ("ACTIVE", None, "")


def test_the_counter_check_is_the_last_guard_even_when_the_count_says_there_is_room():
    refs = _five_passes()
    # Simulate a lost update: a claim row says released, the counter still counts five.
    IdentityClaim.objects.filter(order_ref=refs[0]).update(status="RELEASED", released_at=NOW)
    sixth = check(now=NOW + 5 * DAY)
    assert (sixth.status, sixth.reason_code) == ("REJECTED", "id_line_limit")
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == 5
