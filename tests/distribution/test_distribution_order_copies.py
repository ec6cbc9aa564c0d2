"""Distribution never reads orders: the sale keeps what the agent's pages and fraud screening
need of its order (plan name, contact phone hash, the order's state and label), filled when
the order is attributed, kept in step by orders, and backfilled by migration for old sales."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps

from haoka.core import pii
from haoka.distribution.models import Sale
from haoka.orders.domain import LABELS, State
from haoka.orders.models import Order
from haoka.orders.transitions import move
from tests.support.distribution import PLAN, T0, make_agent, offer, sell

pytestmark = pytest.mark.django_db

ADDRESS = {"province": "北京市", "city": "北京市", "district": "朝阳区", "detail": "某路 1 号",
           "receiver": "张三", "phone": "13900001111"}  # fmt: skip


def _order(ref: str, sale: Sale, *, state: str = State.CREATED, agent_code: str = "") -> Order:
    return Order.objects.create(
        ref=ref,
        user_id=sale.customer_user_id,
        state=state,
        plan_code=PLAN,
        carrier_code="CMCC",
        plan_snapshot={"name": "测试套餐"},
        msisdn=sale.msisdn,
        agent_code=agent_code,
        contact_phone="13900001111",
        ship_province=ADDRESS["province"],
        ship_city=ADDRESS["city"],
        shipping_address=json.dumps(ADDRESS, ensure_ascii=False),
        created_at=T0,
        state_changed_at=T0,
    )


def test_old_sales_are_backfilled_from_their_orders(catalog):
    offer()
    agent = make_agent()
    ref, _ = sell(agent, activate=False)
    _order(ref, Sale.objects.get(order_ref=ref), state=State.SHIPPED)
    lonely, _ = sell(agent, activate=False)  # a sale whose order row is gone: left blank
    migration = importlib.import_module("haoka.distribution.migrations.0003_sale_order_copies")
    migration.backfill(apps, None)
    sale = Sale.objects.get(order_ref=ref)
    assert (sale.plan_name, sale.order_state, sale.order_state_label) == (
        "测试套餐",
        "SHIPPED",
        LABELS[State.SHIPPED],
    )
    assert sale.contact_phone_hash == pii.lookup_hash("13900001111", purpose="phone")
    blank = Sale.objects.get(order_ref=lonely)
    assert (blank.plan_name, blank.order_state, blank.contact_phone_hash) == ("", "", "")


def test_orders_tell_the_sale_each_state_their_order_moves_to(catalog):
    offer()
    agent = make_agent()
    ref, _ = sell(agent, activate=False)
    order = _order(ref, Sale.objects.get(order_ref=ref), agent_code=agent.code)
    move(order=order, to=State.CANCELLED, actor="system", reason="超时", now=T0)
    sale = Sale.objects.get(order_ref=ref)
    assert (sale.order_state, sale.order_state_label) == ("CANCELLED", LABELS[State.CANCELLED])
