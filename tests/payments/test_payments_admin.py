"""Staff read payments, their refunds and events in the admin; nobody edits money there."""

from __future__ import annotations

import pytest

from haoka.accounts.models import User
from haoka.payments import operations
from haoka.payments.models import Payment
from tests.support.payments import T0, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser(username="ops", password="x" * 12))
    return client


@pytest.fixture
def refunded(fake):
    started = operations.start_payment(
        purpose="ORDER",
        reference="HKADM",
        user_id=None,
        amount_fen=5_000,
        method="ALIPAY",
        return_url="",
        now=T0,
    )
    deliver(fake.pay(started.merchant_order_id))
    operations.refund(purpose="ORDER", reference="HKADM", amount_fen=1_000, reason="x", now=T0)
    return Payment.objects.get(pk=started.payment_id)


def test_staff_see_a_payment_with_its_refunds_and_events(staff_client, refunded):
    page = staff_client.get(f"/admin/payments/payment/{refunded.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "ord_HKADM_1" in text
    assert f"rf_{refunded.pk}_1" in text
    assert "payment.succeeded" in text
    assert staff_client.get("/admin/payments/payment/?status=PARTIALLY_REFUNDED").status_code == 200
    assert staff_client.get("/admin/payments/refund/").status_code == 200


def test_the_admin_cannot_add_change_or_delete_payments(staff_client, refunded):
    assert staff_client.get("/admin/payments/payment/add/").status_code == 403
    page = staff_client.post(f"/admin/payments/payment/{refunded.pk}/change/", {"status": "CLOSED"})
    assert page.status_code == 403
    assert Payment.objects.get(pk=refunded.pk).status == "PARTIALLY_REFUNDED"
    assert staff_client.get(f"/admin/payments/payment/{refunded.pk}/delete/").status_code == 403
