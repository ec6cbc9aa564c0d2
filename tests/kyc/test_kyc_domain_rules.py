"""Address normalization, photo sniffing and the order in which verdicts decide — pure."""

from __future__ import annotations

import pytest

from haoka.kyc import domain
from haoka.kyc.domain import InvalidPhoto, KycStatus, PhotoTooLarge, Verdict
from tests.support.kyc import GIF, JPEG, PNG, address, plan


def _norm(province="", city="", district="", detail=""):
    return domain.normalize_address(province=province, city=city, district=district, detail=detail)


REFERENCE = _norm("广东省", "深圳市", "南山区", "科技园科苑路8号1201室")


@pytest.mark.parametrize(
    "variant",
    [
        ("广东", "深圳", "南山区", "科技园科苑路8号1201室"),
        ("广东省", "深圳市", "南山区", " 科技园 科苑路 8号，1201室。"),
        ("广东省", "深圳市", "南山区", "科技园科苑路８号１２０１室"),  # full-width digits
        ("广东省", "深圳市", "南山区", "广东省深圳市南山区科技园科苑路8号1201室"),
        ("广东省", "深圳市", "", "南山区科技园科苑路8号1201室"),
        ("", "", "", "广东省深圳市南山区科技园科苑路8号1201室"),
        ("", "", "", "广东 深圳 南山区 科技园-科苑路 8 号 1201 室"),
    ],
)
def test_spelling_and_splitting_variants_of_one_address_normalize_alike(variant):
    assert _norm(*variant) == REFERENCE


def test_a_different_room_is_a_different_address():
    assert _norm("广东省", "深圳市", "南山区", "科技园科苑路8号1202室") != REFERENCE


def test_latin_letters_in_addresses_are_case_folded():
    assert _norm(detail="A栋 12B") == _norm(detail="a栋12b")


def test_jpeg_and_png_are_recognised_by_their_magic_bytes():
    assert domain.sniff_image(JPEG) == "image/jpeg"
    assert domain.sniff_image(PNG) == "image/png"
    assert domain.sniff_image(GIF) is None
    assert domain.sniff_image(b"") is None


def test_photos_get_their_kind_from_their_position_with_size_and_digest():
    photos = domain.parse_photos([JPEG, PNG, JPEG])
    assert [p.kind for p in photos] == ["FRONT", "BACK", "SELFIE"]
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png", "image/jpeg"]
    assert photos[0].size == len(JPEG) and len(photos[0].sha256) == 64


def test_a_gif_or_text_is_not_a_photo():
    with pytest.raises(InvalidPhoto):
        domain.parse_photos([JPEG, GIF])
    with pytest.raises(InvalidPhoto):
        domain.parse_photos([b"hello"])


def test_a_photo_of_exactly_five_megabytes_passes_and_one_byte_more_is_refused():
    limit = domain.MAX_PHOTO_BYTES
    assert domain.parse_photos([JPEG[:4] + bytes(limit - 4)])[0].size == limit
    with pytest.raises(PhotoTooLarge):
        domain.parse_photos([JPEG[:4] + bytes(limit - 3)])


def test_more_than_three_photos_are_refused():
    with pytest.raises(InvalidPhoto):
        domain.parse_photos([JPEG] * 4)


def test_a_plan_requiring_photos_needs_all_three():
    photos = domain.parse_photos([JPEG, JPEG])
    verdict = domain.photos_verdict(plan=plan(requires_photos=True), photos=photos)
    assert verdict.reason_code == "photos_required"
    full = domain.parse_photos([JPEG, JPEG, JPEG])
    assert domain.photos_verdict(plan=plan(requires_photos=True), photos=full) is None
    assert domain.photos_verdict(plan=plan(), photos=[]) is None


def test_the_age_range_is_checked_before_the_region():
    verdict = domain.plan_verdict(age=15, plan=plan(forbidden_regions=("广东",)), address=address())
    assert verdict.reason_code == "age_out_of_range"
    assert "16-65" in verdict.message and "15" in verdict.message


def test_a_forbidden_city_is_refused_with_the_catalog_reason():
    verdict = domain.plan_verdict(
        age=30, plan=plan(forbidden_regions=("广东/深圳",)), address=address()
    )
    assert verdict.reason_code == "region_not_allowed"
    assert "禁发" in verdict.message


def test_the_fifth_line_is_allowed_and_the_sixth_is_not():
    assert domain.line_limit_verdict(active=4, carrier="CMCC") is None
    assert domain.line_limit_verdict(active=5, carrier="CMCC").reason_code == "id_line_limit"


def test_the_third_order_within_the_window_is_flagged():
    assert domain.velocity_verdict(orders_by_id=1, orders_by_phone=0, orders_by_address=1) is None
    flagged = domain.velocity_verdict(orders_by_id=0, orders_by_phone=2, orders_by_address=0)
    assert flagged.status == KycStatus.FLAGGED and flagged.reason_code == "velocity"


def test_a_rejection_outweighs_an_earlier_flag_and_the_first_rejection_decides():
    flag = Verdict(KycStatus.FLAGGED, "velocity", "")
    first = Verdict(KycStatus.REJECTED, "identity_mismatch", "")
    second = Verdict(KycStatus.REJECTED, "photos_required", "")
    assert domain.decide([flag, None, first, second]) is first
    assert domain.decide([None, flag]) is flag
    assert domain.decide([None, None]).status == KycStatus.PASSED


def test_only_a_flagged_check_can_be_reviewed():
    assert domain.REVIEW_TRANSITIONS[KycStatus.FLAGGED] == {KycStatus.PASSED, KycStatus.REJECTED}
    assert not domain.REVIEW_TRANSITIONS[KycStatus.PASSED]
    assert not domain.REVIEW_TRANSITIONS[KycStatus.REJECTED]
