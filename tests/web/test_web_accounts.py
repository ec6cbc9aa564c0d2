"""Login with phone + OTP, 我的, and reserving / releasing numbers from the pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from haoka.accounts.models import OtpChallenge
from haoka.core import clock
from tests.support.web import HTMX, hold_for, latest_otp

pytestmark = pytest.mark.django_db

PHONE = "13700001111"


def test_login_page_asks_for_the_phone_and_hints_the_sandbox_outbox(client, db):
    html = client.get("/login/").content.decode()
    assert "手机号登录" in html and "获取验证码" in html
    assert "沙箱模式：验证码见" in html and "/api/v1/sandbox/sms?phone=" in html


def test_login_page_has_no_sandbox_hint_outside_sandbox_mode(client, db, settings):
    settings.SANDBOX = False
    html = client.get("/login/").content.decode()
    assert "沙箱" not in html and "/api/v1/sandbox/sms" not in html


def test_otp_login_signs_in_and_goes_to_next(client, db):
    response = client.post("/login/", {"action": "send", "phone": PHONE, "next": "/numbers/"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "验证码已发送至" in html and "137****1111" in html
    assert f"/api/v1/sandbox/sms?phone={PHONE}" in html
    response = client.post(
        "/login/",
        {"action": "verify", "phone": PHONE, "code": latest_otp(PHONE), "next": "/numbers/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/numbers/"
    me = client.get("/me/").content.decode()
    assert "137****1111" in me and "暂无预占的号码" in me


def test_otp_login_without_next_goes_to_me(client, db):
    client.post("/login/", {"action": "send", "phone": PHONE})
    response = client.post(
        "/login/", {"action": "verify", "phone": PHONE, "code": latest_otp(PHONE)}
    )
    assert response["Location"] == "/me/"


def test_login_ignores_a_next_on_another_site(client, db):
    client.post("/login/", {"action": "send", "phone": PHONE})
    response = client.post(
        "/login/",
        {
            "action": "verify",
            "phone": PHONE,
            "code": latest_otp(PHONE),
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/me/"


def test_wrong_code_is_refused_in_chinese(client, db):
    client.post("/login/", {"action": "send", "phone": PHONE})
    wrong = "000000" if latest_otp(PHONE) != "000000" else "111111"
    response = client.post("/login/", {"action": "verify", "phone": PHONE, "code": wrong})
    assert response.status_code == 422
    assert "验证码错误或已过期" in response.content.decode()
    assert client.get("/me/").status_code == 302


def test_invalid_phone_is_refused_in_chinese(client, db):
    response = client.post("/login/", {"action": "send", "phone": "12345"})
    assert response.status_code == 422
    assert "不是有效的中国大陆手机号码" in response.content.decode()


def test_sending_twice_within_a_minute_is_rate_limited_in_chinese(client, db):
    client.post("/login/", {"action": "send", "phone": PHONE})
    response = client.post("/login/", {"action": "send", "phone": PHONE})
    html = response.content.decode()
    assert response.status_code == 422
    assert "操作过于频繁，请稍后再试" in html and "秒后再试" in html


def test_resending_within_the_minute_stays_on_the_code_step_and_the_first_code_still_works(
    client, db
):
    client.post("/login/", {"action": "send", "phone": PHONE, "next": "/numbers/"})
    first = latest_otp(PHONE)
    response = client.post("/login/", {"action": "resend", "phone": PHONE, "next": "/numbers/"})
    html = response.content.decode()
    assert response.status_code == 422 and "秒后再试" in html
    assert 'name="code"' in html and "验证码已发送至" in html and "获取验证码" not in html
    wait = int(re.search(r'data-wait="(\d+)"', html).group(1))
    assert 0 < wait <= 60
    response = client.post(
        "/login/", {"action": "verify", "phone": PHONE, "code": first, "next": "/numbers/"}
    )
    assert response.status_code == 302 and response["Location"] == "/numbers/"


def test_resending_after_the_minute_sends_a_fresh_code_and_waits_60_seconds_again(client, db):
    start = clock.now()
    with clock.frozen(start):
        html = client.post("/login/", {"action": "send", "phone": PHONE}).content.decode()
        assert 'data-wait="60"' in html
        first = latest_otp(PHONE)
    with clock.frozen(start + dt.timedelta(seconds=61)):
        response = client.post("/login/", {"action": "resend", "phone": PHONE})
        html = response.content.decode()
        assert response.status_code == 200 and 'data-wait="60"' in html
        assert 'name="code"' in html and "验证码已发送至" in html
        fresh = latest_otp(PHONE)
        assert OtpChallenge.objects.filter(phone=PHONE).count() == 2
        if fresh != first:  # only the latest code counts
            response = client.post("/login/", {"action": "verify", "phone": PHONE, "code": first})
            assert response.status_code == 422
        response = client.post("/login/", {"action": "verify", "phone": PHONE, "code": fresh})
        assert response["Location"] == "/me/"


def test_logout_needs_post_and_signs_out(buyer_client):
    assert buyer_client.get("/logout/").status_code == 405
    response = buyer_client.post("/logout/")
    assert response.status_code == 302
    assert buyer_client.get("/me/").status_code == 302


def test_me_requires_login(client, db):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/me/"


def test_reserve_requires_login(client, pool):
    response = client.post("/numbers/13912348888/reserve/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert "13912348888" in response["Location"]
    response = client.post("/numbers/13912348888/reserve/", **HTMX)
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_reserve_is_csrf_protected(pool, buyer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)
    assert strict.post("/numbers/13912348888/reserve/").status_code == 403


def test_reserve_then_the_hold_shows_on_me_with_a_countdown(buyer_client, pool):
    response = buyer_client.post("/numbers/13912348888/reserve/", follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "已为您预占 139 1234 8888" in html
    assert 'class="countdown" data-until="' in html
    assert "释放" in html


def test_reserve_by_htmx_returns_the_hold_fragment(buyer_client, pool):
    response = buyer_client.post("/numbers/13912348888/reserve/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "已为您预占" in html and "139 1234 8888" in html
    assert "data-until=" in html and "/numbers/13912348888/release/" in html
    assert "<html" not in html


def test_someone_elses_hold_is_a_409_with_a_chinese_message(buyer_client, pool, rival):
    hold_for(user=rival, msisdn="13912348888")
    response = buyer_client.post("/numbers/13912348888/reserve/", **HTMX)
    assert response.status_code == 409
    assert "该号码已被他人选走" in response.content.decode()
    page = buyer_client.post("/numbers/13912348888/reserve/")
    assert page.status_code == 409 and "该号码已被他人选走" in page.content.decode()


def test_a_fourth_hold_is_refused_with_a_message(buyer_client, pool):
    for msisdn in ("13912348888", "13812341234", "13900001314"):
        assert buyer_client.post(f"/numbers/{msisdn}/reserve/", **HTMX).status_code == 200
    response = buyer_client.post("/numbers/13800138000/reserve/", **HTMX)
    assert response.status_code == 409
    assert "同时最多预占 3 个号码" in response.content.decode()


def test_valuation_of_my_own_hold_shows_the_hold(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn="13912348888")
    html = buyer_client.get("/numbers/valuation/?msisdn=13912348888", **HTMX).content.decode()
    assert "已为您预占" in html and "已被他人选走" not in html


def test_release_gives_the_number_back(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn="13912348888")
    response = buyer_client.post("/numbers/13912348888/release/", **HTMX)
    assert response.status_code == 200
    assert "已释放 139 1234 8888" in response.content.decode()
    html = buyer_client.get("/numbers/?tail=8888", **HTMX).content.decode()
    assert 'data-msisdn="13912348888"' in html
    assert "暂无预占的号码" in buyer_client.get("/me/").content.decode()


def test_release_by_form_goes_back_to_me_with_a_message(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn="13912348888")
    response = buyer_client.post("/numbers/13912348888/release/", follow=True)
    assert "已释放 139 1234 8888" in response.content.decode()


def test_releasing_someone_elses_hold_is_refused(buyer_client, pool, rival):
    hold_for(user=rival, msisdn="13912348888")
    response = buyer_client.post("/numbers/13912348888/release/", **HTMX)
    assert response.status_code == 404
    assert "您没有预占这个号码" in response.content.decode()


def test_me_lists_active_holds_with_countdowns(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn="13912348888")
    hold_for(user=buyer, msisdn="13900001314")
    html = buyer_client.get("/me/").content.decode()
    assert "137****0001" in html
    assert "139 1234 8888" in html and "139 0000 1314" in html
    assert html.count('class="countdown"') == 2
