"""消息中心 in Chromium at 390×844 on Django's live server: an order ships (signed carrier
callbacks over HTTP) -> 我的 in the bottom bar shows an unread count -> 消息中心 lists the
messages -> tapping one opens the order and the count drops -> 全部已读 and the badge is
gone. Screenshots: test-artifacts/screenshots/messages-*.png."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from django.test import Client
from playwright.sync_api import expect

from haoka.accounts import operations as account_ops
from haoka.carriers import http as carrier_http
from haoka.core import clock
from haoka.payments import gateway as payment_gateway
from tests.support.browser import launch, phone_context, require_chromium, shot
from tests.support.orders import Buyer
from tests.support.web import latest_otp, make_user, seed_catalog, seed_numbers
from tests.support.web_orders import ICCID, FakeCarrier, FakeGateway, carrier_event, pay

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_web_browser.py

pytestmark = pytest.mark.browser

PHONE = "13700004444"
NUMBER = "13912348888"


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
    previous = carrier_http.adapter()
    carrier_http.set_adapter(FakeCarrier())
    context = phone_context(browser, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    gateway = FakeGateway()
    with payment_gateway.overridden(gateway):
        page.gateway = gateway
        yield page
    context.close()
    carrier_http.set_adapter(previous)
    assert not errors, f"JavaScript errors: {errors}"


def log_in(page):
    user = make_user(PHONE)
    page.goto("/login/?next=/me/")
    page.locator("input[name=phone]").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.locator("input[name=code]").fill(latest_otp(PHONE))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me/$"))
    return user


def ordered_and_shipped(user, live_server, gateway: FakeGateway) -> str:
    """An order, paid, that the carrier ships and delivers, told over HTTP as the gateway and
    the carrier tell haoka."""
    token = account_ops._issue_session(user=user, now=clock.now()).token
    buyer = Buyer(client=Client(), user=user, token=token, serial=1)
    ref = buyer.hold_and_order(msisdn=NUMBER, plan="CM-MANGO-39")["ref"]
    buyer.kyc_and_sign(ref)
    assert buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"}).status_code == 201
    with httpx.Client(base_url=live_server.url, timeout=10) as haoka:
        assert pay(haoka, gateway).is_success
        for kind, data in (
            ("order.accepted", {"iccid": ICCID, "imsi": "460001234567890"}),
            ("order.shipped", {"courier": "SIMEXPRESS", "tracking_no": "SX300"}),
            ("order.delivered", {}),
        ):
            assert carrier_event(haoka, ref=ref, carrier="CMCC", type=kind, **data).is_success
    return ref


def test_a_shipped_order_shows_in_the_badge_and_the_message_centre_until_read(page, live_server):
    user = log_in(page)
    expect(page.locator(".nav-badge")).to_have_count(0)
    ref = ordered_and_shipped(user, live_server, page.gateway)

    page.reload()
    badge = page.locator(".nav .nav-badge")
    expect(badge).to_have_text("2")
    expect(page.locator("[data-messages-entry] .count-badge")).to_have_text("2")
    shot(page, "messages-1-badge")

    page.locator("[data-messages-entry]").click()
    expect(page).to_have_url(re.compile(r"/me/messages$"))
    rows = page.locator(".msg-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("号卡已签收")  # newest first
    expect(rows.nth(1)).to_contain_text("模拟快递发出，运单号 SX300")
    expect(page.locator(".msg-row.unread")).to_have_count(2)
    shot(page, "messages-2-list")

    rows.nth(1).click()  # 号卡已发货 opens its order
    expect(page).to_have_url(re.compile(rf"/orders/{ref}/$"))
    expect(badge).to_have_text("1")
    shot(page, "messages-3-order")

    page.goto("/me/messages")
    expect(page.locator(".msg-row.unread")).to_have_count(1)
    page.get_by_role("button", name="全部已读").click()
    expect(page.get_by_text("已全部标为已读")).to_be_visible()
    expect(page.locator(".msg-row.unread")).to_have_count(0)
    expect(badge).to_have_count(0)
    expect(page.get_by_role("button", name="全部已读")).to_have_count(0)
    shot(page, "messages-4-all-read")
