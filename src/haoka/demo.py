"""``haoka demo``: migrate, seed realistic demo data, then run every process of the platform
(web + API, worker, the payment, carrier, courier and NRF simulators) and keep them running
until interrupted. The simulators listen beside the web port (``haoka.simulate.sim_urls``:
8101-8104 for 8000), so two demos on different ``HAOKA_PORT`` values do not collide. The web
process serves Nchf over HTTP/1.1 and h2c on its port, registers with the NRF simulator and
accepts the access tokens it issues (docs/integrations.md "Pointing an SMF at haoka").

Every row it seeds goes through the domains' operations (and queries to stay idempotent),
so the demo holds the data the platform itself would hold. Imported by the CLI once Django is
set up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from haoka import demo_dataflow, demo_sponsors
from haoka.accounts import operations as accounts_ops
from haoka.accounts import queries as accounts_queries
from haoka.accounts import stepup
from haoka.carriers import adapter as carrier_adapter
from haoka.carriers import http as carrier_http
from haoka.carriers import operations as carrier_ops
from haoka.catalog import operations as catalog_ops
from haoka.catalog import queries as catalog_queries
from haoka.charging import closure, cycle, cycles, nrf_simulator, topups
from haoka.charging import operations as charging_ops
from haoka.core import clock, signing
from haoka.distribution import commission, credit, training
from haoka.distribution import operations as dist_ops
from haoka.distribution import queries as dist_queries
from haoka.kyc import domain as kyc_domain
from haoka.lines import operations as line_ops
from haoka.lines import queries as lines_queries
from haoka.lines.domain import Caller
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from haoka.orders import fulfilment
from haoka.orders import operations as order_ops
from haoka.payments import gateway as pay_gateway
from haoka.payments import operations as payment_ops
from haoka.simulate import NRF_SIM_INSTANCE_ID, listen_port, sim_urls

DEMO_STAFF = ("admin", "haoka-admin")  # sandbox-only credentials, printed at start
DEMO_TIME_SCALE = "3600"  # a day of carrier and courier work in about 30 s


def seed(*, numbers_per_carrier: int) -> None:
    """Idempotent: running it again changes nothing (numbers come from a fixed seed)."""
    counts = catalog_ops.load_seed_catalog()
    print(
        f"目录：{counts['carriers']} 家运营商，{counts['plans']} 个套餐，{counts['packs']} 个加油包"
    )
    number_ops.ensure_default_tier_prices()
    for i, carrier in enumerate(sorted(catalog_queries.carrier_codes())):
        if numbers_per_carrier <= 0:
            break
        importer.cli_generate(
            carrier=carrier, count=numbers_per_carrier, seed=1000 + i, output=None
        )
    username, password = DEMO_STAFF
    accounts_ops.ensure_staff_user(username=username, password=password)
    _seed_lines()
    _seed_distribution()
    with _outside_systems() as outside:
        demo_sponsors.seed(outside=outside)
    consumer = accounts_queries.user_by_phone(phone=DEMO_CONSUMER)
    demo_dataflow.seed(user_id=consumer.pk)


#: The demo consumer: signs in with this phone (the code is in the sandbox SMS outbox).
DEMO_CONSUMER = "13800138000"
DEMO_LINES = (
    # msisdn, carrier, plan, opening balance (fen), ICCID (Luhn), IMSI, the plan's 定向 app
    ("13912345678", "CMCC", "CM-MANGO-39", 20000, "89860020261122000016", "460002026112201", 1011),
    ("18612345678", "CUCC", "CU-MAYI-RIZU", 15000, "89860120261122000023", "460012026112202", 1013),
)
#: Months of usage history on the demo consumer's lines (every month before this one billed).
USAGE_MONTHS = 3
#: Apps used on top of the plan's own 定向 app: WeChat, Douyin, Tencent Video (rating groups).
OTHER_APPS = (1001, 1006, 1003)


def _seed_lines() -> None:
    """Two lines of the demo consumer, brought over (``open_line``) three months ago, with
    daily usage since (data, 定向 apps, voice, SMS) rated by the charging engine as it
    happened, and each month closed by the monthly cycle as the worker would, so the line
    pages show usage and issued bills (with their PDF)."""
    user = accounts_ops.register_consumer(phone=DEMO_CONSUMER)
    now = clock.now()
    first_month, _ = cycle.beijing_month(now - dt.timedelta(days=31 * (USAGE_MONTHS - 1)))
    opened = first_month - dt.timedelta(days=20) + dt.timedelta(hours=10)
    rng = random.Random(20261122)  # noqa: S311 - demo data, the same every time
    for msisdn, carrier, plan, balance, iccid, imsi, free_app in DEMO_LINES:
        if lines_queries.find_line(msisdn=msisdn, user_id=None) is not None:
            continue
        with clock.frozen(opened):
            line_ops.open_line(
                user_id=user.pk, msisdn=msisdn, carrier_code=carrier, plan_code=plan,
                iccid=iccid, imsi=imsi, opening_balance_fen=balance, actor="demo", now=opened,
            )  # fmt: skip
        _replay_usage(msisdn, free_app=free_app, since=opened, now=now, rng=rng)


def _daily_usage(msisdn: str, *, free_app: int, day: dt.datetime, rng) -> list:
    """One Beijing day of a person's usage: mobile data (general and in apps), a few calls
    and now and then a text."""
    mb = 1024 * 1024
    uses = [
        ("data", None, rng.randrange(30, 400) * mb),
        ("data", free_app, rng.randrange(0, 900) * mb),
    ]
    uses += [("data", rng.choice(OTHER_APPS), rng.randrange(5, 300) * mb)]
    uses += [("voice", None, rng.randrange(20, 600)) for _ in range(rng.randrange(0, 4))]
    uses += [("sms", None, 1) for _ in range(int(rng.random() < 0.3))]
    records = []
    for k, (service, group, amount) in enumerate(uses):
        at = day + dt.timedelta(minutes=rng.randrange(8 * 60, 23 * 60))
        records.append(charging_ops.RecordIn(
            record_id=f"demo-{msisdn}-{clock.beijing(day):%Y%m%d}-{k}", subscriber=msisdn,
            service=service, amount=amount, started_at=at, rating_group=group,
        ))  # fmt: skip
    return records


def _replay_usage(msisdn: str, *, free_app: int, since: dt.datetime, now: dt.datetime, rng) -> None:
    """Each day's records rated at the end of that day (the clock at that time); at each new
    Beijing month the monthly cycle runs first (fee, allowances, last month's bill)."""
    day, _ = cycle.beijing_day(since + dt.timedelta(days=1))
    batch: list = []
    while day < now:
        if clock.beijing(day).day == 1:
            _rate(batch, now=day)
            batch = []
            with clock.frozen(day + dt.timedelta(minutes=5)):
                cycles.run_cycles(now=clock.now())
        batch += [
            r
            for r in _daily_usage(msisdn, free_app=free_app, day=day, rng=rng)
            if r.started_at < now
        ]
        if len(batch) > charging_ops.MAX_BATCH - 10:
            _rate(batch, now=max(r.started_at for r in batch))
            batch = []
        day += dt.timedelta(days=1)
    _rate(batch, now=now)


def _rate(records: list, *, now: dt.datetime) -> None:
    if records:
        with clock.frozen(now):
            charging_ops.rate_records(records=records, now=now)


#: The demo agents (sign in like any user): a level-1 agent and their sub-agent.
DEMO_AGENT = ("13700137000", "陈晓梅", "44030519900312128", "晓梅的号卡小店")
DEMO_SUB_AGENT = ("13700137001", "刘志强", "42010619950708045", "志强号卡")
DEMO_PRODUCTS = (
    # plan, margin, max markup, 秒返 (fen), min tier, needs the vanity course
    ("CM-MANGO-39", 15000, 2000, 5000, "D", False),
    ("CU-DAWANG-19", 10000, 1000, 3000, "D", False),
    ("CU-DAWANG-29", 12000, 1000, 4000, "D", False),
    ("CT-XINGKA-19", 10000, 1000, 3000, "D", False),
    ("CT-CHANGXIANG-59", 20000, 3000, 6000, "D", False),
    ("CM-HUAKA-19", 9000, 1000, 3000, "D", False),
    ("HK-SHITING-49", 16000, 2000, 5000, "B", False),
    ("CBN-LIANGHAO-39", 20000, 5000, 6000, "C", True),
)
DEMO_SHOPS = {
    DEMO_AGENT[0]: [("CM-MANGO-39", 1000), ("CU-DAWANG-19", 0), ("CT-CHANGXIANG-59", 0)],
    DEMO_SUB_AGENT[0]: [("CU-DAWANG-19", 0), ("CT-XINGKA-19", 500)],
}
#: Days of sales history (the console's chart shows the last 30).
DAYS = 32
_CARRIER_OF = {"CM": "CMCC", "CU": "CUCC", "CT": "CTCC", "CBN": "CBN", "HK": "HAOKA"}


def _seed_distribution() -> None:
    """Distribution products and commission rules of every kind, the two demo agents with
    their shops, and about a month of their sales replayed day by day (orders, activations,
    first top-ups, one early closure clawed back, nightly settlement and credit runs), so
    the agent console has numbers, a chart and money in every state. Idempotent."""
    training.seed_training()
    _seed_products()
    first = accounts_queries.user_by_phone(phone=DEMO_AGENT[0])
    if first is not None and dist_queries.agent_of(user_id=first.pk) is not None:
        return
    now = clock.now()
    local = clock.beijing(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=DAYS)
    agents = {}
    for phone, name, id_body, shop_name in (DEMO_AGENT, DEMO_SUB_AGENT):
        user = accounts_ops.register_consumer(phone=phone)
        at = start - dt.timedelta(days=2 if phone == DEMO_AGENT[0] else 1)
        parent = agents.get(DEMO_AGENT[0])
        with clock.frozen(at):
            agent = _demo_agent(user, name, id_body, parent=parent, now=at)
        dist_ops.set_shop(
            agent_id=agent.pk,
            shop_name=shop_name,
            shop_intro="移动·联通·电信正规号卡，大流量低月租，在线选号包邮到家",
            items=DEMO_SHOPS[phone],
        )
        agents[phone] = agent
    with clock.frozen(start - dt.timedelta(hours=12)):
        basics = [answer for _, _, answer in training.COURSES[0]["questions"]]
        training.submit_quiz(
            agent_id=agents[DEMO_AGENT[0]].pk, course_code="basics", answers=basics, now=clock.now()
        )
    _replay_sales(agents, start=start, now=now)
    print(f"代理：{len(agents)} 位演示代理，店铺 /s/{agents[DEMO_AGENT[0]].code}")


def _seed_products() -> None:
    """Products and rules as staff would set them (only when there are none yet)."""
    if dist_queries.has_products():
        return
    since = clock.now() - dt.timedelta(days=120)
    vanity = next(c["code"] for c in training.COURSES if c["unlocks_vanity"])
    for plan, margin, markup, activation, tier, course in DEMO_PRODUCTS:
        dist_ops.save_product(
            plan_code=plan,
            enabled=True,
            margin_fen=margin,
            max_markup_fen=markup,
            min_tier=tier,
            course_code=vanity if course else "",
        )
        dist_ops.add_rule(
            plan_code=plan, kind="ACTIVATION", amount_fen=activation, valid_from=since, note="秒返"
        )
    for plan, tier, kind, fields, note in (
        ("CM-MANGO-39", "A", "ACTIVATION", {"amount_fen": 6000}, "A 级代理芒果卡秒返加码"),
        ("*", "", "FIRST_TOPUP", {"amount_fen": 1000, "threshold_fen": 5000}, "首充满 ¥50 返"),
        ("*", "", "NEXT_MONTH", {"amount_fen": 2000}, "次月在网返"),
        ("*", "", "RECURRING", {"rate_bp": 1000, "months": 6}, "月租 10% 分成 6 个月"),
        ("*", "", "OVERRIDE", {"rate_bp": 2000}, "下级佣金 20% 团队奖励"),
    ):
        dist_ops.add_rule(
            plan_code=plan, tier=tier, kind=kind, valid_from=since, note=note, **fields
        )


def _demo_agent(user, name: str, id_body: str, *, parent, now):
    applied = dist_ops.apply(
        user_id=user.pk,
        real_name=name,
        id_number=id_body + kyc_domain.check_digit(id_body),
        payee_channel="ALIPAY",
        payee_account=user.phone,
        payee_name=name,
        invite_code=parent.invite_code if parent else "",
        address={"province": "广东", "city": "深圳", "district": "南山区", "detail": "科技园"},
        now=now,
    )
    return dist_ops.decide(
        agent_id=applied.pk, approve=True, staff_id=None, note="演示数据：审核通过", now=now
    )


def _sales_plan(agents: dict, *, start, now) -> list[tuple]:
    """(time, kind, sale) events, oldest first: orders through the agents' shops, the card's
    way to the customer (accepted, shipped, delivered) and its activation (most orders, a day
    or two later), one early closure, a nightly run a day."""
    rng = random.Random(20261201)  # noqa: S311 - demo data, the same every time
    pools = {
        carrier: iter(importer.generated_msisdns(carrier=carrier, count=200, seed=7700 + i))
        for i, carrier in enumerate(("CMCC", "CUCC", "CTCC"))
    }
    events, serial, today_activation = [], 0, False
    for day in range(DAYS + 1):
        day_start = start + dt.timedelta(days=day)
        events.append((min(day_start + dt.timedelta(hours=23, minutes=30), now), "night", {}))
        for phone, busy in ((DEMO_AGENT[0], 0.4 + day / 50), (DEMO_SUB_AGENT[0], 0.3)):
            for _ in range(max(int(day == DAYS), round(rng.random() * 2 * busy))):
                if day == DAYS:  # today: before now
                    at = day_start + (now - day_start) * rng.uniform(0.2, 0.9)
                else:
                    at = day_start + dt.timedelta(minutes=rng.randrange(9 * 60, 22 * 60))
                plan = rng.choice(DEMO_SHOPS[phone])[0]
                serial += 1
                carrier = _CARRIER_OF[plan.split("-")[0]]
                sale = {
                    "agent": agents[phone],
                    "plan": plan,
                    "carrier": carrier,
                    "phone": f"1580000{serial:04d}",
                    "msisdn": next(pools[carrier]),
                    "n": serial,
                    # the customer's first top-up, after activating (¥50 earns its bonus)
                    "topup": 5000 if plan == "CM-MANGO-39" or rng.random() < 0.55 else 3000,
                }
                events.append((at, "order", sale))
                activated = at + dt.timedelta(hours=rng.randrange(20, 70))
                if day == DAYS - 1 and not today_activation:  # one of yesterday's orders: today
                    today_start = day_start + dt.timedelta(days=1, minutes=1)
                    activated = max(now - dt.timedelta(minutes=20), today_start)
                    today_activation = True
                for share, kind in ((0.05, "accept"), (0.15, "ship"), (0.85, "deliver")):
                    events.append((at + (activated - at) * share, kind, sale))
                if activated < now and rng.random() < 0.9:
                    events.append((activated, "activate", sale))
                    if serial == 4:  # a customer who closes the line within days: clawed back
                        events.append((activated + dt.timedelta(days=5), "close", sale))
    return sorted((e for e in events if e[0] <= now), key=lambda e: (e[0], e[1]))


def _replay_sales(agents: dict, *, start, now) -> None:
    """Each event as it happened, with the clock at its time, through the use cases a real
    sale goes through: the customer orders from the agent's shop (the sale is attributed
    then), passes 实名, signs and pays; the carrier's callbacks bring the card to the door;
    the customer activates it (the line opens and commission is worked out then)."""
    events = _sales_plan(agents, start=start, now=now)
    stock = [
        importer.Row(line=i, msisdn=sale["msisdn"], carrier=sale["carrier"])
        for i, (_, kind, sale) in enumerate(events)
        if kind == "order"
    ]
    importer.import_rows(rows=stock, source="demo")  # the numbers the agents sold
    refs: dict[int, str] = {}
    with _outside_systems() as outside:
        for at, kind, sale in events:
            with clock.frozen(at):
                if kind == "order":
                    refs[sale["n"]] = _place_order(sale, outside=outside, now=at)
                elif kind in ("accept", "ship", "deliver"):
                    _carrier_says(sale, ref=refs[sale["n"]], kind=kind, now=at)
                elif kind == "activate":
                    user = accounts_queries.user_by_phone(phone=sale["phone"])
                    order_ops.activate(
                        ref=refs[sale["n"]], user_id=user.pk, iccid_last6=_iccid(sale)[-6:], now=at
                    )
                    _top_up(sale, outside=outside, now=at + dt.timedelta(minutes=10))
                elif kind == "close":  # 销户 online, as the owner asks (the balance refunded)
                    user = accounts_queries.user_by_phone(phone=sale["phone"])
                    closure.close_line(
                        msisdn=sale["msisdn"],
                        caller=Caller(user_id=user.pk),
                        confirm=True,
                        now=at,
                        step_up=_owner_step_up(user, sale["msisdn"], "closure", now=at),
                    )
                else:
                    cycles.run_cycles(now=at)
                    commission.process_due(now=at)
                    commission.settle_due(now=at)
                    commission.release_due(now=at)
                    if clock.beijing(at).weekday() == 0 or at == now:  # weekly, and today's
                        for agent in agents.values():
                            credit.recompute(agent_id=agent.pk, now=at)


def _owner_step_up(user, msisdn: str, action: str, *, now: dt.datetime) -> str:
    """The proof of an SMS code as the owner gets one: sent, read on the phone (the sandbox
    outbox), typed in."""
    stepup.send_code(user_id=user.pk, action=action, target=msisdn, client_ip="demo", now=now)
    text = accounts_queries.sandbox_outbox(phone=user.phone, limit=1)[0].text
    code = re.search(r"\d{6}", text).group(0)
    return stepup.verify_code(
        user_id=user.pk, action=action, target=msisdn, code=code, now=now
    ).proof


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def _customer(n: int) -> tuple[str, str]:
    """A made-up customer (name, GB 11643 ID number) per sale: never a real person."""
    name = _SURNAMES[n % 20] + _GIVEN[(n * 7) % 20] + _GIVEN[(n * 3 + 1) % 20]
    body = f"440305{dt.date(1990, 1, 1) + dt.timedelta(days=97 * n):%Y%m%d}{n % 999:03d}"
    return name, body + kyc_domain.check_digit(body)


def _iccid(sale: dict) -> str:
    return f"898600{sale['n']:014d}"


def _place_order(sale: dict, *, outside: _Outside, now: dt.datetime) -> str:
    """The customer holds the number in the agent's shop, orders it with the agent's code,
    passes 实名, signs and pays (the gateway's notification books the payment; the order
    goes to the carrier). Returns the order's ref."""
    user = accounts_ops.register_consumer(phone=sale["phone"])
    name, id_number = _customer(sale["n"])
    number_ops.reserve(user_id=user.pk, msisdn=sale["msisdn"], now=now)
    order = order_ops.create_order(
        user_id=user.pk,
        plan_code=sale["plan"],
        msisdn=sale["msisdn"],
        contact_phone=sale["phone"],
        shipping_address={
            "province": "广东",
            "city": "深圳",
            "district": "南山区",
            "detail": f"科技园路 {sale['n']} 号",
            "receiver": name,
            "phone": sale["phone"],
        },
        agent_code=sale["agent"].code,
        now=now,
    )
    order_ops.submit_kyc(
        ref=order.ref, user_id=user.pk, name=name, id_number=id_number, photos=None, now=now
    )
    order = order_ops.sign_contract(
        ref=order.ref, user_id=user.pk, accept=True, signature_name=name, now=now
    )
    if order.amount_due_fen > 0:
        started = order_ops.start_payment(ref=order.ref, user_id=user.pk, method="wechat", now=now)
        paid_at = now + dt.timedelta(seconds=40)
        outside.pay(started.merchant_order_id, at=paid_at)
    fulfilment.submit_to_carrier(ref=order.ref, now=now, first=True)
    return order.ref


_CARRIER_EVENTS = {
    "accept": "order.accepted",
    "ship": "order.shipped",
    "deliver": "order.delivered",
}


def _top_up(sale: dict, *, outside: _Outside, now: dt.datetime) -> None:
    """The customer tops the new line up and pays (the wallet is credited by charging)."""
    line = lines_queries.find_line(msisdn=sale["msisdn"], user_id=None)
    with clock.frozen(now):
        topups.start_topup(line_id=line.pk, amount_fen=sale["topup"], method="wechat", now=now)
        outside.pay(outside.last, at=now + dt.timedelta(seconds=30))


def _carrier_says(sale: dict, *, ref: str, kind: str, now: dt.datetime) -> None:
    """The carrier's signed callback about the order, received as the API receives it."""
    event = {"event_id": f"demo-{ref}-{kind}", "type": _CARRIER_EVENTS[kind]}
    if kind == "accept":
        event.update(iccid=_iccid(sale), imsi=f"46000{sale['n']:010d}")
    elif kind == "ship":
        event.update(courier="SIMEXPRESS", tracking_no=f"SX{sale['n']:010d}")
    body = json.dumps(
        {**event, "order_id": ref, "carrier": sale["carrier"], "occurred_at": now.isoformat()}
    ).encode()
    signature = signing.sign(
        secret=settings.CARRIER_API_SECRET, body=body, timestamp=int(now.timestamp())
    )
    carrier_ops.receive_callback(carrier=sale["carrier"], body=body, signature=signature, now=now)


class _Outside:
    """The payment gateway and the carriers as the demo's seeding meets them, in process (the
    simulators are not running yet): the gateway takes payments and its signed notification
    is booked by the payments domain; the carriers take and activate orders."""

    name = pay_gateway.SANDBOX

    def __init__(self) -> None:
        self.payments: dict[str, pay_gateway.GatewayPayment] = {}
        self.last = ""  # the merchant order id of the payment created last

    # the payment gateway (payments.gateway.PaymentGateway)
    def create_payment(
        self, *, merchant_order_id, amount_fen, method, **_
    ) -> pay_gateway.GatewayPayment:
        self.last = merchant_order_id
        if merchant_order_id not in self.payments:
            self.payments[merchant_order_id] = pay_gateway.GatewayPayment(
                payment_id=f"pay_demo_{merchant_order_id}",  # unique across runs of outside
                merchant_order_id=merchant_order_id,
                amount_fen=amount_fen,
                status="PENDING",
                pay_url=f"{settings.PAYMENT_GATEWAY_URL}/pay/demo",
            )
        return self.payments[merchant_order_id]

    def query_payment(self, *, payment_id: str) -> pay_gateway.GatewayPayment:
        return next(p for p in self.payments.values() if p.payment_id == payment_id)

    def close_payment(self, *, payment_id: str) -> None:
        return None

    def refund(self, *, refund_id, payment_id, amount_fen, reason) -> pay_gateway.GatewayRefund:
        return pay_gateway.GatewayRefund(refund_id, payment_id, amount_fen, "SUCCEEDED")

    def pay(self, merchant_order_id: str, *, at: dt.datetime) -> None:
        """The payer confirms: the gateway's signed ``payment.succeeded`` is delivered."""
        payment = self.payments[merchant_order_id]
        body = json.dumps({
            "event_id": f"evt_{payment.payment_id}_paid", "type": "payment.succeeded",
            "payment_id": payment.payment_id, "merchant_order_id": merchant_order_id,
            "amount_fen": payment.amount_fen, "method": "wechat",
            "paid_at": at.isoformat(), "occurred_at": at.isoformat(),
        }).encode()  # fmt: skip
        signature = signing.sign(
            secret=pay_gateway.secret_for(self.name), body=body, timestamp=int(at.timestamp())
        )
        with clock.frozen(at):
            payment_ops.handle_notification(body=body, signature=signature, now=at)

    # the carriers (carriers.adapter.CarrierAdapter)
    def submit_order(self, request) -> carrier_adapter.SubmitResult:
        return carrier_adapter.SubmitResult(
            carrier_order_id=f"C-{request.order_ref}", status="RECEIVED"
        )

    def query_order(self, *, carrier: str, order_ref: str):
        return None

    def activate(
        self, *, carrier: str, order_ref: str, iccid_last6: str
    ) -> carrier_adapter.Activation:
        return carrier_adapter.Activation(status="ACTIVATED", activated_at=clock.now().isoformat())


@contextlib.contextmanager
def _outside_systems():
    outside = _Outside()
    carriers_before = carrier_http.adapter()
    carrier_http.set_adapter(outside)
    try:
        with pay_gateway.overridden(outside):
            yield outside
    finally:
        carrier_http.set_adapter(carriers_before)


@dataclass
class Proc:
    name: str
    args: list[str]
    popen: subprocess.Popen | None = None


def _spawn(proc: Proc, env: dict[str, str]) -> None:
    proc.popen = subprocess.Popen([sys.executable, "-m", "haoka.cli", *proc.args], env=env)  # noqa: S603


def plan(*, port: int, env: dict[str, str]) -> tuple[list[Proc], dict[str, str]]:
    """The demo's processes for a haoka on ``port``, and the environment they share: the
    simulators on the ports of their URLs (``haoka.simulate.sim_urls``: ``port`` + 101..103
    unless ``HAOKA_PAYMENT_GATEWAY_URL`` etc. say otherwise), which the environment names to
    the web process and the worker."""
    urls = sim_urls(web_port=port, env=env)
    key_file = env.get("HAOKA_NRF_SIM_KEY_FILE") or os.path.abspath(
        os.path.join(env.get("HAOKA_HOME") or ".", "nrf-sim-key.pem")
    )
    env = {
        **env,
        "HAOKA_PORT": str(port),
        "HAOKA_PAYMENT_GATEWAY_URL": urls["payment"],
        "HAOKA_CARRIER_API_URL": urls["carrier"],
        "HAOKA_COURIER_API_URL": urls["courier"],
        # The NRF simulator: serve registers there and trusts the tokens it signs.
        "HAOKA_NRF_URL": urls["nrf"],
        "HAOKA_NRF_INSTANCE_ID": env.get("HAOKA_NRF_INSTANCE_ID") or NRF_SIM_INSTANCE_ID,
        "HAOKA_NRF_SIM_KEY_FILE": key_file,
        "HAOKA_NRF_PUBLIC_KEY": env.get("HAOKA_NRF_PUBLIC_KEY") or f"{key_file}.pub",
    }
    callbacks = f"http://127.0.0.1:{port}/api/v1/callbacks/couriers/simexpress"

    def simulator(kind: str, *extra: str) -> Proc:
        # The time scale makes a day of carrier and courier work pass in about a minute.
        port_arg = str(listen_port(urls[kind]))
        args = ["simulate", kind, "--port", port_arg, "--time-scale", DEMO_TIME_SCALE, *extra]
        return Proc(f"{kind}-sim", args)

    procs = [
        Proc("web", ["serve", "--port", str(port)]),
        Proc("worker", ["worker"]),
        # The outside systems, as separate processes (docs/integrations.md).
        simulator("payment"),
        simulator("carrier", "--courier-url", urls["courier"]),
        simulator("courier", "--callback-url", callbacks),
        Proc("nrf-sim", ["simulate", "nrf", "--port", str(listen_port(urls["nrf"]))]),
    ]
    return procs, env


def banner(*, port: int, env: dict[str, str]) -> str:
    """What the demo prints at start: where everything is, the simulators included."""
    username, password = DEMO_STAFF
    return (
        f"\n号卡演示已启动： http://127.0.0.1:{port}/\n"
        f"  模拟器：支付网关 {env['HAOKA_PAYMENT_GATEWAY_URL']}   "
        f"运营商 {env['HAOKA_CARRIER_API_URL']}   快递 {env['HAOKA_COURIER_API_URL']}   "
        f"NRF {env['HAOKA_NRF_URL']}\n"
        f"  在线计费 Nchf（HTTP/1.1 与 h2c）：http://127.0.0.1:{port}"
        "/nchf-convergedcharging/v3/chargingdata   令牌：NRF /oauth2/token\n"
        "  套餐 /plans/   选号 /numbers/   API 文档 /api/v1/docs\n"
        f"  运营后台 /admin/ （{username} / {password}）   沙箱短信 /api/v1/sandbox/sms?phone=...\n"
        f"  演示用户 {DEMO_CONSUMER}（两条在网线路；登录验证码在沙箱短信里）\n"
        f"  流量控 /lines/{demo_dataflow.MAIN}/data（家庭共享、转赠、积分商城）\n"
        "  演示代理 13700137000（代理中心 /agent/），下级代理 13700137001\n"
        f"  演示赞助方 {demo_sponsors.DEMO_SPONSOR}（赞助方中心 /sponsor/；抖音定向免流）\n"
        "按 Ctrl+C 停止。\n"
    )


def run(*, port: int, seed_numbers: int, setup_only: bool) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    seed(numbers_per_carrier=seed_numbers)
    if setup_only:
        return 0
    procs, env = plan(port=port, env=dict(os.environ))
    # The NRF's key pair before any process starts: serve reads the public half.
    nrf_simulator.load_key(Path(env["HAOKA_NRF_SIM_KEY_FILE"]))
    for proc in procs:
        _spawn(proc, env)
    print(banner(port=port, env=env))
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for proc in procs:
                if proc.popen is not None and proc.popen.poll() is not None:
                    print(
                        f"进程 {proc.name} 退出（{proc.popen.returncode}），正在重启",
                        file=sys.stderr,
                    )
                    time.sleep(1)
                    _spawn(proc, env)
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.popen is not None and proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in procs:
            if proc.popen is not None:
                try:
                    proc.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
    return 0
