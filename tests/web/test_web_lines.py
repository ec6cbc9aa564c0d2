"""Line self-service pages through Django's test client: my lines, the dashboard (gauges,
usage, notices), top-up to the gateway's cashier, auto top-up, the pack shop with and without
money, bills and their PDF, 办理 (plan change, 停机保号/复机, 补换卡, 携号转网, 销户). Only the
owner sees a line; anyone else gets the 404 page and changes nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from haoka.carriers import http as carrier_http
from haoka.charging import bills, operations
from haoka.charging.models import AutoTopUp, Bucket, PackPurchase, TopUp
from haoka.core import clock, ledger
from haoka.core.money import format_fen
from haoka.lines import operations as line_ops
from haoka.lines.models import Line, PortingCode, SimCard
from haoka.payments import gateway as payment_gateway
from tests.support.lines import set_wallet
from tests.support.web import HTMX, hold_for, latest_otp
from tests.support.web_orders import (
    ADDRESS,
    ICCID,
    FakeCarrier,
    FakeGateway,
    carrier_event,
    order_ref,
    pay,
)

pytestmark = pytest.mark.django_db

ID_NUMBER = "440305199001010018"  # made up; a valid GB 11643 check digit
FREE = "13811115200"  # a free CMCC number of the test pool
PLAN = "CM-HUAKA-19"  # 移动花卡宝藏版19元: 5 GB general + 30 GB targeted
MB, GB = 1024**2, 1024**3
_serial = itertools.count(1)


def open_line(user, *, balance_fen: int = 2000, plan: str = PLAN, msisdn: str = "") -> Line:
    """A line staff opened for ``user`` (no order), with a balance brought over."""
    n = next(_serial)
    return line_ops.open_line(
        user_id=user.pk,
        msisdn=msisdn or f"1390000{n:04d}",
        carrier_code="CMCC",
        plan_code=plan,
        iccid=f"8986000000000{n:07d}",
        imsi=f"46000{n:010d}",
        opening_balance_fen=balance_fen,
        actor="staff:test",
        now=clock.now(),
    )


def use(line: Line, *, service: str, amount: int, rating_group: int | None = None) -> None:
    now = clock.now()
    record = operations.RecordIn(
        record_id=f"web-cdr-{next(_serial)}",
        subscriber=line.msisdn,
        service=service,
        amount=amount,
        started_at=now,
        rating_group=rating_group,
    )
    [outcome] = operations.rate_records(records=[record], now=now)
    assert outcome.status == "RATED", outcome


def wallet(line: Line) -> int:
    return -ledger.balance_fen(account=f"liability:wallet:line:{line.pk}")


def html(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The page's visible text, tags stripped and whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


def sms_code(client, line: Line, action: str) -> str:
    """获取验证码 in the action's sheet, and the code as the owner's phone gets it."""
    sent = client.post(f"/lines/{line.msisdn}/manage/confirm/{action}/code", **HTMX)
    assert sent.status_code == 200 and "验证码已发送" in text(sent), text(sent)
    return latest_otp(line.user.phone)


def status_of(line: Line) -> tuple[str, str]:
    fresh = Line.objects.get(pk=line.pk)
    return fresh.status, fresh.suspend_reason


@pytest.fixture
def line(catalog, buyer):
    return open_line(buyer)


@pytest.fixture
def carrier():
    fake = FakeCarrier()
    previous = carrier_http.adapter()
    carrier_http.set_adapter(fake)
    yield fake
    carrier_http.set_adapter(previous)


@pytest.fixture
def bought(buyer_client, pool, buyer, carrier, django_capture_on_commit_callbacks):
    """A line bought through the order pages (real-name 张三), in use for 200 days."""
    client = buyer_client
    hold_for(user=buyer, msisdn=FREE)
    ref = order_ref(client.post("/checkout/", {"msisdn": FREE, "plan": "CM-MANGO-39", **ADDRESS}))
    client.post(f"/orders/{ref}/kyc/", {"name": "张三", "id_number": ID_NUMBER})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/orders/{ref}/contract/", {"accept": "1", "signature_name": "张三"})
    carrier_event(client, ref=ref, carrier="CMCC", type="order.accepted", iccid=ICCID, imsi="1")
    carrier_event(client, ref=ref, carrier="CMCC", type="order.delivered")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/orders/{ref}/activate/", {"iccid_last6": ICCID[-6:]})
    line = Line.objects.get(order_ref=ref)
    set_wallet(line, 0, key=f"paid-first-month:{ref}")  # the first month's fee, long since paid
    Line.objects.filter(pk=line.pk).update(activated_at=clock.now() - dt.timedelta(days=200))
    return Line.objects.get(pk=line.pk)


@pytest.fixture
def gateway():
    fake = FakeGateway()
    with payment_gateway.overridden(fake):
        yield fake


# ---------------------------------------------------------------- login and privacy


def test_line_pages_send_visitors_to_log_in_and_back(client, line):
    for url in (
        "/me/lines",
        f"/lines/{line.msisdn}",
        f"/lines/{line.msisdn}/topup",
        f"/lines/{line.msisdn}/packs",
        f"/lines/{line.msisdn}/bills",
        f"/lines/{line.msisdn}/manage",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/login/?next=" + url.replace("/", "%2F")
    posted = client.post(f"/lines/{line.msisdn}/manage/suspend")
    assert posted["Location"] == f"/login/?next=%2Flines%2F{line.msisdn}%2Fmanage"
    assert status_of(line) == ("ACTIVE", "")
    poll = client.get(f"/lines/{line.msisdn}", **HTMX)
    assert poll["HX-Redirect"] == f"/login/?next=%2Flines%2F{line.msisdn}"


def test_someone_elses_line_is_a_404_page_and_nothing_changes(client, line, rival, gateway):
    client.force_login(rival)
    base = f"/lines/{line.msisdn}"
    for response in (
        client.get(base),
        client.get(f"{base}/topup"),
        client.get(f"{base}/packs"),
        client.get(f"{base}/bills"),
        client.get(f"{base}/manage"),
        client.get(f"{base}/close"),
        client.post(f"{base}/topup", {"amount": "30", "method": "wechat"}),
        client.post(f"{base}/packs", {"pack_code": "PK-DATA-1G-1D"}),
        client.post(f"{base}/manage/suspend"),
        client.post(f"{base}/close", {"confirm": "1"}),
    ):
        assert response.status_code == 404
        assert "线路不存在" in html(response)
    assert status_of(line) == ("ACTIVE", "")
    assert not TopUp.objects.exists() and not PackPurchase.objects.exists()
    assert wallet(line) == 2000
    assert line.msisdn not in html(client.get("/me/lines"))


def test_only_an_eleven_digit_number_names_a_line(buyer_client, line):
    for bad in (f"{line.msisdn}0", f"{line.msisdn}x", line.msisdn[:10], "1390000000１"):
        assert buyer_client.get(f"/lines/{bad}").status_code == 404


# ---------------------------------------------------------------- my lines and the dashboard


def test_my_lines_lists_number_carrier_plan_status_and_balance(buyer_client, line):
    me = buyer_client.get("/me/")
    assert 'href="/me/lines"' in html(me) and "我的号卡" in html(me)
    page = text(buyer_client.get("/me/lines"))
    spaced = f"{line.msisdn[:3]} {line.msisdn[3:7]} {line.msisdn[7:]}"
    for shown in (spaced, "移动", "移动花卡宝藏版19元", "正常", "¥20.00"):
        assert shown in page
    assert f'href="/lines/{line.msisdn}"' in html(buyer_client.get("/me/lines"))


def test_my_lines_without_a_line_points_to_the_plans(buyer_client, catalog):
    assert "还没有号卡" in text(buyer_client.get("/me/lines"))


def test_the_dashboard_shows_status_plan_balance_a_gauge_per_allowance_and_usage(
    buyer_client, line
):
    use(line, service="data", amount=512 * MB)
    use(line, service="voice", amount=125)
    response = buyer_client.get(f"/lines/{line.msisdn}")
    page = text(response)
    assert response.status_code == 200
    balance = f"账户余额 {format_fen(wallet(line))}"  # voice is not in the plan: paid per minute
    for shown in ("正常", "移动花卡宝藏版19元", "月租 ¥19.00/月", balance, "近 30 天用量"):
        assert shown in page, shown
    assert wallet(line) < 2000
    gauges = re.findall(r'data-label="([^"]+)" data-remaining="(\d+)"', html(response))
    labels = [label for label, _ in gauges]
    assert "套餐通用流量" in labels and "套餐定向流量" in labels
    general = Bucket.objects.get(line=line, label="套餐通用流量")
    assert dict(gauges)["套餐通用流量"] == str(general.amount - general.used)
    assert general.used == 512 * MB
    assert "/ 5 GB" in page  # remaining of total, in GB
    chart = re.search(
        r'<script id="usage-data" type="application/json">(.*?)</script>', html(response)
    )
    assert chart and '"data_mb"' in chart.group(1) and "512.0" in chart.group(1)
    assert "流量 512 MB" in page and "语音 3 分钟" in page  # billed per started minute
    assert "vendor/echarts/echarts.min.js" in html(response)
    assert f'href="/lines/{line.msisdn}/topup"' in html(response)


def test_the_dashboard_shows_this_months_charges_and_targeted_data_apart_from_general(
    buyer_client, line
):
    buyer_client.post(f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-1G-1D"})
    use(line, service="data", amount=1 * GB)
    use(line, service="data", amount=2 * GB, rating_group=1003)  # targeted (video apps)
    page = text(buyer_client.get(f"/lines/{line.msisdn}"))
    assert "本月已产生费用 ¥3.00" in page and "加油包 ¥3.00" in page
    # 5 GB general + the 1 GB pack, used 1 GB; 30 GB targeted, used 2 GB: never one 36 GB sum
    assert "通用流量 5 GB / 6 GB" in page and "定向流量 28 GB / 30 GB" in page
    assert "36 GB" not in page and "33 GB" not in page


def test_an_htmx_refresh_gets_only_the_wallet_and_gauges(buyer_client, line):
    response = buyer_client.get(f"/lines/{line.msisdn}", **HTMX)
    body = html(response)
    assert body.lstrip().startswith('<div id="line-live"')
    assert "¥20.00" in body and "套餐通用流量" in body and "近 30 天用量" not in body


def test_the_dashboard_lists_the_latest_notifications(buyer_client, line):
    line_ops.notify(
        line_id=line.pk, kind="BILL", key="web-test-1", title="4月账单已出",
        body="04月消费 ¥19.00。", sms=False, now=clock.now(),
    )  # fmt: skip
    assert "4月账单已出" in text(buyer_client.get(f"/lines/{line.msisdn}"))


# ---------------------------------------------------------------- top-up


def test_a_top_up_starts_a_payment_and_sends_the_browser_to_the_cashier(
    buyer_client, line, gateway, django_capture_on_commit_callbacks
):
    page = text(buyer_client.get(f"/lines/{line.msisdn}/topup"))
    for shown in ("¥10.00", "¥30.00", "¥50.00", "¥100.00", "其他金额", "自动充值"):
        assert shown in page
    response = buyer_client.post(
        f"/lines/{line.msisdn}/topup", {"amount": "30", "method": "alipay"}
    )
    topup = TopUp.objects.get(line=line)
    assert (topup.amount_fen, topup.method, topup.status) == (3000, "ALIPAY", "PENDING")
    assert response.status_code == 302 and response["Location"] == topup.pay_url
    assert response["Location"].startswith("http://gateway.test/pay/")
    pending = text(buyer_client.get(f"/lines/{line.msisdn}/topup"))
    assert "待支付" in pending and "继续支付" in pending
    back = html(buyer_client.get(f"/lines/{line.msisdn}", **HTMX))  # back from the cashier
    assert "充值 ¥30.00 确认中" in back and 'hx-trigger="every 3s"' in back
    with django_capture_on_commit_callbacks(execute=True):
        pay(buyer_client, gateway)
    assert wallet(line) == 5000
    after = text(buyer_client.get(f"/lines/{line.msisdn}/topup"))
    assert "已到账" in after and "¥50.00" in after
    done = html(buyer_client.get(f"/lines/{line.msisdn}", **HTMX))
    assert "确认中" not in done and 'hx-trigger="every 30s"' in done


def test_a_custom_amount_wins_over_the_preset(buyer_client, line, gateway):
    buyer_client.post(
        f"/lines/{line.msisdn}/topup", {"amount": "30", "custom": "12.5", "method": "wechat"}
    )
    assert TopUp.objects.get(line=line).amount_fen == 1250


def test_a_top_up_out_of_range_is_shown_and_starts_nothing(buyer_client, line, gateway):
    for custom, message in (
        ("0.5", "充值金额须在 ¥1.00 到 ¥5,000.00 之间"),
        ("abc", "金额格式不正确"),
    ):
        response = buyer_client.post(
            f"/lines/{line.msisdn}/topup", {"custom": custom, "method": "wechat"}
        )
        assert response.status_code == 422
        assert message in text(response)
        assert f'value="{custom}"' in html(response)  # what was typed stays
    assert not TopUp.objects.exists() and not gateway.payments


def test_auto_top_up_settings_are_saved_and_bad_ones_explained(buyer_client, line):
    url = f"/lines/{line.msisdn}/topup/auto"
    saved = buyer_client.post(
        url, {"enabled": "1", "threshold": "10", "amount": "50", "method": "wechat"}
    )
    assert saved.status_code == 302 and saved["Location"] == f"/lines/{line.msisdn}/topup"
    page = text(buyer_client.get(saved["Location"]))
    assert "自动充值已开启：余额低于 ¥10.00 时发起 ¥50.00 充值" in page

    setting = AutoTopUp.objects.get(line=line)
    assert (setting.enabled, setting.threshold_fen, setting.amount_fen) == (True, 1000, 5000)
    bad = buyer_client.post(
        url, {"enabled": "1", "threshold": "1000", "amount": "50", "method": "wechat"}
    )
    assert bad.status_code == 422 and "自动充值阈值须在 ¥1.00 到 ¥500.00 之间" in text(bad)
    assert AutoTopUp.objects.get(line=line).threshold_fen == 1000
    off = buyer_client.post(url, {"threshold": "10", "amount": "50", "method": "wechat"})
    assert off.status_code == 302 and not AutoTopUp.objects.get(line=line).enabled


# ---------------------------------------------------------------- packs


def test_the_pack_shop_lists_the_carriers_packs_with_price_allowance_and_validity(
    buyer_client, line
):
    page = text(buyer_client.get(f"/lines/{line.msisdn}/packs"))
    for shown in ("15元10G七天包", "¥15.00", "10 GB 全国通用流量", "7 天有效", "当日有效"):
        assert shown in page, shown
    assert "30元500分钟语音包" in page  # CMCC sells it
    assert "50元100G当月包" not in page  # CUCC and the own brand only
    assert "可用余额 ¥20.00" in page


def test_buying_a_pack_pays_from_the_balance_and_the_dashboard_shows_it(buyer_client, line):
    response = buyer_client.post(f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-10G-7D"})
    assert response.status_code == 302 and response["Location"] == f"/lines/{line.msisdn}"
    assert wallet(line) == 500
    bucket = Bucket.objects.get(line=line, source="PACK")
    assert (bucket.label, bucket.amount) == ("15元10G七天包", 10 * GB)
    dashboard = buyer_client.get(response["Location"])
    page = text(dashboard)
    assert "已订购「15元10G七天包」，余额扣除 ¥15.00" in page
    assert f'data-bucket="{bucket.pk}"' in html(dashboard) and "10 GB / 10 GB" in page
    assert "账户余额 ¥5.00" in page
    assert "15元10G七天包" in text(buyer_client.get(f"/lines/{line.msisdn}/packs"))


def test_a_pack_the_balance_cannot_pay_is_refused_with_a_link_to_top_up(buyer_client, line):
    response = buyer_client.post(f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-30G-30D"})
    assert response.status_code == 409
    page = text(response)
    assert "余额不足：可用余额 ¥20.00，该加油包需 ¥30.00，请先充值" in page
    assert re.search(rf'id="pack-error".*href="/lines/{line.msisdn}/topup"', html(response))
    assert wallet(line) == 2000 and not PackPurchase.objects.exists()
    assert not Bucket.objects.filter(line=line, source="PACK").exists()


def test_an_unknown_pack_is_explained(buyer_client, line):
    response = buyer_client.post(f"/lines/{line.msisdn}/packs", {"pack_code": "PK-NOPE"})
    assert response.status_code == 404 and "该加油包不存在或已下架" in text(response)


# ---------------------------------------------------------------- bills


def _this_month() -> dt.date:
    return clock.beijing_date(clock.now()).replace(day=1)


def test_the_bill_list_and_a_bill_show_fees_packs_top_ups_usage_and_a_pdf(buyer_client, line):
    buyer_client.post(f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-1G-1D"})
    use(line, service="data", amount=300 * MB)
    month = _this_month()
    bills.issue(line_id=line.pk, month=month, now=clock.now())
    key = f"{month:%Y-%m}"
    listing = buyer_client.get(f"/lines/{line.msisdn}/bills")
    assert f'href="/lines/{line.msisdn}/bills/{key}"' in html(listing)
    assert f"{month.year}年{month.month}月" in text(listing)
    page = text(buyer_client.get(f"/lines/{line.msisdn}/bills/{key}"))
    for shown in ("本月消费 ¥3.00", "期初余额", "加油包 -¥3.00", "期末余额 ¥17.00", "3元1G日包",
                  "按日用量", "300 MB", "按应用分组", "下载 PDF 账单"):  # fmt: skip
        assert shown in page, shown
    pdf = buyer_client.get(f"/lines/{line.msisdn}/bills/{key}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f"haoka-bill-{line.msisdn}-{key}.pdf" in pdf["Content-Disposition"]


def test_a_month_without_a_bill_is_a_404_page(buyer_client, line, rival):
    for month in ("2020-01", "2026-13", "nope"):
        response = buyer_client.get(f"/lines/{line.msisdn}/bills/{month}")
        assert response.status_code == 404
    assert "账单在次月初出具" in text(buyer_client.get(f"/lines/{line.msisdn}/bills/2020-01"))
    assert "暂无账单" in text(buyer_client.get(f"/lines/{line.msisdn}/bills"))


# ---------------------------------------------------------------- 办理


def test_suspend_and_resume_from_the_manage_page(buyer_client, line):
    manage = f"/lines/{line.msisdn}/manage"
    assert "申请停机保号" in text(buyer_client.get(manage))
    sheet = text(buyer_client.get(f"{manage}/confirm/suspend", **HTMX))
    assert "每月收取保号费 ¥5.00" in sheet and "获取验证码" in sheet
    code = sms_code(buyer_client, line, "suspend")
    done = buyer_client.post(f"{manage}/suspend", {"code": code})
    assert done.status_code == 302 and done["Location"] == manage
    assert status_of(line) == ("SUSPENDED", "USER_REQUEST")
    page = text(buyer_client.get(manage))
    assert "已停机保号，停机期间每月收取保号费 ¥5.00" in page and "申请复机" in page
    assert "停机保号" in text(buyer_client.get(f"/lines/{line.msisdn}"))
    again = buyer_client.post(f"{manage}/suspend")  # already suspended: explained, no code
    assert again.status_code == 409 and "线路当前状态不允许此操作" in text(again)
    buyer_client.post(f"{manage}/resume")
    assert status_of(line) == ("ACTIVE", "")
    assert "已复机" in text(buyer_client.get(manage))


def test_an_arrears_suspension_is_lifted_only_by_a_top_up(buyer_client, line):
    line_ops.change_status(
        line_id=line.pk, to="SUSPENDED", actor="test", reason="欠费", now=clock.now(),
        suspend_reason="ARREARS",
    )  # fmt: skip
    page = text(buyer_client.get(f"/lines/{line.msisdn}"))
    assert "欠费停机" in page and "充值结清欠费后自动复机" in page
    response = buyer_client.post(f"/lines/{line.msisdn}/manage/resume")
    assert response.status_code == 409 and "欠费停机请充值后自动恢复" in text(response)
    assert status_of(line) == ("SUSPENDED", "ARREARS")


def test_plan_change_next_cycle_and_an_upgrade_now_with_its_prorated_cost(buyer_client, line):
    manage = f"/lines/{line.msisdn}/manage"
    page = text(buyer_client.get(manage))
    assert "移动芒果卡39元" in page and "立即升级本月补差价 ¥" in page
    assert "移动孝心卡8元" in page  # a downgrade: next cycle only
    later = buyer_client.post(f"{manage}/plan", {"plan_code": "CM-XIAOXIN-8", "when": "next_cycle"})
    assert later.status_code == 302
    assert Line.objects.get(pk=line.pk).pending_plan_code == "CM-XIAOXIN-8"
    assert "已预约变更为「移动孝心卡8元」" in text(buyer_client.get(manage))
    refused = buyer_client.post(f"{manage}/plan", {"plan_code": "CM-XIAOXIN-8", "when": "now"})
    assert refused.status_code == 409 and "只有升级到月租更高的套餐才能立即生效" in text(refused)
    buyer_client.post(f"{manage}/plan/cancel")
    assert Line.objects.get(pk=line.pk).pending_plan_code == ""
    now = buyer_client.post(f"{manage}/plan", {"plan_code": "CM-MANGO-39", "when": "now"})
    assert now.status_code == 302
    fresh = Line.objects.get(pk=line.pk)
    assert fresh.plan_code == "CM-MANGO-39" and wallet(line) < 2000
    assert "已升级为「移动芒果卡39元」" in text(buyer_client.get(manage))


def test_an_upgrade_the_balance_cannot_pay_changes_nothing(buyer_client, catalog, buyer):
    poor = open_line(buyer, balance_fen=0)
    response = buyer_client.post(
        f"/lines/{poor.msisdn}/manage/plan", {"plan_code": "CM-SHANGLV-58", "when": "now"}
    )
    assert response.status_code == 409 and "余额" in text(response)
    assert Line.objects.get(pk=poor.pk).plan_code == PLAN


def test_sim_replacement_of_a_line_opened_by_staff_asks_for_the_counter(buyer_client, line):
    response = buyer_client.post(  # said before any code is asked for
        f"/lines/{line.msisdn}/manage/sim", {"name": "张三", "id_number": "440305199001010018"}
    )
    assert response.status_code == 403
    assert "该线路没有线上实名记录，请联系客服或到营业厅办理" in text(response)
    assert "440305199001010018" not in html(response)  # the ID number is never echoed
    assert Line.objects.get(pk=line.pk).iccid == line.iccid


def test_porting_lists_each_rule_and_refuses_a_code_with_the_reasons(buyer_client, line):
    page = text(buyer_client.get(f"/lines/{line.msisdn}/manage"))
    assert "号码状态正常" in page and "无欠费" in page  # passed
    assert "入网须满 120 天（已入网 0 天）" in page and "号码须已完成实名登记" in page  # failed
    response = buyer_client.post(f"/lines/{line.msisdn}/manage/porting-code")
    assert response.status_code == 409
    assert "暂不满足携号转网条件" in text(response) and "号码须已完成实名登记" in text(response)


def test_closure_asks_to_confirm_then_closes_and_tells_where_the_money_goes(buyer_client, line):
    close = f"/lines/{line.msisdn}/close"
    page = text(buyer_client.get(close))
    assert "账户余额 ¥20.00" in page and "冷冻 90 天" in page and "不可恢复" in page
    unconfirmed = buyer_client.post(close)
    assert unconfirmed.status_code == 422 and "销户不可撤销，请确认后再提交" in text(unconfirmed)
    uncoded = buyer_client.post(close, {"confirm": "1"})
    assert uncoded.status_code == 403 and "请先完成短信验证" in text(uncoded)
    assert status_of(line) == ("ACTIVE", "")
    done = buyer_client.post(
        close, {"confirm": "1", "code": sms_code(buyer_client, line, "closure")}
    )
    assert done.status_code == 302 and done["Location"] == f"/lines/{line.msisdn}"
    assert status_of(line)[0] == "CLOSED"
    after = text(buyer_client.get(done["Location"]))
    assert "线路已销户，余额 ¥20.00" in after and "已销户" in after
    assert "不能再办理业务" in text(buyer_client.get(f"/lines/{line.msisdn}/manage"))
    assert "不能充值" in text(buyer_client.get(f"/lines/{line.msisdn}/topup"))


def test_sim_replacement_with_the_owners_name_and_id_number_issues_a_new_card(buyer_client, bought):
    url = f"/lines/{bought.msisdn}/manage/sim"
    code = sms_code(buyer_client, bought, "sim-replacement")
    wrong = buyer_client.post(
        url, {"name": "张三", "id_number": "11010519491231002X", "code": code}
    )
    assert wrong.status_code == 403
    assert "姓名或身份证号码与该号码的实名登记信息不符" in text(wrong)
    assert 'value="张三"' in html(wrong) and "11010519491231002X" not in html(wrong)
    assert Line.objects.get(pk=bought.pk).iccid == ICCID
    # The refusal spent nothing: the sheet carries the verified code's proof to the next try.
    proof = re.search(r'name="step_up" value="(su_[^"]+)"', html(wrong)).group(1)
    assert wrong["Cache-Control"] == "no-store"
    done = buyer_client.post(url, {"name": "张三", "id_number": ID_NUMBER, "step_up": proof})
    assert done.status_code == 302
    fresh = Line.objects.get(pk=bought.pk)
    assert fresh.iccid != ICCID
    page = text(buyer_client.get(done["Location"]))
    assert f"补换卡成功：新卡 {fresh.iccid[:6]}" in page and "旧卡已失效" in page
    assert fresh.iccid not in page  # masked
    cards = SimCard.objects.filter(line=bought).order_by("valid_from", "id")
    assert [c.status for c in cards] == ["RETIRED", "ACTIVE"]


def test_a_porting_code_is_shown_once_when_every_rule_passes(buyer_client, bought):
    manage = f"/lines/{bought.msisdn}/manage"
    page = html(buyer_client.get(manage))
    assert 'class="bad"' not in page and "获取授权码</button>" in page
    response = buyer_client.post(f"{manage}/porting-code")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    code = re.search(r'<p class="porting-code mono" data-code>([0-9A-Z]{6})</p>', html(response))
    assert code and "仅显示这一次" in text(response)
    assert code.group(1) not in html(buyer_client.get(manage))

    assert PortingCode.objects.filter(line=bought, revoked_at__isnull=True).count() == 1
