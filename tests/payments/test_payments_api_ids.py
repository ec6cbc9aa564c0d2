"""A payment id in the path that no bigint column holds is refused as invalid input (422),
never a 500 from the database (OverflowError on SQLite, NumericValueOutOfRange on
PostgreSQL)."""

from __future__ import annotations

import pytest

from haoka.accounts import operations as accounts_operations
from haoka.accounts.models import User
from tests.support.payments import T0

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("payment_id", [str(2**63), str(2**64), "0"])
def test_a_payment_id_beyond_a_bigint_is_invalid_input(client, payment_id):
    user = User.objects.create(username="13800000001", phone="13800000001")
    token = accounts_operations.create_api_token(
        name="t", scopes=["orders"], username=user.username, now=T0
    ).token
    answer = client.get(
        f"/api/v1/payments/{payment_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["details"]["errors"][0]["loc"][-1]) == (
        "validation_error",
        "payment_id",
    )
