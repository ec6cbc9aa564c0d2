"""The pages in Debian's Chromium through Playwright, at a 390×844 phone viewport.

Screenshots go to test-artifacts/screenshots/<name>.png (relative to the repo root).
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from haoka.numbers.importer import Row, generated_msisdns, import_rows
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.web import latest_otp, seed_catalog, seed_numbers

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# (seeding, reading the sandbox SMS) are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser, live_server, transactional_db):
    seed_catalog()
    seed_numbers()
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_plans_filter_by_carrier_open_a_detail_and_compare_two(page):
    page.goto("/plans/")
    expect(page.locator(".plan-card").first).to_be_visible()
    shot(page, "plans-list")

    page.locator("label.chip", has_text="联通").click()
    expect(page).to_have_url(re.compile(r"/plans/\?carrier=CUCC$"))
    badges = page.locator(".plan-card .carrier-badge")
    expect(badges.first).to_have_text("联通")
    assert set(badges.all_inner_texts()) == {"联通"}
    shot(page, "plans-filtered-cucc")

    page.locator(".compare-check").nth(0).click()
    page.locator(".compare-check").nth(1).click()
    bar = page.locator("#compare-bar")
    expect(bar).to_be_visible()
    expect(bar.locator("[data-compare-go]")).to_have_text("对比 (2)")
    shot(page, "plans-compare-bar")

    bar.locator("[data-compare-go]").click()
    expect(page).to_have_url(re.compile(r"/plans/compare/\?codes=CU-[A-Z0-9-]+,CU-[A-Z0-9-]+$"))
    expect(page.locator(".compare-table thead th")).to_have_count(3)
    expect(page.locator(".compare-table td.best").first).to_be_visible()
    shot(page, "plans-compare")

    page.goto("/plans/?carrier=CUCC")
    page.locator(".plan-card", has_text="联通大王卡29元版").get_by_text("查看详情").click()
    expect(page.locator("h1")).to_have_text("联通大王卡29元版")
    expect(page.get_by_text("超出后 ¥0.004883/MB（约 ¥5.00/GB）")).to_be_visible()
    expect(page.get_by_role("link", name="选择号码")).to_be_visible()
    shot(page, "plan-detail")
    shot(page, "plan-detail-full", full_page=True)


def test_numbers_recommended_batches_digit_pad_search_and_valuation(page):
    page.goto("/numbers/")
    cards = page.locator("#number-results .number-card")
    expect(page.locator("#number-tabs a.active")).to_have_text("推荐")
    expect(cards).to_have_count(12)
    expect(cards.nth(3).locator(".tier-badge")).to_be_visible()  # a vanity number mixed in
    expect(cards.first.locator(".number-price")).to_have_text(re.compile(r"^(免费|¥\d+\.\d\d)$"))
    first = cards.evaluate_all("cards => cards.map(c => c.dataset.msisdn)")
    shot(page, "numbers")
    page.evaluate("window.stillThisPage = true")
    page.locator("[data-next-batch]").click()
    expect(page.locator("#number-results .number-grid")).to_have_attribute("data-batch", "1")
    expect(cards).to_have_count(12)
    second = cards.evaluate_all("cards => cards.map(c => c.dataset.msisdn)")
    assert not set(first) & set(second)
    assert page.evaluate("window.stillThisPage") is True  # swapped in place, no reload
    expect(page.locator("#number-tabs a.active")).to_have_text("推荐")
    shot(page, "numbers-next-batch")

    for digit in "8888":
        page.locator(f"[data-digit-pad] button[data-digit='{digit}']").click()
    expect(page.locator("#tail")).to_have_value("8888")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-msisdn", "13912348888")
    expect(page).to_have_url(re.compile(r"/numbers/\?tail=8888&sort=tier$"))  # empty fields dropped
    expect(page.locator("#number-tabs a.active")).to_have_text("全部号码")
    expect(cards.first.locator("mark")).to_have_text("8888")
    shot(page, "numbers-tail-8888")

    cards.first.click()
    sheet = page.locator("#sheet .sheet-panel")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("A 级靓号")
    expect(sheet).to_contain_text("尾号四连 AAAA")
    expect(sheet.get_by_role("button", name="预占此号 15 分钟")).to_be_visible()
    shot(page, "numbers-valuation")

    page.locator(".sheet-close").click()
    expect(page.locator("#sheet .sheet-panel")).to_have_count(0)
    page.locator("[data-digit-clear]").click()
    page.locator("#tail").fill("12a")
    page.locator("#tail").dispatch_event("input")
    expect(page.locator("#number-results .alert-error")).to_have_text("尾号只能是 1-8 位数字")
    shot(page, "numbers-bad-tail")

    page.locator(".tool-btn", has_text="号码估价").click()
    sheet = page.locator("#sheet .sheet-panel")
    sheet.locator("input[name=msisdn]").fill("13566668888")
    sheet.get_by_role("button", name="估价").click()
    expect(sheet).to_contain_text("不在号码池中")
    expect(sheet.locator("input[name=msisdn]")).to_have_value("13566668888")
    shot(page, "numbers-valuation-not-in-pool")

    page.locator(".sheet-close").click()
    page.locator(".tool-btn", has_text="生日选号").click()
    sheet.locator("input[name=digits]").fill("1314")
    sheet.get_by_role("button", name="帮我挑号").click()
    expect(sheet.locator(".number-card[data-msisdn='13900001314']")).to_be_visible()
    shot(page, "numbers-suggestions")
    sheet.locator(".number-card[data-msisdn='13900001314']").click()
    expect(sheet).to_contain_text("139 0000 1314")
    expect(sheet).to_contain_text("估价说明")


def test_log_in_with_otp_and_reserve_a_number(page):
    phone = "13700002222"
    page.goto("/numbers/?tail=8888")
    page.locator("#number-results .number-card").first.click()
    page.get_by_role("button", name="预占此号 15 分钟").click()

    expect(page).to_have_url(re.compile(r"/login/\?next="))
    expect(page.get_by_text("沙箱模式：验证码见")).to_be_visible()
    page.locator("input[name=phone]").fill(phone)
    shot(page, "login-phone")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    page.locator("input[name=code]").fill(latest_otp(phone))
    shot(page, "login-code")
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(re.compile(r"/numbers/valuation/\?msisdn=13912348888"))
    page.get_by_role("button", name="预占此号 15 分钟").click()
    hold = page.locator(".hold")
    expect(hold).to_contain_text("已为您预占")
    expect(hold.locator(".countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    shot(page, "reserve-hold")

    page.goto("/me/")
    expect(page.get_by_text("137****2222")).to_be_visible()
    expect(page.locator(".hold")).to_have_count(1)
    expect(page.locator(".hold .countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    shot(page, "me")

    page.locator(".hold").get_by_role("button", name="释放").click()
    expect(page.locator(".hold-released")).to_contain_text("已释放 139 1234 8888")
    shot(page, "me-released")


def test_resend_counts_down_60_seconds_and_stays_on_the_code_step(page):
    phone = "13700004444"
    page.clock.install()  # the page's timers move only when the test says so
    page.goto("/login/")
    page.locator("input[name=phone]").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    resend = page.locator("button[data-wait]")
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^重新发送（(60|59) 秒）$"))
    page.clock.run_for(30_000)
    expect(resend).to_have_text(re.compile(r"^重新发送（(30|29) 秒）$"))
    shot(page, "login-resend-countdown")
    page.clock.run_for(31_000)
    expect(resend).to_be_enabled()
    expect(resend).to_have_text("没收到？重新发送")

    resend.click()  # the server's minute may not be over: either way the code step stays
    expect(page.locator("input[name=code]")).to_be_visible()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    expect(page.locator("button[data-wait]")).to_be_disabled()
    shot(page, "login-resent")
    page.locator("input[name=code]").fill(latest_otp(phone))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me/$"))


def test_a_pasted_number_with_its_country_code_fits_the_valuation_box(page):
    page.goto("/numbers/valuation/")
    box = page.locator("input[name=msisdn]")
    box.focus()
    page.keyboard.insert_text("+86 139-1234-8888")  # as a paste puts it: maxlength applies
    expect(box).to_have_value("+86 139-1234-8888")
    page.get_by_role("button", name="估价").click()
    expect(page.get_by_text("A 级靓号").first).to_be_visible()
    expect(box).to_have_value(re.compile(r"(\+86 139-1234-8888|13912348888)$"))
    shot(page, "numbers-valuation-pasted")


def test_broadnet_192_numbers_show_where_they_belong(page):
    rows = [Row(line=1, msisdn="19212345678", carrier="CBN")]
    rows += [
        Row(line=1 + i, msisdn=m, carrier="CBN")
        for i, m in enumerate(generated_msisdns(carrier="CBN", count=8, seed=5), start=1)
    ]
    assert import_rows(rows=rows, source="test").imported == len(rows)
    page.goto("/numbers/?carrier=CBN")
    cards = page.locator("#number-results .number-card")
    expect(cards).to_have_count(len(rows))
    places = cards.locator(".number-loc").all_inner_texts()
    assert all(place and place != "归属地未知" for place in places), places
    expect(page.locator(".number-card[data-msisdn='19212345678'] .number-loc")).to_have_text("重庆")
    shot(page, "numbers-broadnet-located")
