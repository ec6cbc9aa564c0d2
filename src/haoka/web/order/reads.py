"""Reads behind the checkout and order pages, gathered from the domains' queries.

Thin: each function only asks the orders, numbers, catalog, kyc, payments, logistics and
lines domains (their ``queries``/``operations`` reads) and lays the answers side by side; every
rule (what is due, who may see what, what the state allows) stays in those domains.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from haoka.catalog import queries as catalog_queries
from haoka.core.phone import parse_mainland_mobile
from haoka.distribution import queries as distribution_queries
from haoka.kyc import operations as kyc_operations
from haoka.lines import queries as lines_queries
from haoka.numbers import operations as numbers_operations
from haoka.numbers import queries as numbers_queries
from haoka.orders import domain as orders_domain
from haoka.orders import operations as orders_operations
from haoka.orders import queries as orders_queries
from haoka.payments import queries as payments_queries
from haoka.web.order import presenters
from haoka.web.shop.presenters import location_text

#: How many of a user's newest orders are looked at for an open order of a number.
RECENT_ORDERS = 50
#: A payment at the gateway waiting for the payer (or for the notification of their payment).
PAYMENT_OPEN = frozenset({"PENDING"})


# ---------------------------------------------------------------- checkout (steps 号码, 套餐)


@dataclass(frozen=True)
class CheckoutOffer:
    hold: numbers_operations.Hold
    number: object  # numbers.models.PhoneNumber
    carrier: object | None  # catalog.models.Carrier
    location: str
    plan: object | None  # catalog.models.Plan, when chosen and fit for the number
    plans: list  # on-sale plans of the number's carrier, when no plan is chosen yet
    plan_note: str  # why a chosen plan was set aside
    amount_due_fen: int | None
    markup_fen: int = 0  # 代理服务费: the markup of the shop the visitor came through


def open_order_ref(*, user_id: int, msisdn: str) -> str | None:
    """The user's order of ``msisdn`` that is still under way (so a second 下单 goes there)."""
    page = orders_queries.my_orders(user_id=user_id, limit=RECENT_ORDERS, after=None)
    for order in page.items:
        if order.msisdn == msisdn and orders_domain.State(order.state) not in orders_domain.FAILED:
            return order.ref
    return None


def _held(*, user_id: int, msisdn: str, now: dt.datetime) -> numbers_operations.Hold:
    holds = numbers_operations.active_holds(user_id=user_id, now=now)
    hold = next((h for h in holds if h.msisdn == msisdn), None)
    if hold is None:
        raise numbers_operations.NumberNotHeld("号码预占已失效，请重新选号", msisdn=msisdn)
    return hold


def _plan_for_number(plan_code: str, carrier: str) -> tuple[object | None, str]:
    if not plan_code:
        return None, ""
    try:
        plan = catalog_queries.plan_detail(code=plan_code)
    except catalog_queries.PlanNotFound:
        return None, "所选套餐不存在或已下架，请重新选择"
    if plan.status != "ON_SALE":
        return None, "所选套餐已下架，请重新选择"
    if plan.carrier.code != carrier:
        return None, f"所选套餐「{plan.name}」与号码不属于同一运营商，请重新选择"
    return plan, ""


def checkout_offer(
    *, user_id: int, msisdn: str, plan_code: str, now: dt.datetime, agent_code: str = ""
):
    """The held number, and the plan (or the carrier's plans to choose from), with the markup
    of the agent's shop (``agent_code``) the order would carry.
    Raises InvalidMsisdn, NumberNotFound, NumberNotHeld (not held, or the hold expired)."""
    msisdn = parse_mainland_mobile(msisdn)
    number = numbers_queries.number_for_sale(msisdn=msisdn)
    hold = _held(user_id=user_id, msisdn=msisdn, now=now)
    plan, note = _plan_for_number(plan_code, number.carrier_id)
    plans = [] if plan else list(catalog_queries.on_sale_plans(carrier=number.carrier_id))
    markup = (
        distribution_queries.markup_for(agent_code=agent_code, plan_code=plan.code)
        if plan and agent_code
        else 0
    )
    due = (
        orders_domain.amount_due_fen(
            number_price_fen=number.price_fen,
            first_topup_fen=plan.first_topup_fen,
            markup_fen=markup,
        )
        if plan
        else None
    )
    carriers = {c.code: c for c in catalog_queries.carriers()}
    return CheckoutOffer(
        hold=hold,
        number=number,
        carrier=carriers.get(number.carrier_id),
        location=location_text(number.province, number.city),
        plan=plan,
        plans=plans,
        plan_note=note,
        amount_due_fen=due,
        markup_fen=markup,
    )


