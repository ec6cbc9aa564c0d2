"""Order page states the real-process walk passes too fast to see, in Chromium at 390×844 on
Django's live server (fake carrier adapter and payment gateway, signed callbacks over HTTP):
choosing a plan, errors, ID photos, 支付确认中, live polling while the card ships, a real-name
rejection, staff review, cancelling. Screenshots: test-artifacts/screenshots/orders-*.png.
"""

from __future__ import annotations

import os
import re

import httpx
import pytest
from playwright.sync_api import expect

from haoka.carriers import http as carrier_http
from haoka.core import clock
from haoka.kyc import domain as kyc_domain
from haoka.kyc import operations as kyc_operations
from haoka.orders import domain as orders_domain
from haoka.orders import operations
from haoka.payments import gateway as payment_gateway
from tests.support.browser import fill_address, launch, phone_context, require_chromium, shot
from tests.support.web import hold_for, latest_otp, make_user, seed_catalog, seed_numbers
from tests.support.web_orders import (
    ICCID,
    PNG,
    FakeCarrier,
    FakeGateway,
    carrier_event,
    courier_scan,
    pay,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700003333"
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
def fakes():
    carrier, gateway = FakeCarrier(), FakeGateway(cashier_returns=True)
    previous = carrier_http.adapter()
    carrier_http.set_adapter(carrier)
    with payment_gateway.overridden(gateway):
        yield carrier, gateway
    carrier_http.set_adapter(previous)


@pytest.fixture
def page(browser, live_server, transactional_db, fakes, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # where the gateway sends the payer back
    seed_catalog()
    seed_numbers()
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def log_in(page) -> object:
    user = make_user(PHONE)
    page.goto("/login/?next=/orders/")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))
    return user


def test_plan_choice_errors_photos_paying_and_shipping(page, live_server, fakes):
    carrier, gateway = fakes
    user = log_in(page)
    expect(page.get_by_text("还没有订单")).to_be_visible()
    hold_for(user=user, msisdn=NUMBER)

    page.goto(f"/checkout/?msisdn={NUMBER}")  # from 我的预占: no plan yet
    expect(page.get_by_text("选择套餐")).to_be_visible()
    shot(page, "orders-checkout-plans")
    page.locator(".plan-pick a", has_text="移动商旅卡58元").click()
    expect(page).to_have_url(re.compile(r"plan=CM-SHANGLV-58$"))

    form = page.locator("#checkout-form")
    # 揭阳: where this plan does not ship
    fill_address(form, city="揭阳市", district="榕城区", detail="进贤门大道 1 号")
    page.get_by_role("button", name="提交订单").click()
    expect(page.locator(".alert-error")).to_contain_text("揭阳")
    expect(form.locator("input[name=detail]")).to_have_value("进贤门大道 1 号")
    shot(page, "orders-checkout-error")
    form.locator("select[name=city_code]").select_option(label="深圳市")
    form.locator("select[name=district_code]").select_option(label="南山区")
    page.get_by_role("button", name="提交订单").click()

    expect(page.locator(".step-current .step-label")).to_have_text("实名")
    page.locator("input[name=name]").fill("张三")
    page.locator("input[name=id_number]").fill("44030519900101001X")
    for field in ("photo_front", "photo_back", "photo_selfie"):
        page.locator(f"input[name={field}]").set_input_files(
            {"name": f"{field}.png", "mimeType": "image/png", "buffer": PNG}
        )
    page.get_by_role("button", name="提交实名信息").click()
    expect(page.locator("#step-kyc .alert-error")).to_have_text("身份证号码校验位不正确，请核对")
    shot(page, "orders-kyc-error", full_page=True)
    page.locator("input[name=id_number]").fill(ID_NUMBER)
    for field in ("photo_front", "photo_back", "photo_selfie"):
        page.locator(f"input[name={field}]").set_input_files(
            {"name": f"{field}.png", "mimeType": "image/png", "buffer": PNG}
        )
    expect(page.locator(".photo-input.has-file")).to_have_count(3)
    page.locator(".photos").scroll_into_view_if_needed()
    shot(page, "orders-kyc-photos")
    page.get_by_role("button", name="提交实名信息").click()

    page.get_by_label("我已阅读并同意《号卡移动通信服务协议》").check()
    page.locator("input[name=signature_name]").fill("李四")
    page.get_by_role("button", name="确认签署").click()
    expect(page.locator("#step-contract .alert-error")).to_have_text("签名须与实名认证的姓名一致")
    expect(page.locator("input[name=signature_name]")).to_have_value("李四")
    shot(page, "orders-contract-error")
    page.locator("input[name=signature_name]").fill("张三")
    page.get_by_role("button", name="确认签署").click()

    page.get_by_role("button", name="去支付 ¥1,988.00").click()  # the cashier sends us back
    expect(page.get_by_text("支付确认中")).to_be_visible()
    expect(page.locator("#order-live")).to_have_attribute("hx-trigger", "every 3s")
    shot(page, "orders-paying")

    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    with httpx.Client(base_url=live_server.url, timeout=10) as haoka:
        pay(haoka, gateway)
        live = page.locator("#order-live")
        expect(live).to_have_attribute("data-state", "SUBMITTED", timeout=10_000)
        expect(page.get_by_role("heading", name="已提交运营商")).to_be_visible()
        shot(page, "orders-submitted")
        carrier_event(haoka, ref=ref, carrier="CMCC", type="order.accepted", iccid=ICCID, imsi="1")
        carrier_event(
            haoka,
            ref=ref,
            carrier="CMCC",
            type="order.shipped",
            courier="SIMEXPRESS",
            tracking_no="SX200",
        )
        for status, text in (("PICKED_UP", "已揽收：快递员已揽件"), ("IN_TRANSIT", "运输中")):
            courier_scan(haoka, ref=ref, tracking_no="SX200", status=status, description=text)
        expect(live).to_have_attribute("data-state", "SHIPPED", timeout=10_000)
        expect(page.locator(".tracking li").first).to_contain_text("运输中")
    assert carrier.submitted[0].order_ref == ref
    shot(page, "orders-shipping")
    shot(page, "orders-shipping-full", full_page=True)


