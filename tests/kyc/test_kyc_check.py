"""check_identity end to end: what passes, each reason a check is refused, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from haoka.core.phone import InvalidMsisdn
from haoka.kyc import blacklists, operations, providers
from haoka.kyc.domain import InvalidAddress, InvalidIdNumber, InvalidName, InvalidPhoto
from haoka.kyc.models import (
    ClaimStatus,
    IdentityClaim,
    KycAttempt,
    KycDocument,
    KycEvent,
    KycRecord,
)
from haoka.kyc.operations import InvalidKycRequest
from tests.support.kyc import (
    DAY,
    ID_A,
    ID_B,
    JPEG,
    NAME,
    NOW,
    CountingVerifier,
    address,
    check,
    make_id,
    make_user,
    new_ref,
    plan,
)

pytestmark = pytest.mark.django_db


def test_a_valid_identity_passes_with_masked_data_and_takes_one_claim():
    ref = new_ref()
    result = check(order_ref=ref)
    assert result.status == "PASSED"
    assert result.reason_code == ""
    assert result.message == "实名认证通过"
    assert result.name_masked == "李*龙"
    assert result.id_masked == "110***********1233"
    assert result.birth_date == dt.date(1990, 3, 7)
    assert result.age == 35
    assert len(result.id_hash) == 64
    record = KycRecord.objects.get(order_ref=ref)
    assert (record.status, record.name, record.id_number) == ("PASSED", NAME, ID_A)
    assert record.id_hash == result.id_hash
    claim = IdentityClaim.objects.get(order_ref=ref)
    assert (claim.status, claim.carrier, claim.id_hash) == ("ACTIVE", "CMCC", result.id_hash)
    assert KycAttempt.objects.filter(order_ref=ref, status="PASSED").count() == 1


def test_age_is_taken_on_the_beijing_date_around_the_sixteenth_birthday():
    young = make_id("110101", "20100302", "123")
    # 2026-03-01 23:59 Beijing: still 15.
    before = check(id_number=young, now=dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.UTC))
    assert (before.status, before.reason_code, before.age) == ("REJECTED", "age_out_of_range", 15)
    # 2026-03-02 00:30 Beijing (still 1 March in UTC): 16 today.
    after = check(id_number=young, now=dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert (after.status, after.age) == ("PASSED", 16)


def test_too_old_for_the_plan_is_rejected_with_the_range_in_the_message():
    result = check(plan=plan(max_age=30))
    assert result.status == "REJECTED" and result.reason_code == "age_out_of_range"
    assert "16-30" in result.message


def test_a_forbidden_shipping_region_is_rejected():
    result = check(plan=plan(forbidden_regions=("广东/深圳",)))
    assert (result.status, result.reason_code) == ("REJECTED", "region_not_allowed")
    assert "禁发区" in result.message


def test_a_province_outside_the_sale_regions_is_rejected():
    result = check(plan=plan(sale_regions=("北京", "上海")))
    assert result.reason_code == "region_not_allowed"
    assert "北京、上海" in result.message


def test_a_name_that_does_not_match_the_id_is_rejected_by_the_sandbox_verifier():
    result = check(name="假名字")
    assert (result.status, result.reason_code) == ("REJECTED", "identity_mismatch")
    assert "不一致" in result.message


def test_an_id_with_sequence_999_does_not_match_in_the_sandbox():
    result = check(id_number=make_id("310104", "19880606", "999"))
    assert result.reason_code == "identity_mismatch"


def test_a_plan_requiring_photos_rejects_a_check_without_them():
    result = check(plan=plan(requires_photos=True))
    assert (result.status, result.reason_code) == ("REJECTED", "photos_required")
    assert check(plan=plan(requires_photos=True), photos=[JPEG] * 3).status == "PASSED"


def test_rejected_checks_are_stored_for_staff_but_take_no_claim():
    ref = new_ref()
    check(order_ref=ref, plan=plan(max_age=20))
    record = KycRecord.objects.get(order_ref=ref)
    assert (record.status, record.reason_code) == ("REJECTED", "age_out_of_range")
    assert not IdentityClaim.objects.filter(order_ref=ref).exists()


def test_the_first_failing_check_decides_the_reason():
    blacklists.add_blacklist(kind="ID", value=ID_A, reason="欺诈", staff_id=None, now=NOW)
    result = check(plan=plan(max_age=20), name="假名字")
    assert result.reason_code == "age_out_of_range"
    assert check(name="假名字").reason_code == "blacklisted_id"


def test_the_verifier_is_not_asked_when_an_earlier_check_refuses(settings):
    settings.KYC_PROVIDER = "tests.support.kyc.CountingVerifier"
    CountingVerifier.calls = 0
    check(plan=plan(max_age=20))
    assert CountingVerifier.calls == 0
    check()
    assert CountingVerifier.calls == 1


def test_an_unavailable_verifier_is_an_error_that_stores_nothing(settings):
    settings.KYC_PROVIDER = "tests.support.kyc.BrokenVerifier"
    with pytest.raises(providers.VerifierUnavailable):
        check()
    assert not KycRecord.objects.exists() and not KycAttempt.objects.exists()


def test_the_sandbox_verifier_refuses_to_run_outside_sandbox_mode(settings):
    settings.SANDBOX = False
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured):
        providers.verifier()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"id_number": "110101199003071234"}, InvalidIdNumber),
        ({"id_number": make_id("990101", "19900307", "123")}, InvalidIdNumber),
        ({"name": "John Smith"}, InvalidName),
        ({"phone": "12345"}, InvalidMsisdn),
        ({"address": address(phone="0755-1234")}, InvalidMsisdn),
        ({"address": address(detail="  ")}, InvalidAddress),
        ({"photos": [b"GIF89a...."]}, InvalidPhoto),
        ({"order_ref": ""}, InvalidKycRequest),
        ({"carrier": ""}, InvalidKycRequest),
    ],
)
def test_bad_input_raises_a_named_error_and_changes_nothing(overrides, error):
    with pytest.raises(error):
        check(**overrides)
    assert not KycRecord.objects.exists()
    assert not KycAttempt.objects.exists()
    assert not IdentityClaim.objects.exists()


def test_a_lower_case_x_id_number_hashes_like_the_upper_case_one():
    upper = make_id("510107", "19930811", "222")
    assert upper.endswith("X")
    first = check(id_number=upper.lower())
    assert first.id_hash == check(id_number=upper).id_hash


def test_re_checking_an_order_replaces_its_record_and_keeps_one_claim():
    ref = new_ref()
    check(order_ref=ref)
    check(order_ref=ref, now=NOW + dt.timedelta(minutes=5))
    assert KycRecord.objects.filter(order_ref=ref).count() == 1
    assert IdentityClaim.objects.filter(order_ref=ref, status="ACTIVE").count() == 1
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == 1
    events = KycEvent.objects.filter(record__order_ref=ref).order_by("at", "id")
    assert [(e.from_status, e.to_status) for e in events] == [("", "PASSED"), ("PASSED", "PASSED")]


def test_re_checking_with_another_id_moves_the_claim_to_that_id():
    ref = new_ref()
    first = check(order_ref=ref)
    second = check(order_ref=ref, id_number=ID_B, now=NOW + DAY)
    claim = IdentityClaim.objects.get(order_ref=ref)
    assert claim.id_hash == second.id_hash != first.id_hash
    assert claim.status == ClaimStatus.ACTIVE
    assert KycRecord.objects.get(order_ref=ref).id_number == ID_B


def test_a_re_check_that_is_rejected_releases_the_claim_and_drops_the_photos():
    ref = new_ref()
    check(order_ref=ref, photos=[JPEG, JPEG, JPEG])
    assert KycDocument.objects.filter(order_ref=ref).count() == 3
    result = check(order_ref=ref, plan=plan(forbidden_regions=("广东",)), photos=[JPEG] * 3)
    assert result.status == "REJECTED"
    assert IdentityClaim.objects.get(order_ref=ref).status == ClaimStatus.RELEASED
    assert not KycDocument.objects.filter(order_ref=ref).exists()


def test_records_belong_to_the_user_who_checked():
    other = make_user("other")
    ref = new_ref()
    check(order_ref=ref, user=other)
    assert KycRecord.objects.get(order_ref=ref).user_id == other.pk


def test_other_domains_can_compute_the_same_id_hash_from_a_clear_number():
    result = check()
    assert operations.id_hash(id_number=ID_A.lower()) == result.id_hash
