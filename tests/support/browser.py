"""Debian's Chromium driven by Playwright, shared by every browser test.

Screenshots go to test-artifacts/screenshots/<name>.png (relative to the repo root).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def require_chromium() -> None:
    """Skip on a developer machine without Chromium; in CI (``make test`` installs it) a
    missing browser is a failure, never a silent skip."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    pytest.skip("needs Debian's chromium (apt-get install chromium, or run `make test`)")


def launch():
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (heavy: loaded when a browser starts)

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    return playwright, browser


def phone_context(browser, *, base_url: str):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        base_url=base_url,
    )
    context.set_default_timeout(15_000)
    return context


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Animations finished: a sheet is shot where it comes to rest, not on its way up.
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page, animations="disabled")


def fill_address(
    form,
    *,
    receiver: str = "张三",
    province: str = "广东省",
    city: str = "深圳市",
    district: str = "南山区",
    detail: str = "科技园路 1 号",
) -> None:
    """Fill an address form: the 省/市/区 selects are chosen by their names, each waiting
    for the page's script to load its options from the division table."""
    form.locator("input[name=receiver]").fill(receiver)
    form.locator("select[name=province_code]").select_option(label=province)
    form.locator("select[name=city_code]").select_option(label=city)
    form.locator("select[name=district_code]").select_option(label=district)
    form.locator("input[name=detail]").fill(detail)
