"""``haoka demo``: migrate, seed realistic demo data, then run every process of the platform
(web + API, worker, the payment, carrier and courier simulators) and keep them running until
interrupted. The simulators listen beside the web port (``haoka.simulate.sim_urls``: 8101-8103
for 8000), so two demos on different ``HAOKA_PORT`` values do not collide.

Every row it seeds goes through the domains' operations (and queries to stay idempotent),
so the demo holds the data the platform itself would hold. Imported by the CLI once Django is
set up.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.core.management import call_command

from haoka.accounts import operations as accounts_ops
from haoka.accounts import queries as accounts_queries
from haoka.catalog import operations as catalog_ops
from haoka.catalog import queries as catalog_queries
from haoka.charging import cycle
from haoka.charging import operations as charging_ops
from haoka.core import clock
from haoka.distribution import commission, credit, training
from haoka.distribution import operations as dist_ops
from haoka.distribution import queries as dist_queries
from haoka.kyc import domain as kyc_domain
from haoka.lines import operations as line_ops
from haoka.lines import queries as lines_queries
from haoka.numbers import importer
from haoka.numbers import operations as number_ops
from haoka.simulate import listen_port, sim_urls

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


#: The demo consumer: signs in with this phone (the code is in the sandbox SMS outbox).
DEMO_CONSUMER = "13800138000"
DEMO_LINES = (
    # msisdn, carrier, plan, opening balance (fen), ICCID (Luhn), IMSI
    ("13912345678", "CMCC", "CM-MANGO-39", 5000, "89860020261122000016", "460002026112201"),
    ("18612345678", "CUCC", "CU-MAYI-RIZU", 3000, "89860120261122000023", "460012026112202"),
)


def _seed_lines() -> None:
    """Two lines of the demo consumer, opened at the start of this Beijing month, with a few
    weeks of rated usage (data, voice, SMS), so the line pages have something to show."""
    user = accounts_ops.register_consumer(phone=DEMO_CONSUMER)
    now = clock.now()
    month_start, _ = cycle.beijing_month(now)
    opened = month_start + dt.timedelta(hours=10)
    rng = random.Random(20261122)  # noqa: S311 - demo data, the same every time
    for msisdn, carrier, plan, balance, iccid, imsi in DEMO_LINES:
        if lines_queries.find_line(msisdn=msisdn, user_id=None) is not None:
            continue
        line_ops.open_line(
            user_id=user.pk, msisdn=msisdn, carrier_code=carrier, plan_code=plan, iccid=iccid,
            imsi=imsi, opening_balance_fen=balance, actor="demo", now=opened,
        )  # fmt: skip
        records, at, k = [], opened + dt.timedelta(hours=1), 0
        while at < now:
            free_app = 1011 if plan == "CM-MANGO-39" else 1013  # the plan's zero-rated app
            for service, rg, top in (
                ("data", 1003, 600),
                ("data", free_app, 1500),
                ("voice", None, 0),
            ):
                amount = rng.randrange(50, top) * 1024 * 1024 if service == "data" else 0
                if service == "voice":
                    service, amount = "voice", rng.randrange(0, 300)
                records.append(charging_ops.RecordIn(
                    record_id=f"demo-{msisdn}-{k}", subscriber=msisdn, service=service,
                    amount=amount, started_at=at, rating_group=rg,
                ))  # fmt: skip
                k += 1
            at += dt.timedelta(hours=rng.randrange(8, 30))
        for i in range(0, len(records), charging_ops.MAX_BATCH):
            charging_ops.rate_records(records=records[i : i + charging_ops.MAX_BATCH], now=now)


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
    """(time, kind, sale) events, oldest first: orders, activations (most orders, a day or
    two later, half with a first top-up of ¥50), one early closure, a nightly run a day."""
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
                    "ref": f"HKDEMO{serial:010d}",
                    "phone": f"1580000{serial:04d}",
                    "msisdn": next(pools[carrier]),
                    "n": serial,
                    "topup": 5000 if plan == "CT-CHANGXIANG-59" or rng.random() < 0.55 else 0,
                }
                events.append((at, "order", sale))
                activated = at + dt.timedelta(hours=rng.randrange(20, 70))
                if day == DAYS - 1 and not today_activation:  # one of yesterday's orders: today
                    today_start = day_start + dt.timedelta(days=1, minutes=1)
                    activated = max(now - dt.timedelta(minutes=20), today_start)
                    today_activation = True
                if at < activated < now and rng.random() < 0.9:
                    events.append((activated, "activate", sale))
                    if serial == 4:  # a customer who closes the line within days: clawed back
                        events.append((activated + dt.timedelta(days=5), "close", sale))
    return sorted((e for e in events if e[0] <= now), key=lambda e: (e[0], e[1]))


def _replay_sales(agents: dict, *, start, now) -> None:
    """Each event as it happened, with the clock at its time (commission is worked out when
    the activation commits, at that time)."""
    lines = {}
    for at, kind, sale in _sales_plan(agents, start=start, now=now):
        with clock.frozen(at):
            if kind == "order":
                user = accounts_ops.register_consumer(phone=sale["phone"])
                dist_ops.attribute_order(
                    order_ref=sale["ref"],
                    agent_code=sale["agent"].code,
                    plan_code=sale["plan"],
                    customer_user_id=user.pk,
                    msisdn=sale["msisdn"],
                    now=at,
                )
            elif kind == "activate":
                lines[sale["ref"]] = line_ops.open_from_order(
                    order_ref=sale["ref"],
                    user_id=accounts_queries.user_by_phone(phone=sale["phone"]).pk,
                    msisdn=sale["msisdn"],
                    carrier_code=sale["carrier"],
                    plan_code=sale["plan"],
                    iccid=f"898600{sale['n']:014d}",
                    imsi=f"46000{sale['n']:010d}",
                    opening_balance_fen=sale["topup"],
                    now=at,
                )
            elif kind == "close":
                line_ops.change_status(
                    line_id=lines[sale["ref"]].pk,
                    to="CLOSED",
                    actor="demo",
                    reason="用户申请销户",
                    now=at,
                )
            else:
                commission.process_due(now=at)
                commission.settle_due(now=at)
                commission.release_due(now=at)
                if clock.beijing(at).weekday() == 0 or at == now:  # weekly, and today's
                    for agent in agents.values():
                        credit.recompute(agent_id=agent.pk, now=at)


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
    env = {
        **env,
        "HAOKA_PORT": str(port),
        "HAOKA_PAYMENT_GATEWAY_URL": urls["payment"],
        "HAOKA_CARRIER_API_URL": urls["carrier"],
        "HAOKA_COURIER_API_URL": urls["courier"],
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
    ]
    return procs, env


def banner(*, port: int, env: dict[str, str]) -> str:
    """What the demo prints at start: where everything is, the simulators included."""
    username, password = DEMO_STAFF
    return (
        f"\n号卡演示已启动： http://127.0.0.1:{port}/\n"
        f"  模拟器：支付网关 {env['HAOKA_PAYMENT_GATEWAY_URL']}   "
        f"运营商 {env['HAOKA_CARRIER_API_URL']}   快递 {env['HAOKA_COURIER_API_URL']}\n"
        "  套餐 /plans/   选号 /numbers/   API 文档 /api/v1/docs\n"
        f"  运营后台 /admin/ （{username} / {password}）   沙箱短信 /api/v1/sandbox/sms?phone=...\n"
        f"  演示用户 {DEMO_CONSUMER}（两条在网线路；登录验证码在沙箱短信里）\n"
        "  演示代理 13700137000（代理中心 /agent/），下级代理 13700137001\n"
        "按 Ctrl+C 停止。\n"
    )


def run(*, port: int, seed_numbers: int, setup_only: bool) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    seed(numbers_per_carrier=seed_numbers)
    if setup_only:
        return 0
    procs, env = plan(port=port, env=dict(os.environ))
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