def test_rejection_review_and_cancel(page, live_server):
    user = log_in(page)
    hold_for(user=user, msisdn=NUMBER)
    page.goto(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    form = page.locator("#checkout-form")
    fill_address(
        form, province="北京市", city="北京市", district="海淀区", detail="中关村大街 1 号"
    )
    page.get_by_role("button", name="提交订单").click()
    for _ in range(orders_domain.KYC_ATTEMPTS):  # the sandbox verifier says no, every time
        page.locator("input[name=name]").fill("张假")
        page.locator("input[name=id_number]").fill(ID_NUMBER)
        page.get_by_role("button", name="提交实名信息").click()
        expect(page.locator("#step-failed, [data-kyc-retry]")).to_be_visible()
    expect(page.locator("#step-failed")).to_contain_text("实名认证未通过")
    shot(page, "orders-kyc-rejected")

    hold_for(user=user, msisdn="13811115200")
    page.goto("/checkout/?msisdn=13811115200&plan=CM-MANGO-39")
    # the first order kept its address in the book: it is chosen already
    expect(form.locator("input[name=address_id]:checked")).to_have_count(1)
    page.get_by_role("button", name="提交订单").click()
    # The order page has loaded before the test touches the order: on SQLite the live
    # server shares the test's connection, and a request still running would meet it.
    expect(page.get_by_role("button", name="提交实名信息")).to_be_visible()
    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    operations.apply_kyc_result(
        ref=ref, status="FLAGGED", reason="转人工审核", actor="test", now=clock.now()
    )
    page.reload()
    expect(page.get_by_text("实名信息人工审核中")).to_be_visible()
    shot(page, "orders-kyc-review")

    page.get_by_role("button", name="取消订单").click()
    ask = page.get_by_role("alertdialog")  # asked in the page's sheet, not the browser's box
    expect(ask).to_contain_text("确定取消订单吗？取消后号码将释放")
    expect(ask.get_by_role("button", name="确认")).to_be_focused()
    shot(page, "orders-cancel-ask")
    ask.get_by_role("button", name="确认").click()
    expect(page.locator(".alert-success")).to_contain_text("订单已取消")
    shot(page, "orders-cancelled")

    page.goto("/orders/")
    expect(page.locator(".order-row")).to_have_count(2)
    shot(page, "orders-list")


def test_a_day_long_deadline_after_review_ticks_in_hours_and_says_what_it_waits_for(
    page, monkeypatch
):
    monkeypatch.setattr(kyc_domain, "VELOCITY_LIMIT", 1)  # this very order goes to review
    user = log_in(page)
    hold_for(user=user, msisdn=NUMBER)
    page.goto(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    form = page.locator("#checkout-form")
    fill_address(
        form, province="北京市", city="北京市", district="海淀区", detail="中关村大街 1 号"
    )
    page.get_by_role("button", name="提交订单").click()
    expiry = page.locator(".order-expiry")
    expect(expiry).to_contain_text("内完成实名认证，超时订单自动取消")
    expect(expiry.locator(".countdown")).to_have_text(re.compile(r"^[23]\d:\d\d$"))
    page.locator("input[name=name]").fill("张三")
    page.locator("input[name=id_number]").fill(ID_NUMBER)
    page.get_by_role("button", name="提交实名信息").click()
    expect(page.get_by_text("实名信息人工审核中")).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline.locator(".ms-current")).to_contain_text("实名认证中")
    expect(timeline).not_to_contain_text("实名认证通过")
    timeline.scroll_into_view_if_needed()
    shot(page, "orders-review-timeline")

    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    kyc_operations.review(
        order_ref=ref, approve=True, staff_id=user.pk, note="核实", now=clock.now()
    )
    page.reload()
    expect(expiry).to_contain_text("内签署入网协议，超时订单自动取消")
    expect(expiry.locator(".countdown")).to_have_text(re.compile(r"^23:5\d:\d\d$"))
    expect(timeline.locator(".ms-done").nth(2)).to_contain_text("实名认证通过")
    shot(page, "orders-review-approved")
