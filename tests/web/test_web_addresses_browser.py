"""省/市/区 cascade, 我的收货地址 and a real-name typo corrected while the number is held, in
Chromium at 390×844 on Django's live server. Screenshots: test-artifacts/screenshots/
addresses-*.png and kyc-retry-*.png."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from haoka.logistics.models import SavedAddress
from haoka.orders.models import Order
from tests.support.browser import fill_address, launch, phone_context, require_chromium, shot
from tests.support.web import hold_for, latest_otp, make_user, seed_catalog, seed_numbers

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700004444"
NUMBER = "13912348888"
ID_NUMBER = "440305199001010018"  # made up (tests/support/journey.py: id_number(1))


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser, live_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    seed_catalog()
    seed_numbers()
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def log_in(page, next_url: str) -> object:
    user = make_user(PHONE)
    page.goto(f"/login/?next={next_url}")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))
    return user


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"


def _options(select) -> list[str]:
    return select.locator("option").all_inner_texts()


def test_the_address_book_cascades_and_checkout_takes_a_saved_address_in_one_tap(page):
    user = log_in(page, "/me/addresses/")
    expect(page.get_by_text("还没有保存的收货地址")).to_be_visible()
    page.get_by_role("link", name="新增收货地址").click()

    # The cascade: a province fills the cities, a city the districts; a change starts over.
    form = page.locator("form.co-address")
    city, district = (
        form.locator("select[name=city_code]"),
        form.locator("select[name=district_code]"),
    )
    expect(form.locator("input[name=phone]")).to_have_value(PHONE)
    form.locator("select[name=province_code]").select_option(label="广东省")
    expect(city.locator("option", has_text="深圳市")).to_have_count(1)
    city.select_option(label="深圳市")
    expect(district.locator("option", has_text="南山区")).to_have_count(1)
    form.locator("select[name=province_code]").select_option(label="北京市")
    expect(city.locator("option")).to_have_count(2)  # 请选择, 北京市
    assert _options(district) == ["请选择"]
    fill_address(form, receiver="王小明", detail="科技园路 1 号")
    form.locator("input[name=phone]").fill("13800138000")
    shot(page, "addresses-1-cascade")
    form.get_by_role("button", name="保存").click()

    # The list: the first address is the default; the phone is masked.
    expect(page.locator(".alert-success")).to_contain_text("收货地址已保存")
    row = page.locator(".address-row").first
    expect(row).to_contain_text("王小明")
    expect(row).to_contain_text("138****8000")
    expect(row).to_contain_text("广东省 深圳市 南山区 科技园路 1 号")
    expect(row.locator(".badge")).to_have_text("默认")
    assert "13800138000" not in page.content()

    # A second one, made the default from the list; then the first is edited.
    page.get_by_role("link", name="新增收货地址").click()
    fill_address(
        page.locator("form.co-address"),
        province="北京市",
        city="北京市",
        district="海淀区",
        detail="中关村大街 27 号",
    )
    page.get_by_role("button", name="保存").click()
    beijing = page.locator(".address-row", has_text="海淀区")
    beijing.get_by_role("button", name="设为默认").click()
    expect(page.locator(".address-row").first).to_contain_text("北京市 海淀区 中关村大街 27 号")
    expect(page.locator(".address-row").first.locator(".badge")).to_have_text("默认")
    no_horizontal_overflow(page)
    shot(page, "addresses-2-book")
    page.locator(".address-row", has_text="南山区").get_by_role("link", name="编辑").click()
    edit = page.locator("form.co-address")
    expect(edit.locator("select[name=district_code]")).to_have_value("440305")
    edit.locator("input[name=detail]").fill("科技园路 2 号")
    edit.get_by_role("button", name="保存").click()
    expect(page.locator(".address-row", has_text="南山区")).to_contain_text("科技园路 2 号")

    # Checkout: the default is chosen already; the other one is a tap away.
    hold_for(user=user, msisdn=NUMBER)
    page.goto(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    checkout = page.locator("#checkout-form")
    expect(checkout.locator(".address-choice input:checked")).to_have_count(1)
    expect(checkout.locator(".address-choice", has=page.locator("input:checked"))).to_contain_text(
        "海淀区"
    )
    expect(checkout.locator(".new-address")).to_be_hidden()
    checkout.locator(".address-choice", has_text="南山区").click()
    no_horizontal_overflow(page)
    shot(page, "addresses-3-checkout-pick")
    page.get_by_role("button", name="提交订单").click()
    expect(page).to_have_url(re.compile(r"/orders/HK[0-9A-Z]+/$"))
    expect(page.locator("body")).to_contain_text("实名认证")
    order = Order.objects.get(msisdn=NUMBER)
    assert (order.ship_province, order.ship_city) == ("广东省", "深圳市")
    assert "科技园路 2 号" in order.shipping_address
    assert SavedAddress.objects.filter(user=user).count() == 2


def test_a_new_address_at_checkout_is_checked_and_kept_in_the_book(page):
    user = log_in(page, "/orders/")
    hold_for(user=user, msisdn=NUMBER)
    page.goto(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    checkout = page.locator("#checkout-form")
    expect(checkout.locator(".address-pick")).to_have_count(0)  # nothing saved yet
    fill_address(checkout, province="湖北省", city="省直辖县级市", district="仙桃市")
    # A forged district code (not from the table): the server says so in Chinese.
    checkout.locator("select[name=district_code]").evaluate(
        "s => { s.add(new Option('伪造区', '429099')); s.value = '429099'; }"
    )
    page.get_by_role("button", name="提交订单").click()
    expect(page.locator(".alert-error")).to_have_text("请选择正确的省份、城市和区县")
    expect(checkout.locator("input[name=detail]")).to_have_value("科技园路 1 号")
    shot(page, "addresses-4-forged-code")
    checkout.locator("select[name=city_code]").evaluate("s => s.scrollIntoView({block: 'center'})")
    expect(checkout.locator("select[name=city_code]")).to_have_value("4290")  # kept
    shot(page, "addresses-5-forged-code-selects")
    checkout.locator("select[name=district_code]").select_option(label="仙桃市")
    page.get_by_role("button", name="提交订单").click()
    expect(page).to_have_url(re.compile(r"/orders/HK[0-9A-Z]+/$"))
    saved = SavedAddress.objects.get(user=user)
    assert (saved.province, saved.city, saved.district) == ("湖北省", "仙桃市", "仙桃市")
    assert saved.is_default and Order.objects.get(msisdn=NUMBER).ship_city == "仙桃市"


def test_a_kyc_typo_is_shown_corrected_and_passes_while_the_number_is_held(page):
    user = log_in(page, "/orders/")
    hold_for(user=user, msisdn=NUMBER)
    page.goto(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    fill_address(page.locator("#checkout-form"))
    page.get_by_role("button", name="提交订单").click()
    page.locator("input[name=name]").fill("张假")  # the sandbox's "not in the register"
    page.locator("input[name=id_number]").fill(ID_NUMBER)
    page.get_by_role("button", name="提交实名信息").click()

    retry = page.locator("[data-kyc-retry]")
    expect(retry).to_contain_text("实名核验未通过")
    expect(retry).to_contain_text("姓名与身份证号码不一致")
    expect(retry).to_contain_text("号码仍为您保留，还可提交 2 次")
    expect(page.locator("[data-state-label]")).to_have_text("实名待更正")
    expect(page.locator(".step-current .step-label")).to_have_text("实名")
    expect(page.locator(".order-expiry")).to_contain_text("内更正实名信息")
    no_horizontal_overflow(page)
    shot(page, "kyc-retry-1-error")

    page.locator("input[name=name]").fill("张三")
    page.locator("input[name=id_number]").fill(ID_NUMBER)
    shot(page, "kyc-retry-2-corrected")
    page.get_by_role("button", name="提交实名信息").click()
    expect(page.locator(".step-current .step-label")).to_have_text("签约")
    expect(page.locator("[data-kyc-retry]")).to_have_count(0)
    shot(page, "kyc-retry-3-passed")
    order = Order.objects.get(msisdn=NUMBER)
    assert (order.state, order.kyc_failures) == ("KYC_PASSED", 1)
