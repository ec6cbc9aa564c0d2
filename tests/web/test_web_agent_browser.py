"""The agent pages and the public shop in Debian's Chromium at 390×844 on Django's live server:
an agent signs in and reads the console (today, funnel, balances, the 30-day ECharts chart,
credit factors), the ledger, the team, the shop settings (a markup saved), the poster and
withdrawals; a visitor opens the shop; a consumer follows 立即办理 into 选号 and checkout, sees
the 代理服务费 and places the order, which is attributed to the agent. The credit panel follows
an arrears clawback and a confirmed fraud flag at once, and the frozen agent's panel holds the
balance back with the reason instead of 去提现.

Screenshots: test-artifacts/screenshots/agent_*.png.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from haoka.charging import tariffs
from haoka.charging.signals import monthly_fee_charged
from haoka.core import clock
from haoka.distribution import commission, credit, fraud
from haoka.distribution import operations as dist_ops
from haoka.distribution.domain import FraudKind
from haoka.distribution.models import Sale
from haoka.orders.models import Order
from tests.support.browser import fill_address, launch, phone_context, require_chromium, shot
from tests.support.distribution import make_agent, offer, sell
from tests.support.web import latest_otp, make_user, seed_catalog, seed_numbers

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PLAN = "CM-MANGO-39"
CONSUMER = "13700008888"


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser, live_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # links are on the public base URL
    tariffs.forget_cached()
    seed_catalog()
    seed_numbers()
    contexts = []
    errors: list[str] = []

    def new_page():
        context = phone_context(browser, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield new_page
    for context in contexts:
        context.close()
    tariffs.forget_cached()
    assert not errors, f"JavaScript errors: {errors}"


def agent_with_history():
    """A level-1 agent with a sub-agent, a shop of two products (one with a markup), and a
    month of sales: some settled and withdrawable by now, some pending, a few today."""
    now = clock.now()
    since = now - dt.timedelta(days=60)
    offer(PLAN, now=since)
    offer("CU-DAWANG-19", max_markup_fen=10_00, activation_fen=40_00, now=since)
    agent = make_agent(now=since)
    child = make_agent(parent=agent, now=since)
    dist_ops.set_shop(
        agent_id=agent.pk,
        shop_name="晓梅的号卡小店",
        shop_intro="正规运营商号卡，大流量低月租",
        items=[(PLAN, 10_00), ("CU-DAWANG-19", 0)],
    )
    for days in (34, 30, 27, 25, 21, 18, 14, 11, 9, 6, 4, 2, 1):
        at = now - dt.timedelta(days=days, hours=days % 5)
        with clock.frozen(at):
            plan = PLAN if days % 3 else "CU-DAWANG-19"
            sell(agent, now=at, plan_code=plan, opening_balance_fen=50_00 if days % 2 else 0)
            if days % 4 == 0:
                sell(child, now=at)
        commission.settle_due(now=at)
        commission.release_due(now=at)
    with clock.frozen(now):
        sell(agent, now=now, opening_balance_fen=50_00)
        sell(agent, now=now, activate=False)
    commission.settle_due(now=now)
    commission.release_due(now=now)
    credit.recompute(agent_id=agent.pk, now=now)
    return agent


def log_in(page, phone: str, next_url: str) -> None:
    page.goto(f"/login/?next={next_url}")
    page.locator("input[name=phone]").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(phone))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"


def test_an_agent_runs_the_shop_and_a_consumer_buys_through_it(context, live_server):
    agent = agent_with_history()
    page = context()
    log_in(page, agent.user.phone, "/agent/")

    # 代理中心: today, balances, the funnel, 30 days of sales (ECharts), credit factors
    expect(page.locator(".ag-hero")).to_contain_text("晓梅的号卡小店")
    expect(page.locator("[data-today-orders]")).to_have_text("2")
    expect(page.locator("[data-today-activated]")).to_have_text("1")
    expect(page.locator("[data-today-commission]")).to_have_text(re.compile(r"^¥\d+\.\d\d$"))
    for stage in ("pending", "settled", "withdrawable"):
        expect(page.locator(f"[data-balance={stage}] b")).to_have_text(
            re.compile(r"^¥[\d,]+\.\d\d$")
        )
    expect(page.locator("[data-balance=withdrawable] b")).not_to_have_text("¥0.00")
    expect(page.locator("#funnel [data-step=orders] .ag-funnel-count")).to_have_text("15")
    expect(page.locator("#funnel [data-step=activated] .ag-funnel-count")).to_have_text("14")
    expect(page.locator("#funnel [data-step=activated] .ag-funnel-rate")).to_have_text("100%")
    expect(page.locator("#agent-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#agent-chart svg")).to_be_visible()
    expect(page.locator("#credit")).to_contain_text("激活率")
    no_horizontal_overflow(page)
    shot(page, "agent_1_console")
    shot(page, "agent_1_console_full", full_page=True)

    # 订单: customers masked
    page.locator(".ag-tabs a", has_text="订单").click()
    expect(page.locator(".ag-sale").first).to_contain_text("****")
    no_horizontal_overflow(page)
    shot(page, "agent_2_orders")

    # 佣金: the ledger and its 可提现 tab
    page.locator(".ag-tabs a", has_text="佣金").click()
    expect(page.locator(".ag-entries li").first).to_contain_text("¥")
    page.locator(".ag-filter a", has_text="可提现").click()
    expect(page).to_have_url(re.compile(r"/agent/ledger\?status=WITHDRAWABLE$"))
    expect(page.locator(".ag-entries li[data-status=WITHDRAWABLE]").first).to_be_visible()
    expect(page.locator(".ag-entries li[data-status=PENDING]")).to_have_count(0)
    no_horizontal_overflow(page)
    shot(page, "agent_3_ledger")

    # 提现: the fee preview as one types
    page.locator(".ag-tabs a", has_text="提现").click()
    page.locator("input[name=amount]").fill("50")
    expect(page.locator("[data-fee-preview]")).to_have_text("手续费 ¥1.00，实际到账 ¥49.00")
    no_horizontal_overflow(page)
    shot(page, "agent_4_withdrawals")

    # 团队: invite code and link, the sub-agent masked
    page.locator(".ag-tabs a", has_text="团队").click()
    expect(page.locator("[data-invite-code]")).to_have_text(agent.invite_code)
    expect(page.locator("#invite-url")).to_have_value(
        f"{live_server.url}/agent/apply?invite={agent.invite_code}"
    )
    expect(page.locator("#members li")).to_have_count(1)
    expect(page.locator("#members li")).to_contain_text("*")
    no_horizontal_overflow(page)
    shot(page, "agent_5_team")

    # 店铺: change the markup, save
    page.goto("/agent/shop")
    markup = page.locator(f"input[name=markup_{PLAN}]")
    expect(markup).to_have_value("10.00")
    markup.fill("12")
    page.get_by_role("button", name="保存店铺设置").click()
    expect(page.locator(".alert-success")).to_contain_text("店铺设置已保存")
    expect(markup).to_have_value("12.00")
    no_horizontal_overflow(page)
    shot(page, "agent_6_shop")
    shot(page, "agent_6_shop_full", full_page=True)

    # 海报: the image loads (a phone-sized PNG) and can be downloaded
    page.goto("/agent/poster")
    poster = page.locator("#poster-image")
    expect(poster).to_be_visible()
    page.wait_for_function("document.getElementById('poster-image').naturalWidth === 750")
    expect(page.get_by_role("link", name="下载海报")).to_have_attribute(
        "href", "/agent/poster.png?download=1"
    )
    no_horizontal_overflow(page)
    shot(page, "agent_7_poster")

    # A visitor opens the shop
    visitor = context()
    visitor.goto(f"/s/{agent.code}")
    card = visitor.locator(f".shop-card[data-plan='{PLAN}']")
    expect(card).to_contain_text("¥39.00")
    expect(card.locator("[data-checkout]")).to_have_text("¥12.00")
    expect(card).to_contain_text("代理服务费 ¥12.00")
    expect(visitor.locator(".shop-hero")).to_contain_text("晓梅的号卡小店")
    no_horizontal_overflow(visitor)
    shot(visitor, "agent_8_shop_public")
    shot(visitor, "agent_8_shop_public_full", full_page=True)
    visitor.goto("/s/ANOSUCH1")
    expect(visitor.locator("h1")).to_have_text("店铺不存在或已关闭")
    shot(visitor, "agent_8_shop_404")

    # A consumer follows 立即办理: 选号 with the plan chosen → 预占 → checkout with the markup
    make_user(CONSUMER)
    buyer = context()
    log_in(buyer, CONSUMER, f"/s/{agent.code}")
    buyer.locator(f".shop-card[data-plan='{PLAN}']").get_by_role("link", name="立即办理").click()
    expect(buyer).to_have_url(re.compile(rf"/numbers/\?carrier=CMCC&plan={PLAN}$"))
    expect(buyer.locator(".plan-banner")).to_contain_text("移动芒果卡")
    buyer.locator("select[name=sort]").select_option("price")
    expect(buyer).to_have_url(re.compile(r"sort=price"))
    buyer.locator("#number-results .number-card").first.click()
    sheet = buyer.locator("#sheet .sheet-panel")
    sheet.get_by_role("button", name="预占此号 15 分钟").click()
    hold = sheet.locator(".hold")
    expect(hold).to_contain_text("已为您预占")
    msisdn = hold.get_attribute("id").removeprefix("hold-")
    hold.get_by_role("link", name="去下单").click()
    expect(buyer).to_have_url(re.compile(rf"/checkout/\?msisdn={msisdn}&plan={PLAN}$"))
    markup_line = buyer.locator(".bill li[data-markup]")
    expect(markup_line).to_contain_text("代理服务费")
    expect(markup_line).to_contain_text("¥12.00")
    form = buyer.locator("#checkout-form")
    fill_address(form)
    no_horizontal_overflow(buyer)
    shot(buyer, "agent_9_checkout")
    shot(buyer, "agent_9_checkout_full", full_page=True)
    buyer.get_by_role("button", name="提交订单").click()
    expect(buyer).to_have_url(re.compile(r"/orders/HK[0-9A-Z]+/$"))
    ref = buyer.url.rstrip("/").rsplit("/", 1)[1]

    assert Sale.objects.get(order_ref=ref).agent_id == agent.pk
    assert Order.objects.get(ref=ref).markup_fen == 12_00

    # Back in the console: the new order counts today
    page.goto("/agent/")
    expect(page.locator("[data-today-orders]")).to_have_text("3")


def test_the_credit_panel_follows_the_ledger_and_a_frozen_agent_sees_why_not_to_withdraw(
    context,
):
    now = clock.now()
    since = now - dt.timedelta(days=40)
    offer(PLAN, now=since - dt.timedelta(days=1))
    agent = make_agent(now=since)
    with clock.frozen(since):
        sales = [sell(agent, now=since, opening_balance_fen=50_00) for _ in range(3)]
    commission.settle_due(now=since + dt.timedelta(days=16))
    commission.release_due(now=now)
    page = context()
    log_in(page, agent.user.phone, "/agent/")
    balance = page.locator("[data-balance=withdrawable]")
    expect(balance.locator("small")).to_have_text("可提现")
    expect(balance.locator("b")).to_have_text("¥120.00")
    expect(page.get_by_role("link", name="去提现")).to_be_visible()
    expect(page.locator("#credit")).to_contain_text("0 张卡欠费")

    with transaction.atomic():  # a month's fee leaves the first line in arrears
        monthly_fee_charged.send(
            sender=None, line_id=sales[0][1].pk, month=dt.date(now.year, now.month, 1),
            fee_fen=39_00, arrears=True, now=now,
        )  # fmt: skip
    page.reload()
    expect(page.locator("#credit")).to_contain_text("1 张卡欠费")
    expect(page.locator("#credit")).to_contain_text("确认违规 0 次")
    no_horizontal_overflow(page)
    page.locator("#balances").evaluate("el => el.scrollIntoView()")
    shot(page, "agent_credit_normal_balances")
    page.locator("#credit").evaluate("el => el.scrollIntoView()")
    shot(page, "agent_credit_normal")

    sale = Sale.objects.get(order_ref=sales[1][0])
    flag = fraud.flag(
        agent_id=agent.pk, sale=sale, kind=FraudKind.SELF_ID, key="browser:self",
        detail="本人证件", now=now,
    )  # fmt: skip
    fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="本人证件下单", now=now)
    page.reload()
    expect(page.locator("#credit")).to_contain_text("确认违规 1 次")
    expect(balance.locator("small")).to_have_text("冻结中")
    expect(page.get_by_role("link", name="去提现")).to_have_count(0)
    expect(page.locator("#frozen [data-frozen-reason]")).to_have_text("风控确认违规：本人证件下单")
    expect(page.locator("#frozen")).to_contain_text("联系平台客服申诉")
    no_horizontal_overflow(page)
    shot(page, "agent_credit_frozen")
    page.locator("#credit").evaluate("el => el.scrollIntoView()")
    shot(page, "agent_credit_frozen_factors")
    page.goto("/agent/withdrawals")
    expect(page.locator("#withdraw")).to_contain_text("冻结中，暂不能提现")
    expect(page.get_by_role("button", name="申请提现")).to_have_count(0)
    shot(page, "agent_withdrawals_frozen")
