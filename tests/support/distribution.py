"""Distribution tests: agents applied and approved through the use cases, distribution
products and commission rules as staff set them, and sales whose lines are opened the way an
activated order opens them (attribution at order creation, then the line)."""

from __future__ import annotations

import datetime as dt
import itertools

from haoka.accounts.models import User
from haoka.core import ledger
from haoka.distribution import commission
from haoka.distribution import operations as dist_ops
from haoka.distribution.models import Agent, CommissionRule, Entry, Inbox, Product, Sale
from haoka.lines import operations as line_ops
from haoka.lines.models import Line
from tests.support.journey import id_number, person_name

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing, 1 March 2026
PLAN = "CM-MANGO-39"  # ¥39/month
_serial = itertools.count(500)
_iccid = itertools.count(1)

__all__ = ["PLAN", "T0", "id_number", "person_name"]


def make_user(serial: int | None = None) -> User:
    serial = next(_serial) if serial is None else serial
    phone = f"136{serial:08d}"
    return User.objects.create(username=phone, phone=phone)


def make_agent(
    *, parent: Agent | None = None, now: dt.datetime = T0, serial: int | None = None, **extra
) -> Agent:
    """An approved agent (a sub-agent of ``parent`` when given), applied with a real-name
    check like any applicant."""
    serial = next(_serial) if serial is None else serial
    user = make_user(serial)
    name = person_name(serial)
    agent = dist_ops.apply(
        user_id=user.pk,
        real_name=name,
        id_number=id_number(serial),
        payee_channel="ALIPAY",
        payee_account=f"agent{serial}@example.com",
        payee_name=name,
        invite_code=parent.invite_code if parent else "",
        now=now,
        **extra,
    )
    return dist_ops.decide(agent_id=agent.pk, approve=True, staff_id=None, note="测试", now=now)


def offer(
    plan_code: str = PLAN,
    *,
    margin_fen: int = 100_00,
    max_markup_fen: int = 20_00,
    activation_fen: int = 30_00,
    first_topup_fen: int = 10_00,
    threshold_fen: int = 50_00,
    next_month_fen: int = 20_00,
    recurring_bp: int = 1000,
    recurring_months: int = 6,
    override_bp: int = 2000,
    now: dt.datetime = T0,
) -> Product:
    """A distribution product with one rule of each kind for every tier."""
    product, _ = Product.objects.update_or_create(
        plan_code=plan_code,
        defaults={"margin_fen": margin_fen, "max_markup_fen": max_markup_fen, "enabled": True},
    )
    for kind, fields in (
        ("ACTIVATION", {"amount_fen": activation_fen}),
        ("FIRST_TOPUP", {"amount_fen": first_topup_fen, "threshold_fen": threshold_fen}),
        ("NEXT_MONTH", {"amount_fen": next_month_fen}),
        ("RECURRING", {"rate_bp": recurring_bp, "months": recurring_months}),
        ("OVERRIDE", {"rate_bp": override_bp}),
    ):
        dist_ops.save_rule(
            rule=CommissionRule(
                plan_code=plan_code, tier="", kind=kind, valid_from=now - dt.timedelta(days=1),
                **fields,
            )
        )  # fmt: skip
    return product


def sell(
    agent: Agent,
    *,
    now: dt.datetime = T0,
    customer: User | None = None,
    plan_code: str = PLAN,
    opening_balance_fen: int = 0,
    activate: bool = True,
    device_id: str = "",
    contact_phone: str = "",
) -> tuple[str, Line | None]:
    """An order through the agent (attributed as order creation does), then, with
    ``activate``, its line opened as activation does. Returns (order ref, line)."""
    customer = customer or make_user()
    n = next(_iccid)
    ref = f"HKTEST{n:010d}"
    msisdn = f"139{n:08d}"
    dist_ops.attribute_order(
        order_ref=ref,
        agent_code=agent.code,
        plan_code=plan_code,
        customer_user_id=customer.pk,
        msisdn=msisdn,
        device_id=device_id,
        contact_phone=contact_phone,
        now=now,
    )
    if not activate:
        return ref, None
    line = line_ops.open_from_order(
        order_ref=ref,
        user_id=customer.pk,
        msisdn=msisdn,
        carrier_code="CMCC",
        plan_code=plan_code,
        iccid=f"8986{n:016d}",
        imsi=f"46000{n:010d}",
        opening_balance_fen=opening_balance_fen,
        now=now,
    )
    return ref, line


def activation_fact(agent, *, opening_topup_fen: int = 0) -> tuple[Sale, list[int]]:
    """An order attributed to the agent, its line (opened without telling distribution) and
    the facts of its activation (and first top-up) in the inbox, unprocessed, as the receivers
    record them inside the line's transaction."""
    ref, _ = sell(agent, activate=False)
    sale = Sale.objects.get(order_ref=ref)
    n = next(_iccid) + 50_000
    line = line_ops.open_line(
        user_id=make_user().pk, msisdn=f"147{n:08d}", carrier_code="CMCC", plan_code=PLAN,
        iccid=f"8988{n:016d}", imsi=f"46008{n:010d}", actor="test", now=T0,
    )  # fmt: skip
    ids = [
        Inbox.objects.create(
            key=f"ACTIVATED:{line.pk}", kind="ACTIVATED", sale=sale, data={"line_id": line.pk},
            at=T0,
        ).pk
    ]  # fmt: skip
    if opening_topup_fen:
        ids.append(
            Inbox.objects.create(
                key=f"TOPUP:first:{line.pk}", kind="TOPUP", sale=sale,
                data={"amount_fen": opening_topup_fen}, at=T0,
            ).pk
        )  # fmt: skip
    return sale, ids


def check_books() -> None:
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []
    live = Entry.objects.exclude(status="CLAWED_BACK")
    for agent_id in set(Entry.objects.values_list("agent_id", flat=True)):
        mine = live.filter(agent_id=agent_id)
        assert commission.balances_fen(agent_id=agent_id) == {
            stage: sum(e.amount_fen for e in mine if e.status == status)
            for stage, status in (
                ("pending", "PENDING"),
                ("settled", "SETTLED"),
                ("withdrawable", "WITHDRAWABLE"),
            )
        }
    for sale in Sale.objects.all():
        own = live.filter(sale=sale).exclude(kind="MARKUP")
        assert sale.committed_fen == sum(e.amount_fen for e in own) <= sale.margin_fen
