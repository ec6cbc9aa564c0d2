"""What `make demo` runs, end to end: `haoka demo --setup-only` migrates and seeds a fresh
SQLite database, `haoka serve` serves it as a real process, and Chromium opens the plan
list and the number picker in Chinese."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.browser import launch, phone_context, require_chromium, shot

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _haoka(*args: str, env: dict, **kwargs):
    options = {"env": env, "cwd": env["HAOKA_HOME"], **kwargs}
    return [sys.executable, "-m", "haoka.cli", *args], options


@pytest.fixture
def demo_server(tmp_path):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))},
        "HAOKA_HOME": str(tmp_path),
        "HAOKA_SANDBOX": "1",
        "HAOKA_SECRET_KEY": "process-test",
        "HAOKA_PII_KEYS": Fernet.generate_key().decode(),
        "HAOKA_PII_HASH_KEY": "process-test",
        "HAOKA_NODE_MODULES": str(REPO / "node_modules"),
        "PYTHONPATH": str(REPO / "src"),
    }
    cmd, kw = _haoka("demo", "--setup-only", "--numbers", "300", env=env)
    setup = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False, **kw)
    assert setup.returncode == 0, setup.stderr[-2000:]
    assert (tmp_path / "haoka.sqlite3").exists()
    cmd, kw = _haoka("serve", "--port", str(port), "--quiet", env=env)
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("haoka serve did not come up")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_demo_serves_the_plan_list_and_the_number_picker_in_chinese(demo_server):
    require_chromium()
    numbers = httpx.get(f"{demo_server}/api/v1/numbers?limit=5").json()["items"]
    assert len(numbers) == 5
    playwright, browser = launch()
    try:
        page = phone_context(browser, base_url=demo_server).new_page()
        page.goto("/")
        page.locator("h1", has_text="选套餐").wait_for()
        assert "¥19.00" in page.inner_text("body")
        shot(page, "demo-plans")
        page.goto("/numbers/?view=all")  # 全部号码, in the API's order
        page.locator("h1", has_text="选号").wait_for()
        shown = page.inner_text("body").replace(" ", "")
        assert numbers[0]["msisdn"] in shown
        assert page.evaluate("typeof htmx") == "object"  # the npm package is served
        shot(page, "demo-numbers")
    finally:
        browser.close()
        playwright.stop()
