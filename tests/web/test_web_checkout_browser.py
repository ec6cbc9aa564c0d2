"""The whole checkout in Debian's Chromium against REAL processes (tests/support/stack.py: haoka
serve + worker + the payment, carrier and courier simulators on a fresh database): sign in
with OTP, plan → 选择号码 → 预占 → 去下单 → address → 实名 → 签约 → 支付 on the gateway's
cashier page → the order page follows the card to 待激活 → 激活 → 激活成功.

Screenshots (390×844): test-artifacts/screenshots/checkout-1-number.png … checkout-7-activated.png.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import fill_address, launch, phone_context, require_chromium, shot
from tests.support.journey import id_number
from tests.support.stack import Stack

pytestmark = pytest.mark.browser

PHONE = "13700005555"
PLAN = "CT-WUYOU-0"  # 电信无忧卡: 首充 ¥20.00, so there is something to pay


@pytest.fixture
def stack(tmp_path):
    require_chromium()
    with Stack(tmp_path, numbers=60) as running:
        yield running


@pytest.fixture
def page(stack):
    playwright, browser = launch()
    context = phone_context(browser, base_url=stack.base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    browser.close()
    playwright.stop()
    assert not errors, f"JavaScript errors: {errors}"


def sms_code(stack: Stack, phone: str) -> str:
    sms = httpx.get(f"{stack.base}/api/v1/sandbox/sms", params={"phone": phone}, timeout=10)
    return re.search(r"\d{6}", sms.json()[0]["text"]).group(0)


def sign_in(page, stack: Stack, *, next_url: str) -> None:
    page.goto(f"/login/?next={next_url}")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至")).to_be_visible()
    page.locator("input[name=code]").fill(sms_code(stack, PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def test_checkout_from_number_to_activated_card(page, stack):
    sign_in(page, stack, next_url=f"/plans/{PLAN}/")

    # 号码: the plan's 选择号码 → 选号 for that plan → 预占 in the sheet → 去下单
    page.get_by_role("link", name="选择号码").click()
    expect(page).to_have_url(re.compile(rf"/numbers/\?carrier=CTCC&plan={PLAN}$"))
    expect(page.locator(".plan-banner")).to_contain_text("电信无忧卡")
    page.locator("select[name=sort]").select_option("price")  # a free number: only 首充 is due
    expect(page).to_have_url(re.compile(r"sort=price"))
    expect(page.locator("#number-results .number-card .number-price").first).to_have_text("免费")
    page.locator("#number-results .number-card").first.click()
    sheet = page.locator("#sheet .sheet-panel")
    sheet.get_by_role("button", name="预占此号 15 分钟").click()
    hold = sheet.locator(".hold")
    expect(hold).to_contain_text("已为您预占")
    expect(hold.locator(".countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    msisdn = hold.get_attribute("id").removeprefix("hold-")
    shot(page, "checkout-1-number")

    # 套餐 + 收货地址
    hold.get_by_role("link", name="去下单").click()
    expect(page).to_have_url(re.compile(rf"/checkout/\?msisdn={msisdn}&plan={PLAN}$"))
    expect(page.locator(".co-plan")).to_contain_text("电信无忧卡")
    expect(page.locator(".co-number .countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    form = page.locator("#checkout-form")
    expect(form.locator("input[name=phone]")).to_have_value(PHONE)
    fill_address(form)
    shot(page, "checkout-2-plan")
    page.get_by_role("button", name="提交订单").click()

    # 实名
    expect(page).to_have_url(re.compile(r"/orders/HK[0-9A-Z]+/$"))
    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator(".step-current .step-label")).to_have_text("实名")
    page.locator("input[name=name]").fill("张三")
    page.locator("input[name=id_number]").fill(id_number(7))
    shot(page, "checkout-3-kyc")
    page.get_by_role("button", name="提交实名信息").click()

    # 签约
    expect(page.locator(".step-current .step-label")).to_have_text("签约")
    contract = page.locator(".contract-text")
    expect(contract).to_contain_text("号卡移动通信服务协议")
    expect(contract).to_contain_text(ref)
    contract.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.get_by_label("我已阅读并同意《号卡移动通信服务协议》").check()
    page.locator("input[name=signature_name]").fill("张三")
    shot(page, "checkout-4-contract")
    page.get_by_role("button", name="确认签署").click()

    # 支付: the gateway simulator's cashier, then back to the order
    expect(page.locator(".step-current .step-label")).to_have_text("支付")
    expect(page.get_by_role("button", name="去支付 ¥20.00")).to_be_visible()
    expect(page.get_by_role("link", name="下载 PDF")).to_be_visible()
    page.locator("label.pay-method", has_text="支付宝").click()
    shot(page, "checkout-5-payment")
    page.get_by_role("button", name="去支付 ¥20.00").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(stack.sim('payment'))}/pay/"))
    expect(page.get_by_text("¥20.00").first).to_be_visible()
    shot(page, "checkout-5-cashier")
    page.get_by_role("button", name="确认支付").click()
    expect(page).to_have_url(f"{stack.base}/orders/{ref}/")

    # The page polls while the carrier and the courier work, until the card is delivered.
    live = page.locator("#order-live")
    expect(live).to_have_attribute("data-state", "DELIVERED", timeout=90_000)
    expect(page.locator("[data-state-label]")).to_have_text("已签收，待激活")
    expect(page.locator(".tracking li").first).to_contain_text("已签收")
    expect(page.locator(".sandbox-hint a")).to_be_visible()
    shot(page, "checkout-6-delivered")

    # 激活 with the last six digits of the ICCID, read from the sandbox parcel
    parcel_url = page.locator(".sandbox-hint a").get_attribute("href")
    parcel = httpx.get(f"{stack.base}{parcel_url}", timeout=10).json()
    page.locator("input[name=iccid_last6]").fill(parcel["iccid"][-6:])
    page.get_by_role("button", name="激活").click()
    expect(page.locator("#step-activated")).to_contain_text("激活成功")
    expect(page.locator(".line-box")).to_contain_text(f"{msisdn[:3]} {msisdn[3:7]} {msisdn[7:]}")
    expect(page.locator(".line-box")).to_contain_text("¥20.00")
    expect(page.locator("[data-state-label]")).to_have_text("已激活")
    shot(page, "checkout-7-activated")
    shot(page, "checkout-7-activated-full", full_page=True)

    page.goto("/orders/")
    expect(page.locator(f".order-row[data-ref='{ref}'] .state-chip")).to_have_text("已激活")
    shot(page, "checkout-orders")
