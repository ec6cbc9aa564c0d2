"""The first month on the line's pages, in Chromium at 390×844: a line activated on
7 December (Beijing) shows 首月按天折算：25 天 / 31 天 and the prorated fee on its dashboard,
and December's bill names the prorated fee.

Screenshots: test-artifacts/screenshots/first-month-*.png.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from haoka.charging import cycles
from haoka.core import clock
from haoka.lines import operations as line_ops
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.money import beijing
from tests.support.web import latest_otp, make_user, seed_catalog

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700007777"
MSISDN = "13912340077"
PLAN = "CM-MANGO-39"  # ¥39 a month, 40 GB, 100 minutes; first month prorated
DEC_7 = beijing(2026, 12, 7, 12, 0)
JANUARY = beijing(2027, 1, 1, 9, 0)


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
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def activate_on_7_december() -> None:
    """The line of an order, activated at noon on 7 December with a ¥50 first top-up."""
    user = make_user(PHONE)
    line_ops.open_from_order(
        order_ref="HKFIRSTMONTHWEB1", user_id=user.pk, msisdn=MSISDN, carrier_code="CMCC",
        plan_code=PLAN, iccid="89860000000000000077", imsi="460000000000077",
        opening_balance_fen=5000, now=DEC_7,
    )  # fmt: skip


def log_in(page) -> None:
    page.goto("/login/?next=/me/lines")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me/lines$"))


def test_a_line_activated_on_7_december_shows_its_prorated_first_month_and_bill(page):
    with clock.frozen(DEC_7, all_threads=True):
        activate_on_7_december()
        log_in(page)
        page.goto(f"/lines/{MSISDN}")
        card = page.locator(".first-month")
        expect(card).to_contain_text("首月按天折算：25 天 / 31 天")
        expect(card.locator("[data-first-month-fee]")).to_have_text("¥31.45")  # ¥39 × 25/31
        expect(card).to_contain_text("整月 ¥39.00")
        expect(card).to_contain_text("次月 1 日起按整月收费、全量发放")
        expect(page.locator(".wallet-balance")).to_have_text("¥18.55")  # ¥50.00 - ¥31.45
        voice = page.locator(".gauge[data-label='套餐语音'] .gauge-left")
        expect(voice).to_contain_text("/ 81 分钟")  # 100 minutes × 25/31, rounded up
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        card.scroll_into_view_if_needed()  # the wallet, the gauges and the first month
        shot(page, "first-month-1-dashboard")

    with clock.frozen(JANUARY, all_threads=True):
        cycles.run_cycles(now=JANUARY)
        page.goto(f"/lines/{MSISDN}")
        expect(page.locator(".gauge[data-label='套餐语音'] .gauge-left")).to_contain_text(
            "/ 100 分钟"
        )
        expect(page.locator(".first-month")).to_have_count(0)  # a full month now
        page.goto(f"/lines/{MSISDN}/bills/2026-12")
        fee = page.locator(".money-rows li", has_text="月租")
        expect(fee).to_contain_text("月租（首月按天折算：25 天 / 31 天）")
        expect(fee).to_contain_text("-¥31.45")
        shot(page, "first-month-2-bill", full_page=True)
