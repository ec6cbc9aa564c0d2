"""The 实名 form takes the three ID photos KYC advertises (up to 5 MB each) while every other page
keeps the usual body limit (issue "Hardening", item 2)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from haoka.kyc import domain as kyc_domain
from haoka.orders.models import Order
from tests.support.photos import jpeg_of
from tests.support.web import hold_for
from tests.support.web_orders import ADDRESS, order_ref

pytestmark = pytest.mark.django_db
NUMBER, PHOTO_PLAN = "13912348888", "CM-SHANGLV-58"  # the plan asks for photos
ID_NUMBER = "440305199001010018"  # made up; a valid GB 11643 check digit


def test_three_five_megabyte_photos_go_through_the_kyc_form(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    created = buyer_client.post("/checkout/", {"msisdn": NUMBER, "plan": PHOTO_PLAN, **ADDRESS})
    ref = order_ref(created)
    photo = jpeg_of(kyc_domain.MAX_PHOTO_BYTES)
    form = {"name": "张三", "id_number": ID_NUMBER}
    for field in ("photo_front", "photo_back", "photo_selfie"):
        form[field] = SimpleUploadedFile(f"{field}.jpg", photo, content_type="image/jpeg")
    response = buyer_client.post(f"/orders/{ref}/kyc/", form)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == f"/orders/{ref}/"
    assert Order.objects.get(ref=ref).state == "KYC_PASSED"


def test_the_same_photos_posted_to_another_page_are_too_large(buyer_client, pool):
    photo = jpeg_of(kyc_domain.MAX_PHOTO_BYTES)
    response = buyer_client.post(
        "/checkout/", {"msisdn": NUMBER, "photo": SimpleUploadedFile("a.jpg", photo)}
    )
    assert response.status_code == 413
    assert "请求体过大" in response.content.decode()