# ---------------------------------------------------------------- an order's page


@dataclass(frozen=True)
class OrderPage:
    order: object  # orders.models.Order
    plan: dict  # the plan as it was ordered (snapshot)
    carrier: object | None
    label: str
    next_action: str | None
    tone: str
    steps: list
    milestones: list
    live: bool  # the page polls: haoka or the carrier is working, or a payment is confirming
    cancellable: bool
    unpaid: bool  # times out when nobody pays
    awaiting: str  # what it waits for before its deadline: 完成实名认证, 签署入网协议, 完成支付
    time_left: str  # until that deadline: 23 小时 59 分 (the page's script ticks it down)
    kyc: object | None  # kyc.queries.KycView (masked)
    kyc_attempts_left: int  # real-name checks the customer may still make (KYC_RETRY)
    payment: object | None  # payments.queries.PaymentView
    payment_open: bool
    payment_label: str  # 微信支付 · 已支付
    contract: object | None  # orders.contract.Contract, while it waits for a signature
    tracking: list
    courier: str
    receiver: str
    ship_to: str
    iccid_masked: str
    line: object | None  # lines.models.Line once activated
    balance_fen: int | None
    sandbox_parcel_url: str


def _line(order) -> tuple[object | None, int | None]:
    if order.state != orders_domain.State.ACTIVATED:
        return None, None
    line = lines_queries.line_for_order(order_ref=order.ref)
    return line, (lines_queries.wallet_balance_fen(line=line) if line else None)


def order_page(*, order, user_id: int, now: dt.datetime) -> OrderPage:
    state = orders_domain.State(order.state)
    next_action = orders_domain.NEXT_ACTION[state]
    payment = payments_queries.payment_for(purpose=orders_operations.PURPOSE, reference=order.ref)
    payment_open = bool(
        state == orders_domain.State.SIGNED and payment and payment.status in PAYMENT_OPEN
    )
    contract = None
    if state == orders_domain.State.KYC_PASSED:
        contract = orders_queries.contract_for(ref=order.ref, user_id=user_id)
    line, balance = _line(order)
    carriers = {c.code: c for c in catalog_queries.carriers()}
    parcel_url = ""
    if settings.SANDBOX and order.tracking_no:
        parcel_url = f"/api/v1/sandbox/parcels/{order.tracking_no}"
    return OrderPage(
        order=order,
        plan=order.plan_snapshot,
        carrier=carriers.get(order.carrier_code),
        label=orders_domain.LABELS[state],
        next_action=next_action,
        tone=presenters.state_tone(state, next_action),
        steps=presenters.order_steps(state),
        milestones=presenters.milestones(
            state=state,
            events=orders_queries.events(order=order),
            paid_step=order.amount_due_fen > 0,
        ),
        live=(state not in orders_domain.FINAL and next_action is None) or payment_open,
        cancellable=state in orders_domain.CANCELLABLE,
        unpaid=state in orders_domain.UNPAID,
        awaiting=presenters.awaiting_text(state, amount_due_fen=order.amount_due_fen),
        time_left=presenters.duration_text(order.expires_at - now) if order.expires_at else "",
        kyc=kyc_operations.record_for(order_ref=order.ref),
        kyc_attempts_left=orders_domain.kyc_attempts_left(failures=order.kyc_failures),
        payment=payment,
        payment_open=payment_open,
        payment_label=presenters.payment_text(payment) if payment else "",
        contract=contract,
        tracking=list(reversed(orders_queries.tracking(order=order))),
        courier=presenters.courier_name(order.courier),
        receiver=orders_queries.receiver_masked(order=order),
        ship_to=orders_queries.ship_to(order=order),
        iccid_masked=orders_queries.iccid_masked(order=order),
        line=line,
        balance_fen=balance,
        sandbox_parcel_url=parcel_url,
    )


@dataclass(frozen=True)
class OrderRow:
    order: object
    carrier: object | None
    label: str
    tone: str


def order_rows(orders) -> list[OrderRow]:
    carriers = {c.code: c for c in catalog_queries.carriers()}
    rows = []
    for order in orders:
        state = orders_domain.State(order.state)
        tone = presenters.state_tone(state, orders_domain.NEXT_ACTION[state])
        rows.append(
            OrderRow(order, carriers.get(order.carrier_code), orders_domain.LABELS[state], tone)
        )
    return rows
