"""Staff edit tier prices in the admin; available numbers follow, consumers are kept out."""

from __future__ import annotations

import pytest

from haoka.accounts.models import Role, User
from haoka.core.models import AuditRecord
from haoka.numbers.models import PhoneNumber, TierPrice
from tests.support.numbers import seed_catalog, seed_numbers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pool():
    seed_catalog()
    seed_numbers(generated=50)


def test_staff_changing_a_tier_price_in_admin_reprices_available_numbers(client):
    staff = User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    client.force_login(staff)
    row = TierPrice.objects.get(carrier_id="CMCC", tier="A")
    response = client.post(
        f"/admin/numbers/tierprice/{row.pk}/change/",
        {
            "carrier": "CMCC",
            "tier": "A",
            "price_fen": "999.00",  # typed in yuan, stored in fen
            "min_monthly_fen": "58",
            "contract_months": 12,
        },
    )
    assert response.status_code == 302, response.content[:500]
    a_numbers = PhoneNumber.objects.filter(carrier_id="CMCC", tier="A")
    assert a_numbers.exists()
    assert set(a_numbers.values_list("price_fen", "min_monthly_fen", "contract_months")) == {
        (99_900, 5_800, 12)
    }
    assert AuditRecord.objects.filter(action="numbers.tier_price_set").count() == 1


def test_a_consumer_cannot_open_the_admin(client):
    client.force_login(User.objects.create(username="c", role=Role.CONSUMER))
    response = client.get("/admin/numbers/tierprice/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
