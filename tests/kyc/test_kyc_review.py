"""Staff review of FLAGGED checks (which hold their 一证五号 slot): approve keeps it,
reject frees it; every decision recorded, audited without personal data, announced."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core.models import AuditRecord
from haoka.kyc import claims, operations, queries, signals
from haoka.kyc.domain import ClaimStatus, KycNotUnderReview
from haoka.kyc.models import IdentityClaim, KycEvent, KycRecord
from haoka.kyc.operations import KycNotFound, ReviewNoteRequired
from tests.support.kyc import DAY, ID_A, ID_B, ID_C, NAME, NOW, check, make_user, new_ref

pytestmark = pytest.mark.django_db
LATER = NOW + dt.timedelta(hours=3)


@pytest.fixture
def staff():
    return make_user("reviewer")


@pytest.fixture
def flagged() -> str:
    """An order of ID_C flagged because its phone placed two other orders today."""
    check(id_number=ID_A)
    check(id_number=ID_B)
    ref = new_ref()
    assert check(order_ref=ref, id_number=ID_C).status == "FLAGGED"
    return ref


@pytest.fixture
def announced():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.kyc_reviewed.connect(receiver)
    yield seen
    signals.kyc_reviewed.disconnect(receiver)


def test_approving_a_flagged_check_passes_it_and_takes_the_claim(flagged, staff, announced):
    result = operations.review(
        order_ref=flagged, approve=True, staff_id=staff.pk, note="本人来电核实", now=LATER
    )
    assert (result.status, result.reason_code, result.message) == ("PASSED", "", "人工审核通过")
    assert result.id_masked.endswith(ID_C[-4:])
    record = KycRecord.objects.get(order_ref=flagged)
    assert (record.status, record.reviewed_by_id, record.reviewed_at) == ("PASSED", staff.pk, LATER)
    assert record.review_note == "本人来电核实"
    assert IdentityClaim.objects.get(order_ref=flagged).status == ClaimStatus.ACTIVE
    assert queries.verified_name(order_ref=flagged) == NAME
    assert announced == [
        {
            "signal": signals.kyc_reviewed,
            "order_ref": flagged,
            "status": "PASSED",
            "reason_code": "",
            "now": LATER,
        }
    ]


def test_rejecting_a_flagged_check_frees_its_claim_and_records_who_when_why(flagged, staff):
    result = operations.review(
        order_ref=flagged, approve=False, staff_id=staff.pk, note="疑似号贩子", now=LATER
    )
    assert (result.status, result.reason_code) == ("REJECTED", "review_rejected")
    assert IdentityClaim.objects.get(order_ref=flagged).status == ClaimStatus.RELEASED
    event = KycEvent.objects.filter(record__order_ref=flagged).order_by("-at", "-id").first()
    assert (event.from_status, event.to_status, event.actor, event.note, event.at) == (
        "FLAGGED",
        "REJECTED",
        f"staff:{staff.pk}",
        "疑似号贩子",
        LATER,
    )


def test_each_review_is_audited_without_personal_data(flagged, staff):
    operations.review(order_ref=flagged, approve=True, staff_id=staff.pk, note="核实", now=LATER)
    audit = AuditRecord.objects.get(action="kyc.reviewed")
    assert (audit.actor, audit.object_id) == (f"staff:{staff.pk}", flagged)
    assert audit.data == {"approve": True, "status": "PASSED", "reason": ""}
    dump = repr(audit.data) + audit.object_id
    assert NAME not in dump and ID_C not in dump


def test_approving_a_check_flagged_without_a_slot_when_the_id_is_full_rejects_it(flagged, staff):
    # A check flagged before in-review orders held slots: it takes its slot on approval.
    claims.release(order_ref=flagged, reason="flagged before review held slots", now=NOW)
    for i in range(5):
        operations.import_active_claim(
            id_number=ID_C, carrier="CMCC", reference=f"LINE-{i}", staff_id=staff.pk, now=NOW
        )
    result = operations.review(
        order_ref=flagged, approve=True, staff_id=staff.pk, note="核实", now=LATER
    )
    assert (result.status, result.reason_code) == ("REJECTED", "id_line_limit")
    assert IdentityClaim.objects.get(order_ref=flagged).status == ClaimStatus.RELEASED


def test_only_flagged_checks_can_be_reviewed(flagged, staff):
    operations.review(order_ref=flagged, approve=False, staff_id=staff.pk, note="否", now=LATER)
    with pytest.raises(KycNotUnderReview):
        operations.review(order_ref=flagged, approve=True, staff_id=staff.pk, note="是", now=LATER)
    passed = new_ref()
    check(order_ref=passed, now=NOW + 2 * DAY)
    with pytest.raises(KycNotUnderReview):
        operations.review(order_ref=passed, approve=False, staff_id=staff.pk, note="否", now=LATER)


def test_a_review_needs_a_note_and_an_existing_record(flagged, staff):
    with pytest.raises(ReviewNoteRequired):
        operations.review(order_ref=flagged, approve=True, staff_id=staff.pk, note=" ", now=LATER)
    with pytest.raises(KycNotFound):
        operations.review(order_ref="HKNONE", approve=True, staff_id=staff.pk, note="x", now=LATER)
    assert KycRecord.objects.get(order_ref=flagged).status == "FLAGGED"


def test_a_failing_receiver_rolls_the_review_back(flagged, staff):
    def broken(sender, **kwargs):
        raise RuntimeError("orders could not move the order")

    signals.kyc_reviewed.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            operations.review(
                order_ref=flagged, approve=True, staff_id=staff.pk, note="核实", now=LATER
            )
    finally:
        signals.kyc_reviewed.disconnect(broken)
    assert KycRecord.objects.get(order_ref=flagged).status == "FLAGGED"
    assert IdentityClaim.objects.get(order_ref=flagged).status == ClaimStatus.ACTIVE


def test_a_flagged_check_has_no_verified_name_yet(flagged):
    with pytest.raises(queries.KycNotPassed):
        queries.verified_name(order_ref=flagged)
