"""transitions.together: several transitions of one order written once, events in order."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from haoka.orders.domain import OrderStateConflict
from haoka.orders.models import Order, OrderEvent
from haoka.orders.transitions import move, together
from tests.support.orders import make_buyer

pytestmark = pytest.mark.django_db
PAID_PLAN, CT1 = "CT-WUYOU-0", "18912340001"


def _signed(client) -> Order:
    buyer = make_buyer(client, 11)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    buyer.kyc_and_sign(ref)
    return Order.objects.select_for_update().get(ref=ref)


def test_two_transitions_together_write_the_order_once_and_both_events_in_order(
    client, pool, carrier, now
):
    with transaction.atomic():
        order = _signed(client)
        with CaptureQueriesContext(connection) as sent, together(order):
            move(order=order, to="PAID", actor="gateway", reason="付", now=now, payment_id=None)
            move(order=order, to="SUBMITTED", actor="system", reason="交", now=now, expires_at=None)
    writes = [q["sql"].split()[0] for q in sent.captured_queries]
    # one statement on PostgreSQL (WITH changed AS (UPDATE ...) INSERT ...)
    assert writes == (["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "INSERT"])
    order.refresh_from_db()
    assert order.state == "SUBMITTED" and order.expires_at is None
    events = list(OrderEvent.objects.filter(order=order).order_by("at", "id"))
    assert [(e.from_state, e.to_state) for e in events[-2:]] == [
        ("SIGNED", "PAID"),
        ("PAID", "SUBMITTED"),
    ]


def test_an_illegal_step_inside_together_writes_nothing(client, pool, carrier, now):
    with transaction.atomic():
        order = _signed(client)
        before = OrderEvent.objects.filter(order=order).count()
        with (
            CaptureQueriesContext(connection) as sent,
            pytest.raises(OrderStateConflict),
            together(order),
        ):
            move(order=order, to="PAID", actor="gateway", reason="付", now=now)
            move(order=order, to="ACTIVATED", actor="system", reason="跳", now=now)
        assert sent.captured_queries == []
        assert not hasattr(order, "_pending")
        assert Order.objects.get(pk=order.pk).state == "SIGNED"
        assert OrderEvent.objects.filter(order=order).count() == before
