"""The staff console in Debian's Chromium (a desktop window): sign-in errors, the landing
page's queues and a list, all in Chinese, money as ¥.

Screenshots go to test-artifacts/screenshots/<name>.png (relative to the repo root).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

from haoka.accounts.models import Role, User
from haoka.distribution.models import FraudFlag
from tests.support.browser import launch, require_chromium, shot
from tests.support.distribution import make_agent
from tests.support.web import seed_catalog

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser
T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


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
    User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    context = browser.new_context(
        viewport={"width": 1280, "height": 860},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        base_url=live_server.url,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_staff_sign_in_see_the_queues_and_a_list_in_chinese(page):
    agent = make_agent()
    for n in range(2):
        FraudFlag.objects.create(key=f"t:{n}", agent=agent, kind="SELF_ID", created_at=T0)

    page.goto("/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_contain_text("请输入一个正确的")

    page.fill("#id_password", "pw-123456")
    page.click("input[type=submit]")
    queues = page.locator("#staff-queues")
    expect(queues).to_contain_text("KYC 待人工审核")
    fraud = queues.locator("tr", has_text="风控待处理")
    expect(fraud.locator(".queue-count")).to_have_text("2")
    expect(page.locator("#content-main")).to_contain_text("套餐")
    expect(page.locator("#content-main")).to_contain_text("后台任务")
    expect(page.locator("#content-main")).not_to_contain_text("Task Results")
    shot(page, "admin-landing", full_page=True)

    fraud.locator("a").first.click()
    expect(page.locator("#result_list")).to_contain_text("自买自卖：客户证件与代理本人相同")
    page.goto("/admin/catalog/plan/")
    expect(page.locator("#result_list thead")).to_contain_text("月租")
    expect(page.locator("#result_list tbody")).to_contain_text("¥")
    shot(page, "admin-plan-list", full_page=True)
