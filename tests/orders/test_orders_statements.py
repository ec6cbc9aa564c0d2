"""The checkout's statement budget: how many SQL statements each step sends (BEGIN, COMMIT
and savepoints included). Throughput on two cores is bought statement by statement (see
bench/checkout.py); a change that adds one to a step fails here and says where."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.core import signing
from haoka.payments.models import Payment
from tests.support.orders import SECRET, T0, id_number, make_buyer

pytestmark = pytest.mark.django_db(transaction=True)

#: Statements per step, at most (request authentication included).
BUDGET = {
    "reserve": 8,
    "create": 8,
    "kyc": 17,
    "contract_get": 3,
    "contract_post": 8,
    "payment": 12,
    # the notification, the order's side of it and (inline in tests; the worker's pump
    # otherwise, in batches) the carrier submission
    "notify": 26,
}
#: On PostgreSQL a change or a new row and its events are one statement
#: (rows.update_and_insert, rows.insert_with).
BUDGET_POSTGRESQL = {
    **BUDGET,
    "create": 7,
    "kyc": 15,
    "contract_post": 7,
    "payment": 10,
    "notify": 23,
}


def test_every_checkout_step_stays_within_its_statement_budget(client, pool, carrier, gateway_fake):
    checkout(client, carrier, gateway_fake, serial=1, msisdn="18912340001")  # opens the ledger
    sent = checkout(client, carrier, gateway_fake, serial=2, msisdn="18912340002")
    budget = BUDGET_POSTGRESQL if connection.vendor == "postgresql" else BUDGET
    over = {
        name: (len(statements), budget[name])
        for name, statements in sent.items()
        if len(statements) > budget[name]
    }
    assert not over, "over budget (sent, budget): " + json.dumps(
        {name: [*over[name], sent[name]] for name in over}, ensure_ascii=False, indent=1
    )


def checkout(client, carrier, gateway_fake, *, serial: int, msisdn: str) -> dict[str, list[str]]:
    """One order from hold to paid over the API; the statements each step sent."""
    buyer = make_buyer(client, serial)
    sent: dict[str, list[str]] = {}

    def step(name, call):
        with CaptureQueriesContext(connection) as seen:
            response = call()
        sent[name] = [q["sql"] for q in seen.captured_queries]
        assert response.status_code in (200, 201), (name, response.content)
        return response

    step("reserve", lambda: buyer.call("post", f"/numbers/{msisdn}/reserve"))
    ref = step(
        "create",
        lambda: buyer.call(
            "post",
            "/orders",
            {
                "plan_code": "CT-WUYOU-0",
                "msisdn": msisdn,
                "contact_phone": buyer.user.phone,
                "shipping_address": {
                    "province": "广东",
                    "city": "深圳",
                    "district": "南山区",
                    "detail": f"科技园 {serial} 号",
                    "receiver": "李四",
                    "phone": buyer.user.phone,
                },
            },
        ),
    ).json()["ref"]
    step(
        "kyc",
        lambda: buyer.call(
            "post", f"/orders/{ref}/kyc", {"name": "李四", "id_number": id_number(serial)}
        ),
    )
    step("contract_get", lambda: buyer.call("get", f"/orders/{ref}/contract"))
    step(
        "contract_post",
        lambda: buyer.call(
            "post", f"/orders/{ref}/contract", {"accept": True, "signature_name": "李四"}
        ),
    )
    step("payment", lambda: buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"}))
    note = gateway_fake.pay(Payment.objects.get(reference=ref).merchant_order_id)
    body = json.dumps(note).encode()
    signature = signing.sign(secret=SECRET, body=body, timestamp=int(T0.timestamp()))
    step(
        "notify",
        lambda: client.post(
            "/api/v1/callbacks/payments/sandbox",
            data=body,
            content_type="application/json",
            headers={signing.HEADER: signature},
        ),
    )
    assert ref in carrier.submitted  # the whole journey ran
    return sent
