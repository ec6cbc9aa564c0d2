"""一证五号 through the order flow: an order waiting for real-name review holds its slot,
and gives it back when it is cancelled."""

from __future__ import annotations

import pytest

from haoka.kyc import domain as kyc_domain
from haoka.kyc.domain import ClaimStatus
from haoka.kyc.models import IdentityClaim, IdentityClaimCounter
from tests.support.orders import id_number, make_buyer

pytestmark = pytest.mark.django_db


def test_an_order_in_review_holds_its_slot_until_it_is_cancelled(
    client, pool, carrier, monkeypatch
):
    monkeypatch.setattr(kyc_domain, "VELOCITY_LIMIT", 1)  # every check goes to staff review
    buyer = make_buyer(client, 7)
    ref = buyer.hold_and_order(msisdn="18912340001", plan="CT-WUYOU-0")["ref"]
    answer = buyer.call(
        "post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(buyer.serial)}
    )
    assert answer.json()["state"] == "KYC_REVIEW", answer.content
    assert IdentityClaim.objects.get(order_ref=ref).status == ClaimStatus.ACTIVE
    assert IdentityClaimCounter.objects.get(carrier="CTCC").active == 1
    assert buyer.call("post", f"/orders/{ref}/cancel").json()["state"] == "CANCELLED"
    assert IdentityClaim.objects.get(order_ref=ref).status == ClaimStatus.RELEASED
    assert IdentityClaimCounter.objects.get(carrier="CTCC").active == 0
