"""The line self-service pages in Debian's Chromium at 390×844 on Django's live server (an
in-memory payment gateway whose cashier sends the payer straight back, signed payment
notifications over HTTP): sign in, 我的号卡, the dashboard with its gauges and usage chart,
buying a pack (the gauges change), a pack the balance cannot pay, topping up, a bill,
办理 (停机保号 and 复机) and the closure's confirm step.

Screenshots: test-artifacts/screenshots/lines-*.png.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re

import httpx
import pytest
from playwright.sync_api import expect

from haoka.charging import bills, operations
from haoka.charging.models import Bucket
from haoka.core import clock
from haoka.lines import operations as line_ops
from haoka.lines.models import Line
from haoka.payments import gateway as payment_gateway
from tests.support.accounts import wrong_code
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.web import latest_otp, make_user, seed_catalog
from tests.support.web_orders import FakeGateway, pay

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700006666"
MSISDN = "13912340066"
SPACED = "139 1234 0066"
PLAN = "CM-MANGO-39"  # 40 GB general data, 100 minutes
MB, GB = 1024**2, 1024**3
_records = itertools.count(1)


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def gateway():
    fake = FakeGateway(cashier_returns=True)
    with payment_gateway.overridden(fake):
        yield fake


@pytest.fixture
def page(browser, live_server, transactional_db, gateway, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # where the cashier sends the payer back
    seed_catalog()
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The forms ask in the page's sheet: a browser dialog would be a regression.
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}") or dialog.dismiss())
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def open_line_with_usage():
    """An active line of the signed-in user, with ¥20.00 and some days of data and calls."""
    user = make_user(PHONE)
    now = clock.now()
    line = line_ops.open_line(
        user_id=user.pk, msisdn=MSISDN, carrier_code="CMCC", plan_code=PLAN,
        iccid="89860000000000000066", imsi="460000000000066", opening_balance_fen=2000,
        actor="staff:test", now=now,
    )  # fmt: skip
    # The line has been in use since the month began (its allowances too).
    today = clock.beijing_date(now)
    start = min(now, now - dt.timedelta(days=today.day - 1, hours=1))
    Bucket.objects.filter(line=line).update(valid_from=start)
    Line.objects.filter(pk=line.pk).update(activated_at=start)  # usage is never older
    records = []
    for back in range(min(12, today.day - 1), -1, -1):
        at = max(start, now - dt.timedelta(days=back))
        records.append(_record(line, "data", (300 + 170 * (back % 5)) * MB, at))
        if back % 3 == 0:
            records.append(_record(line, "voice", 60 * (4 + back % 7) + 20, at))
    operations.rate_records(records=records, now=now)
    return line


def gift_targeted_data(line, amount: int) -> None:
    """A gift of 定向流量 (video apps only) for this month."""
    now = clock.now()
    today = clock.beijing_date(now)
    Bucket.objects.create(
        line=line, unit="BYTES", source="GIFT", label="赠送视频定向流量", amount=amount,
        valid_from=now - dt.timedelta(days=today.day - 1, hours=1), rating_groups=[1003],
        origin=f"browser-gift:{line.pk}",
    )  # fmt: skip


def _record(line, service: str, amount: int, at: dt.datetime):
    return operations.RecordIn(
        record_id=f"browser-cdr-{next(_records)}", subscriber=line.msisdn, service=service,
        amount=amount, started_at=at,
    )  # fmt: skip


def use_pack_data(line, amount: int) -> None:
    """Data used now (packs are drawn before the plan's allowance)."""
    now = clock.now()
    [done] = operations.rate_records(records=[_record(line, "data", amount, now)], now=now)
    assert done.status == "RATED", done


def log_in(page) -> None:
    page.goto("/login/?next=/me/lines")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me/lines$"))


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"


def test_dashboard_pack_purchase_top_up_bill_and_manage_on_a_phone(page, live_server, gateway):
    line = open_line_with_usage()
    gift_targeted_data(line, 20 * GB)
    log_in(page)

    # 我的号卡
    row = page.locator(f".line-row[data-msisdn='{MSISDN}']")
    expect(row).to_contain_text(SPACED)
    expect(row).to_contain_text("移动芒果卡39元")
    expect(row.locator(".state-chip")).to_have_text("正常")
    expect(row).to_contain_text("¥20.00")
    shot(page, "lines-1-list")

    # The dashboard: balance, a gauge per allowance, 30 days of usage (ECharts)
    row.click()
    expect(page).to_have_url(re.compile(rf"/lines/{MSISDN}$"))
    expect(page.locator(".line-number")).to_have_text(SPACED)
    expect(page.locator("[data-line-status]")).to_have_text("正常")
    expect(page.locator(".wallet-balance")).to_have_text("¥20.00")
    general = page.locator(".gauge[data-label='套餐通用流量']")
    expect(general.locator(".gauge-left")).to_contain_text("/ 40 GB")
    expect(page.locator(".gauge[data-label='套餐语音'] .gauge-left")).to_contain_text("/ 100 分钟")
    expect(page.locator("#usage-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#usage-chart svg")).to_be_visible()
    assert page.locator(".gauge").count() == 3
    # 剩余额度: 定向 data apart from the general total; 本月已产生费用 so far (nothing yet)
    expect(page.locator(".totals")).to_contain_text("通用流量")
    expect(page.locator(".totals")).to_contain_text("/ 40 GB")
    expect(page.locator(".totals")).to_contain_text("定向流量 20 GB / 20 GB")
    expect(page.locator(".totals")).not_to_contain_text("60 GB")
    expect(page.locator(".month-charges-total")).to_have_text("¥0.00")
    no_horizontal_overflow(page)
    shot(page, "lines-2-dashboard")
    shot(page, "lines-2-dashboard-full", full_page=True)

    # 加油包: buy one from the balance; the dashboard shows its gauge and the new balance
    page.locator(".line-tabs a", has_text="加油包").click()
    expect(page.locator(".balance-bar")).to_contain_text("¥20.00")
    pack = page.locator(".pack-card[data-pack='PK-DATA-10G-7D']")
    expect(pack).to_contain_text("10 GB 全国通用流量")
    expect(pack).to_contain_text("7 天有效")
    expect(pack.locator(".pack-price")).to_have_text("¥15.00")
    no_horizontal_overflow(page)
    shot(page, "lines-3-packs")
    shot(page, "lines-3-packs-full", full_page=True)
    pack.get_by_role("button", name="立即订购").click()
    ask = page.get_by_role("alertdialog")
    expect(ask).to_contain_text("确认从余额扣除 ¥15.00 订购「15元10G七天包」？")
    shot(page, "lines-3-pack-ask")
    ask.get_by_role("button", name="确认").click()
    expect(page).to_have_url(re.compile(rf"/lines/{MSISDN}$"))
    expect(page.locator(".alert-success")).to_contain_text("已订购「15元10G七天包」")
    expect(page.locator(".wallet-balance")).to_have_text("¥5.00")
    expect(page.locator(".month-charges-total")).to_have_text("¥15.00")
    expect(page.locator(".month-charges-breakdown")).to_have_text("加油包 ¥15.00")
    expect(page.locator(".totals")).to_contain_text("/ 50 GB")  # 40 GB + the 10 GB pack
    expect(page.locator(".totals")).to_contain_text("定向流量 20 GB / 20 GB")
    page.locator(".month-charges").scroll_into_view_if_needed()
    shot(page, "lines-4-month-charges")
    bought = page.locator(".gauge[data-label='15元10G七天包']")
    expect(bought.locator(".gauge-left")).to_have_text("10 GB / 10 GB")
    expect(bought.locator(".ring")).to_contain_text("100%")
    shot(page, "lines-4-pack-bought")

    # Data used meanwhile comes out of the pack first: 刷新 (htmx) redraws the gauge
    use_pack_data(line, 7 * GB + 512 * MB)
    page.locator("#line-live").get_by_role("button", name="刷新").click()
    expect(bought.locator(".gauge-left")).to_have_text("2.5 GB / 10 GB")
    expect(bought.locator(".ring")).to_contain_text("25%")
    expect(bought).to_have_class(re.compile(r"\bgauge-ok\b"))
    shot(page, "lines-4-pack-used")

    # A pack the balance cannot pay: a clear message with the way to top up
    page.goto(f"/lines/{MSISDN}/packs")
    page.locator(".pack-card[data-pack='PK-DATA-30G-30D']").get_by_role(
        "button", name="立即订购"
    ).click()
    page.keyboard.press("Escape")  # Esc closes the sheet: nothing is bought
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/lines/{MSISDN}/packs$"))
    page.locator(".pack-card[data-pack='PK-DATA-30G-30D']").get_by_role(
        "button", name="立即订购"
    ).click()
    page.get_by_role("alertdialog").get_by_role("button", name="确认").click()
    error = page.locator("#pack-error")
    expect(error).to_contain_text("余额不足：可用余额 ¥5.00，该加油包需 ¥30.00，请先充值")
    error.scroll_into_view_if_needed()
    shot(page, "lines-5-pack-insufficient")

    # 充值: ¥50 with 支付宝 → the cashier → back on the dashboard; the money arrives
    error.get_by_role("link", name="去充值").click()
    expect(page).to_have_url(re.compile(rf"/lines/{MSISDN}/topup$"))
    page.locator("label.amount-chip", has_text="¥50.00").click()
    page.locator("label.pay-method", has_text="支付宝").click()
    no_horizontal_overflow(page)
    shot(page, "lines-6-topup")
    page.get_by_role("button", name="去支付").click()
    expect(page).to_have_url(f"{live_server.url}/lines/{MSISDN}")
    confirming = page.locator(".topup-confirming")
    expect(confirming).to_contain_text("充值 ¥50.00 确认中")
    shot(page, "lines-6-topup-confirming")
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        pay(http, gateway)
    # The page polls (htmx) while the money is on its way: no reload needed.
    expect(page.locator(".wallet-balance")).to_have_text("¥55.00")
    expect(confirming).to_have_count(0)
    page.goto(f"/lines/{MSISDN}/topup")
    expect(page.locator(".rows li").first).to_contain_text("已到账")
    shot(page, "lines-6-topup-paid", full_page=True)

    # 账单: the month's bill and its PDF

    month = clock.beijing_date(clock.now()).replace(day=1)
    bills.issue(line_id=line.pk, month=month, now=clock.now())
    page.locator(".line-tabs a", has_text="账单").click()
    page.locator(f".bill-rows a[data-month='{month:%Y-%m}']").click()
    expect(page.locator(".bill-hero h1")).to_have_text(f"{month.year}年{month.month}月账单")
    expect(page.locator(".money-rows")).to_contain_text("加油包")
    expect(page.locator(".money-rows")).to_contain_text("-¥15.00")
    pdf_link = page.get_by_role("link", name="下载 PDF 账单")
    assert pdf_link.get_attribute("href") == f"/lines/{MSISDN}/bills/{month:%Y-%m}.pdf"
    no_horizontal_overflow(page)
    shot(page, "lines-7-bill")
    shot(page, "lines-7-bill-full", full_page=True)

    # 办理: 停机保号, then 复机
    page.goto(f"/lines/{MSISDN}/manage")
    expect(page.locator("#porting .checks li.bad").first).to_be_visible()
    no_horizontal_overflow(page)
    shot(page, "lines-8-manage")
    shot(page, "lines-8-manage-full", full_page=True)
    # 停机保号 in its sheet: what happens, an SMS code (60 s countdown), 确认停机
    opener = page.get_by_role("link", name="申请停机保号")
    opener.click()
    sheet = page.get_by_role("dialog", name="停机保号")
    expect(sheet).to_contain_text("每月收取保号费 ¥5.00")
    expect(sheet).to_contain_text("137****6666")
    page.keyboard.press("Escape")  # 取消 by Esc: back where it was opened
    expect(sheet).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    sheet.get_by_role("button", name="获取验证码").click()
    expect(sheet.locator(".step-up-sent")).to_contain_text("验证码已发送")
    resend = sheet.locator("button.code-send")
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"重新获取（\d+ 秒）"))
    expect(sheet.locator("input[name=code]")).to_be_focused()
    sheet.locator("input[name=code]").fill(wrong_code(latest_otp(PHONE)))
    sheet.get_by_role("button", name="确认停机").click()
    expect(sheet.locator(".alert-error")).to_contain_text("短信验证码错误或已过期")
    expect(page.locator("[data-line-status]")).to_have_text("正常")
    sheet.locator("input[name=code]").fill(latest_otp(PHONE))
    no_horizontal_overflow(page)
    shot(page, "lines-8-suspend-sheet")
    sheet.get_by_role("button", name="确认停机").click()
    expect(page.locator(".alert-success")).to_contain_text("已停机保号")
    expect(page.locator("[data-line-status]")).to_have_text("停机保号")
    shot(page, "lines-8-manage-suspended")
    page.get_by_role("button", name="申请复机").click()
    expect(page.locator("[data-line-status]")).to_have_text("正常")

    # 销户: the page says what happens; its sheet asks for a code (nothing is closed here)
    page.locator("#closure").get_by_role("link", name="申请销户").click()
    expect(page.locator(".close-card h1")).to_have_text(f"注销号码 {SPACED}")
    expect(page.locator(".close-list")).to_contain_text("¥55.00")
    no_horizontal_overflow(page)
    shot(page, "lines-9-close")
    page.locator(".close-card").get_by_role("link", name="申请销户").click()
    sheet = page.get_by_role("dialog", name="注销号码")
    expect(sheet).to_contain_text("不可恢复")
    expect(sheet).to_contain_text("账户余额 ¥55.00")
    expect(sheet.get_by_role("button", name="确认销户")).to_be_visible()
    shot(page, "lines-9-close-sheet")
    sheet.get_by_role("link", name="取消").click()
    expect(sheet).to_have_count(0)
    assert Line.objects.get(pk=line.pk).status == "ACTIVE"
