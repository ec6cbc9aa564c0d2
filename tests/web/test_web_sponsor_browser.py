"""The sponsor console and the consumer's 赞助流量 in Debian's Chromium at 390×844 on Django's
live server: a sponsor's member signs in with phone + code and reads the console (wallet,
campaigns with budget gauges, 30 days of ECharts by campaign and app, switched between data,
lines and spend), pauses a campaign, creates one, sees the opted-in numbers masked, creates
an API token (shown once), the wallet and the month's statement; the consumer whose line
watched 抖音 on the sponsor sees the card on the dashboard and opts out after confirming.

Screenshots: test-artifacts/screenshots/sponsor_*.png.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import expect

from haoka.accounts.models import User
from haoka.charging import bills, sponsored, tariffs
from haoka.core import clock
from haoka.sponsors import campaigns
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.charging import make_line
from tests.support.sponsor_pages import MB, watch
from tests.support.sponsors import DOUYIN, fund, make_campaign, make_sponsor
from tests.support.web import latest_otp, seed_catalog

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PLAN = "CM-SHANGLV-58"  # general data only: 抖音 is not zero-rated by the plan
KUAISHOU = 1007


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser, live_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    tariffs.forget_cached()
    sponsored.forget_cached()
    seed_catalog()
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
    sponsored.forget_cached()
    assert not errors, f"JavaScript errors: {errors}"


def sponsor_with_history():
    """A sponsor with a 抖音 campaign a line watched on each of the last days (slices
    settled), an opt-in campaign for 快手 the line opted in to, and money left."""
    now = clock.now()
    start = now - dt.timedelta(days=6)
    sponsor = make_sponsor(now=start, company_name="晓视短视频科技有限公司")
    make_campaign(sponsor, now=start, name="抖音看视频免流量", budget_fen=500_00)
    opt_in = make_campaign(
        sponsor, now=start, name="快手授权免流", rating_groups=[KUAISHOU], budget_fen=200_00,
        eligibility={"opted_in": True}, per_line_cap_mb=2048,
    )  # fmt: skip
    fund(sponsor, 3_000_00, key="browser-fund")
    line = make_line(plan=PLAN, now=start)
    campaigns.opt_in(sponsor=sponsor, campaign_id=opt_in.campaign_id, msisdn=line.msisdn, now=start)
    sponsored.forget_cached()
    for days in (5, 4, 3, 2, 1):
        at = now - dt.timedelta(days=days)
        with clock.frozen(at):
            watch(line, rg=DOUYIN, grants=2 + days % 2, size=60 * MB, at=at)
            watch(line, rg=KUAISHOU, grants=2, size=40 * MB, at=at + dt.timedelta(minutes=5))
    return sponsor, line


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


YUAN = re.compile(r"^¥[\d,]+\.\d\d$")


def test_a_sponsor_runs_its_campaigns_and_a_consumer_opts_out(context, browser, live_server):
    sponsor, line = sponsor_with_history()
    page = context()
    log_in(page, User.objects.get(pk=sponsor.applicant_id).phone, "/sponsor/")

    # 概览: wallet, campaigns with gauges, 30 days of ECharts
    expect(page.locator(".ag-hero")).to_contain_text("晓视短视频科技有限公司")
    for figure in ("balance", "held", "spend"):
        expect(page.locator(f"[data-{figure}]")).to_have_text(YUAN)
    expect(page.locator("[data-spend]")).not_to_have_text("¥0.00")
    expect(page.locator(".sp-campaign")).to_have_count(2)
    expect(page.locator(".sp-campaign").first).to_contain_text("快手")
    expect(page.locator("#sponsor-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#sponsor-chart svg")).to_be_visible()
    no_horizontal_overflow(page)
    shot(page, "sponsor_1_console")
    page.locator("[data-metric=spend_fen]").click()
    expect(page.locator("[data-metric=spend_fen]")).to_have_attribute("aria-pressed", "true")
    page.locator("#trend").scroll_into_view_if_needed()
    shot(page, "sponsor_1_console_chart_spend")
    shot(page, "sponsor_1_console_full", full_page=True)

    # the same console on a desktop
    desktop = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        base_url=live_server.url,
        storage_state=page.context.storage_state(),
    )
    wide = desktop.new_page()
    wide.goto("/sponsor/")
    expect(wide.locator("#sponsor-chart")).to_have_attribute("data-ready", "1")
    shot(wide, "sponsor_1_console_desktop", full_page=True)
    desktop.close()

    # a campaign: figures, the last days, pause
    page.locator(".sp-campaign", has_text="抖音看视频免流量").click()
    expect(page.locator("[data-apps]")).to_have_text("抖音")
    expect(page.locator("[data-report] tbody tr").first).to_be_visible()
    page.locator("[data-action=pause]").click()
    expect(page.locator(".alert-success")).to_contain_text("活动已暂停")
    expect(page.locator("[data-status]")).to_have_text("已暂停")
    no_horizontal_overflow(page)
    shot(page, "sponsor_2_campaign", full_page=True)

    # 新建活动
    page.locator(".ag-tabs a", has_text="新建活动").click()
    page.locator("input[name=name]").fill("哔哩哔哩追番免流")
    page.locator(".sp-apps label", has_text="哔哩哔哩").locator("input").check()
    page.locator("input[name=budget]").fill("800")
    no_horizontal_overflow(page)
    shot(page, "sponsor_3_new_campaign", full_page=True)
    page.get_by_role("button", name="创建活动").click()
    expect(page.locator(".alert-success")).to_contain_text("预算 ¥800.00")
    expect(page.locator("[data-budget]")).to_have_text("¥800.00")

    # 授权号码: masked
    page.locator(".ag-tabs a", has_text="授权号码").click()
    masked = f"{line.msisdn[:3]}****{line.msisdn[-4:]}"
    expect(page.locator("[data-opt-ins] li").first).to_contain_text(masked)
    assert line.msisdn not in page.content()
    no_horizontal_overflow(page)
    shot(page, "sponsor_4_lines")

    # API 令牌: shown once
    page.locator(".ag-tabs a", has_text="API 令牌").click()
    page.locator("input[name=name]").fill("生产环境")
    page.get_by_role("button", name="创建令牌").click()
    expect(page.locator("[data-secret]")).to_be_visible()
    expect(page.locator("[data-tokens] li")).to_have_count(1)
    no_horizontal_overflow(page)
    shot(page, "sponsor_5_tokens")

    # 钱包 and this month's statement
    page.locator(".ag-tabs a", has_text="钱包").click()
    expect(page.locator("[data-balance]")).to_have_text(YUAN)
    no_horizontal_overflow(page)
    shot(page, "sponsor_6_wallet", full_page=True)
    page.locator(".rows a", has_text="查看").first.click()
    expect(page.locator("[data-statement-rows] li").first).to_contain_text("抖音")
    expect(page.locator("[data-charged]")).to_have_text(YUAN)
    no_horizontal_overflow(page)
    shot(page, "sponsor_7_statement", full_page=True)

    # the consumer: 赞助流量 on the dashboard, then opting out
    consumer = context()
    log_in(consumer, User.objects.get(pk=line.user_id).phone, f"/lines/{line.msisdn}")
    card = consumer.locator("#sponsored")
    expect(card.locator("[data-sponsored-app=抖音]")).to_contain_text(
        "由 晓视短视频科技有限公司 赞助"
    )
    expect(card.locator("[data-sponsored-app=快手]")).to_be_visible()
    card.scroll_into_view_if_needed()
    no_horizontal_overflow(consumer)
    shot(consumer, "sponsor_8_consumer_card")
    card.get_by_role("link", name="拒绝赞助").click()
    expect(consumer.locator("h1")).to_contain_text("拒绝 晓视短视频科技有限公司 的流量赞助？")
    no_horizontal_overflow(consumer)
    shot(consumer, "sponsor_9_consumer_opt_out")
    consumer.get_by_role("button", name="确认拒绝").click()
    expect(consumer.locator(".alert-success")).to_contain_text("新的赞助即刻停止")
    expect(consumer.locator("[data-opted-out]")).to_have_text("已拒绝赞助")
    consumer.locator("#sponsored").scroll_into_view_if_needed()
    shot(consumer, "sponsor_10_consumer_opted_out")

    # the month's bill: the sponsored data at ¥0.00
    month = clock.beijing_date(clock.now()).replace(day=1)
    bills.issue(line_id=line.pk, month=month, now=clock.now())
    consumer.goto(f"/lines/{line.msisdn}/bills/{month:%Y-%m}")
    sponsored_rows = consumer.locator("[data-bill-sponsored] li")
    expect(sponsored_rows).to_have_count(2)
    expect(sponsored_rows.first).to_contain_text("¥0.00")
    consumer.locator("[data-bill-sponsored]").scroll_into_view_if_needed()
    no_horizontal_overflow(consumer)
    shot(consumer, "sponsor_11_consumer_bill")

    # a consumer cannot open the console
    consumer.goto("/sponsor/")
    expect(consumer.locator("body")).to_contain_text("仅已通过审核的后向客户")
