"""流量控 in Debian's Chromium at 390×844 on Django's live server: the owner opens the tab,
sees what can be given and banked now, gives 1GB to another line with the code sent to the
line's own number, banks 2GB and takes 512MB back out, and reads the history.

Screenshots: test-artifacts/screenshots/dataflow-*.png.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from haoka.charging import points_ledger, points_shop
from haoka.charging.models import Bucket, ShopItem
from haoka.core import clock
from haoka.lines import operations as line_ops
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.web import latest_otp, make_user, seed_catalog

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700007777"
MSISDN, FRIEND = "13912340077", "13912340078"
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
MB, GB = 1024**2, 1024**3


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
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}") or dialog.dismiss())
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _open(phone: str, msisdn: str, n: int):
    user = make_user(phone)
    return line_ops.open_line(
        user_id=user.pk, msisdn=msisdn, carrier_code="CMCC", plan_code=PLAN,
        iccid=f"898600000000000000{n:02d}", imsi=f"4600000000000{n:02d}",
        opening_balance_fen=2000, actor="staff:test", now=clock.now(),
    )  # fmt: skip


def _log_in(page) -> None:
    page.goto("/login/?next=/me/lines")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me/lines$"))


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"


def test_give_bank_and_withdraw_data_on_a_phone(page):
    mine = _open(PHONE, MSISDN, 77)
    friend = _open("13700007778", FRIEND, 78)
    _log_in(page)

    page.goto(f"/lines/{MSISDN}")
    page.locator(".line-tabs").get_by_role("link", name="流量控").click()
    expect(page).to_have_url(re.compile(rf"/lines/{MSISDN}/data$"))
    expect(page.locator("[data-flow=gift] b")).to_have_text("5GB")
    expect(page.locator("[data-flow=withdraw]")).to_contain_text("流量银行余额不足")
    _no_horizontal_overflow(page)
    shot(page, "dataflow-1-page")

    gift = page.locator("#gift")
    gift.locator("input[name=to_msisdn]").fill(FRIEND)
    gift.locator("input[name=megabytes]").fill("1024")
    gift.get_by_role("button", name="获取验证码并转赠").click()
    expect(page.get_by_role("heading", name="确认转赠")).to_be_visible()
    expect(page.locator("#gift-confirm")).to_contain_text("139****0078")
    shot(page, "dataflow-2-confirm")
    page.locator("input[name=code]").fill(latest_otp(MSISDN))
    page.get_by_role("button", name="确认转赠").click()
    expect(page.get_by_text("已转赠 1GB，对方已收到")).to_be_visible()
    assert Bucket.objects.get(line=friend, source="GIFT").amount == GB

    bank = page.locator("#bank")
    bank.locator("input[name=bank_megabytes]").fill("2048")
    bank.get_by_role("button", name="存入").click()
    expect(page.get_by_text("已存入流量银行 2GB")).to_be_visible()
    page.locator("#bank input[name=bank_megabytes]").fill("512")
    page.locator("#bank").get_by_role("button", name="取出").click()
    expect(page.get_by_text("已从流量银行取出 512MB")).to_be_visible()
    expect(page.locator("[data-flow=withdraw] b")).to_have_text("1.5GB")
    expect(page.locator("#bank-lots")).to_contain_text("2GB")
    rows = page.locator("#movements li[data-kind]")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("+512MB")
    expect(page.locator("#movements")).to_contain_text("转赠给 139****0078 1GB")
    assert Bucket.objects.get(line=mine, source="BANK").amount == 512 * MB
    _no_horizontal_overflow(page)
    page.locator("#movements").scroll_into_view_if_needed()
    shot(page, "dataflow-3-history", full_page=True)


def test_family_sharing_and_the_points_shop_on_a_phone(page):
    mine = _open(PHONE, MSISDN, 77)
    _open("13700007778", FRIEND, 78)
    points_ledger.earn(user_id=mine.user_id, points=150, origin="browser:test", now=clock.now())
    coupon = ShopItem.objects.create(code="coffee", name="咖啡券", kind="COUPON",
                                     sponsor_name="某咖啡", price_points=100)  # fmt: skip
    points_shop.add_codes(item_id=coupon.pk, codes=["CAFE-0001"])
    _log_in(page)
    page.goto(f"/lines/{MSISDN}/data")

    family = page.locator("#family")
    family.get_by_role("button", name="开通家庭共享").click()
    expect(page.get_by_text("家庭共享已开通")).to_be_visible()
    family.locator("input[name=member_msisdn]").fill(FRIEND)
    family.locator("input[name=cap_mb]").fill("1024")
    family.get_by_role("button", name="邀请成员").click()
    expect(page.get_by_text("邀请已发送")).to_be_visible()
    expect(page.locator("#family-members li[data-member]")).to_contain_text("139****0078")
    expect(page.locator("#family-members")).to_contain_text("上限 1GB")
    _no_horizontal_overflow(page)
    page.locator("#family").scroll_into_view_if_needed()
    shot(page, "dataflow-4-family")

    points = page.locator("#points")
    expect(points.locator("[data-points]")).to_have_text("150")
    points.locator("li[data-item=coffee]").get_by_role("button", name="100 积分兑换").click()
    expect(page.get_by_text("券码 CAFE-0001")).to_be_visible()
    expect(page.locator("#points [data-points]")).to_have_text("50")
    page.locator("#points").scroll_into_view_if_needed()
    shot(page, "dataflow-5-points")
