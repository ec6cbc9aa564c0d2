"""实名 over the API takes the photos KYC advertises: three of up to 5 MB each, base64 in JSON
(issue "Hardening", item 2: Django's 2.5 MB body limit used to stop them with a 500)."""

from __future__ import annotations

import base64

import pytest

from haoka.kyc import domain as kyc_domain
from haoka.kyc.models import KycRecord
from haoka.orders.api import MAX_PHOTO_B64
from tests.support.orders import id_number, make_buyer
from tests.support.photos import jpeg_of

pytestmark = pytest.mark.django_db
PHOTO_PLAN, CM1, CM2 = "CM-SHANGLV-58", "13912340001", "13912340002"  # the plan asks for photos


def _kyc(buyer, ref: str, photos: list[bytes]):
    encoded = [f"data:image/jpeg;base64,{base64.b64encode(p).decode()}" for p in photos]
    return buyer.call(
        "post",
        f"/orders/{ref}/kyc",
        {"name": "李四", "id_number": id_number(buyer.serial), "photos": encoded},
    )


def test_three_photos_of_the_advertised_five_megabytes_pass_kyc(client, pool, carrier):
    buyer = make_buyer(client, 41)
    ref = buyer.hold_and_order(msisdn=CM1, plan=PHOTO_PLAN)["ref"]
    photos = [jpeg_of(kyc_domain.MAX_PHOTO_BYTES) for _ in range(3)]
    assert len(base64.b64encode(photos[0])) + len("data:image/jpeg;base64,") <= MAX_PHOTO_B64
    response = _kyc(buyer, ref, photos)
    assert response.status_code == 200, response.content[:500]
    assert response.json()["state"] == "KYC_PASSED"
    assert KycRecord.objects.filter(order_ref=ref).exists()


def test_a_photo_one_byte_over_five_megabytes_is_refused_by_name_not_by_size(client, pool, carrier):
    buyer = make_buyer(client, 42)
    ref = buyer.hold_and_order(msisdn=CM2, plan=PHOTO_PLAN)["ref"]
    photos = [jpeg_of(kyc_domain.MAX_PHOTO_BYTES + 1), jpeg_of(64 * 1024), jpeg_of(64 * 1024)]
    response = _kyc(buyer, ref, photos)
    assert response.status_code == 422, response.content[:500]
    assert response.json()["error"]["code"] == "photo_too_large"
