"""The confirmation sheet of 停机保号, 补换卡 and 销户 through Django's test client: it says
what happens and asks for a fresh SMS code; a wrong, reused or someone else's code changes
nothing; nobody gets a code about someone else's line; and no page asks with the browser's
``confirm()`` any more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from haoka.accounts.models import SandboxSms
from haoka.core import clock
from haoka.lines import operations as line_ops
from haoka.lines.models import Line
from tests.support.accounts import wrong_code
from tests.support.web import HTMX, latest_otp

pytestmark = pytest.mark.django_db
WEB = Path(__file__).resolve().parents[2] / "src" / "haoka" / "web"


@pytest.fixture
def line(catalog, buyer):
    return line_ops.open_line(
        user_id=buyer.pk, msisdn="13900009001", carrier_code="CMCC", plan_code="CM-HUAKA-19",
        iccid="89860000000000009001", imsi="460000000009001", opening_balance_fen=2000,
        actor="staff:test", now=clock.now(),
    )  # fmt: skip


def html(response) -> str:
    return response.content.decode()


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


def status(line) -> str:
    return Line.objects.get(pk=line.pk).status


def send(client, line, action: str, **extra):
    return client.post(f"/lines/{line.msisdn}/manage/confirm/{action}/code", **extra)


def test_the_sheet_says_what_happens_and_where_the_code_goes(buyer_client, line):
    sheet = buyer_client.get(f"/lines/{line.msisdn}/manage/confirm/closure", **HTMX)
    assert sheet.status_code == 200
    assert 'role="dialog"' in html(sheet) and "<html" not in html(sheet)  # the fragment
    words = text(sheet)
    assert "不可恢复" in words and "账户余额 ¥20.00" in words and "冷冻 90 天" in words
    assert "137****0001" in words and "获取验证码" in words and "确认销户" in words
    page = buyer_client.get(f"/lines/{line.msisdn}/manage/confirm/suspend")
    assert "<html" in html(page) and "每月收取保号费 ¥5.00" in text(page)  # no script: a page


def test_getting_a_code_counts_down_and_a_second_within_the_minute_waits(buyer_client, line):
    first = send(buyer_client, line, "suspend", **HTMX)
    assert first.status_code == 200 and 'data-wait="60"' in html(first)
    assert "验证码已发送" in text(first) and "<form" not in html(first)  # the code step only
    assert SandboxSms.objects.count() == 1 and "停机保号" in SandboxSms.objects.get().text
    second = send(buyer_client, line, "suspend", **HTMX)
    assert second.status_code == 429 and re.search(r"请 \d+ 秒后再试", text(second))
    assert re.search(r'data-wait="[1-9]\d?"', html(second))  # the button counts down again
    assert SandboxSms.objects.count() == 1
    plain = send(buyer_client, line, "closure")  # no script: the whole form again
    assert plain.status_code == 429 and "<html" in html(plain)


def test_a_wrong_code_changes_nothing_and_the_right_one_suspends(buyer_client, line):
    send(buyer_client, line, "suspend", **HTMX)
    code = latest_otp(line.user.phone)
    url = f"/lines/{line.msisdn}/manage/suspend"
    wrong = buyer_client.post(url, {"code": wrong_code(code)}, **HTMX)
    assert wrong.status_code == 422 and "短信验证码错误或已过期" in text(wrong)
    assert 'role="dialog"' in html(wrong) and status(line) == "ACTIVE"
    assert re.search(r'data-wait="[1-9]\d?"', html(wrong))  # the resend countdown goes on
    done = buyer_client.post(url, {"code": code}, **HTMX)
    assert done.status_code == 200 and done["HX-Redirect"] == f"/lines/{line.msisdn}/manage"
    assert status(line) == "SUSPENDED"


def test_a_used_code_does_not_work_twice(buyer_client, line):
    send(buyer_client, line, "suspend", **HTMX)
    code = latest_otp(line.user.phone)
    buyer_client.post(f"/lines/{line.msisdn}/manage/suspend", {"code": code})
    buyer_client.post(f"/lines/{line.msisdn}/manage/resume")
    assert status(line) == "ACTIVE"
    again = buyer_client.post(f"/lines/{line.msisdn}/manage/suspend", {"code": code})
    assert again.status_code == 422 and status(line) == "ACTIVE"


def test_a_code_to_suspend_cannot_close_the_line(buyer_client, line):
    send(buyer_client, line, "suspend", **HTMX)
    code = latest_otp(line.user.phone)
    closing = buyer_client.post(f"/lines/{line.msisdn}/close", {"confirm": "1", "code": code})
    assert closing.status_code == 422 and status(line) == "ACTIVE"


def test_a_proof_in_the_form_must_be_the_owners_for_this_action(buyer_client, line):
    forged = buyer_client.post(f"/lines/{line.msisdn}/manage/suspend", {"step_up": "su_forged"})
    assert forged.status_code == 403 and "请先完成短信验证" in text(forged)
    assert status(line) == "ACTIVE"


def test_someone_elses_line_has_no_sheet_and_gets_no_code(client, line, rival):
    client.force_login(rival)
    base = f"/lines/{line.msisdn}/manage/confirm"
    for response in (
        client.get(f"{base}/closure"),
        client.get(f"{base}/closure", **HTMX),
        client.post(f"{base}/closure/code"),
        client.post(f"{base}/suspend/code", **HTMX),
    ):
        assert response.status_code == 404 and "线路不存在" in text(response)
    assert not SandboxSms.objects.exists()


def test_visitors_log_in_first_and_unknown_actions_are_not_found(client, buyer_client, line):
    assert buyer_client.get(f"/lines/{line.msisdn}/manage/confirm/porting").status_code == 404
    assert send(buyer_client, line, "porting").status_code == 404
    buyer_client.logout()
    posted = send(client, line, "closure")
    assert posted.status_code == 302 and posted["Location"].startswith("/login/")
    assert not SandboxSms.objects.exists()


def test_no_page_asks_with_the_browsers_confirm_box():
    found = [
        f"{path.relative_to(WEB)}:{n}"
        for path in sorted(WEB.rglob("*"))
        if path.suffix in (".html", ".js") and "vendor" not in path.parts
        for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bconfirm\s*\(", row)
    ]
    assert found == []
