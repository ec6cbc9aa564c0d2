"""Checkout and order pages through Django's test client: the wizard moves an order from the
held number to activation (fake carrier adapter and payment gateway, real signed callbacks),
errors show in Chinese, other people's orders are 404, login is required."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from haoka.carriers import http as carrier_http
from haoka.core import clock
from haoka.kyc import domain as kyc_domain
from haoka.kyc import operations as kyc_operations
from haoka.numbers.models import PhoneNumber
from haoka.orders import operations
from haoka.orders.models import Order
from haoka.payments import gateway as payment_gateway
from tests.support.web import HTMX, hold_for
from tests.support.web_orders import (
    ADDRESS,
    ICCID,
    PNG,
    FakeCarrier,
    FakeGateway,
    carrier_event,
    courier_scan,
    order_ref,
    pay,
)

pytestmark = pytest.mark.django_db

NUMBER = "13912348888"  # CMCC, A 级: ¥1,888.00
FREE = "13811115200"  # CMCC, 普通号: free
ID_NUMBER = "440305199001010018"  # made up; a valid GB 11643 check digit (journey.id_number(1))


@pytest.fixture
def carrier():
    fake = FakeCarrier()
    previous = carrier_http.adapter()
    carrier_http.set_adapter(fake)
    yield fake
    carrier_http.set_adapter(previous)


@pytest.fixture
def gateway():
    fake = FakeGateway()
    with payment_gateway.overridden(fake):
        yield fake


def html(response) -> str:
    return response.content.decode()


def order_of(ref: str):
    return Order.objects.get(ref=ref)


def create(client, *, msisdn: str, plan: str, **address) -> str:
    response = client.post("/checkout/", {"msisdn": msisdn, "plan": plan, **ADDRESS, **address})
    assert response.status_code == 302, html(response)[:2000]
    return order_ref(response)


def kyc(client, ref: str, *, name: str = "张三", photos: bool = False):
    data = {"name": name, "id_number": ID_NUMBER}
    if photos:
        for field in ("photo_front", "photo_back", "photo_selfie"):
            data[field] = SimpleUploadedFile(f"{field}.png", PNG, content_type="image/png")
    return client.post(f"/orders/{ref}/kyc/", data)


def sign(client, ref: str, *, name: str = "张三"):
    return client.post(f"/orders/{ref}/contract/", {"accept": "1", "signature_name": name})


# ---------------------------------------------------------------- login and privacy


def test_checkout_and_order_pages_require_login(client, pool):
    for url in ("/checkout/?msisdn=13912348888", "/orders/", "/orders/HK123/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    response = client.post("/orders/HK123/cancel/")
    assert response["Location"] == "/login/?next=%2Forders%2FHK123%2F"
    poll = client.get("/orders/HK123/", **HTMX)  # the session ended while the page polled
    assert poll.status_code == 200 and poll["HX-Redirect"] == "/login/?next=%2Forders%2FHK123%2F"


def test_someone_elses_order_is_a_404_page(buyer_client, pool, rival, buyer, carrier):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    other = Client()
    other.force_login(rival)
    for response in (
        other.get(f"/orders/{ref}/"),
        other.get(f"/orders/{ref}/", **HTMX),
        other.post(f"/orders/{ref}/cancel/"),
        other.post(f"/orders/{ref}/kyc/", {"name": "李四", "id_number": ID_NUMBER}),
        other.get(f"/orders/{ref}/contract.pdf"),
    ):
        assert response.status_code == 404
        assert "订单不存在" in html(response)
    assert order_of(ref).state == "CREATED"
    assert ref not in html(other.get("/orders/"))


# ---------------------------------------------------------------- steps 号码 and 套餐


def test_checkout_shows_the_held_number_countdown_plan_address_form_and_fees(
    buyer_client, pool, buyer
):
    hold_for(user=buyer, msisdn=NUMBER)
    response = buyer_client.get(f"/checkout/?msisdn={NUMBER}&plan=CM-SHANGLV-58")
    page = html(response)
    assert response.status_code == 200
    for step in ("号码", "套餐", "实名", "签约", "支付", "完成"):
        assert f'<span class="step-label">{step}</span>' in page
    assert "139 1234 8888" in page and 'class="countdown" data-until=' in page
    assert "移动商旅卡58元" in page and "需上传证件照片" in page
    assert "收货地址" in page and '<option value="44">广东省</option>' in page
    assert 'value="13700000001"' in page  # the signed-in phone is the default
    assert "¥1,888.00" in page and "¥100.00" in page and "¥1,988.00" in page  # number + 首充
    assert "广东/揭阳" in page  # where the plan does not ship


def test_checkout_without_a_plan_lists_the_carriers_plans(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    page = html(buyer_client.get(f"/checkout/?msisdn={NUMBER}"))
    assert "选择套餐" in page and "移动芒果卡39元" in page
    assert "联通" not in re.sub(r"<footer.*", "", page, flags=re.S).split("选择套餐")[1]
    assert f"/checkout/?msisdn={NUMBER}&amp;plan=CM-MANGO-39" in page
    assert "提交订单" not in page
    # A plan of another carrier is set aside, with the reason.
    page = html(buyer_client.get(f"/checkout/?msisdn={NUMBER}&plan=CU-DAWANG-19"))
    assert "与号码不属于同一运营商" in page and "移动芒果卡39元" in page


def test_checkout_of_a_number_not_held_says_so(buyer_client, pool):
    response = buyer_client.get(f"/checkout/?msisdn={NUMBER}&plan=CM-MANGO-39")
    assert response.status_code == 409
    assert "号码预占已失效，请重新选号" in html(response) and "去选号" in html(response)
    response = buyer_client.get("/checkout/?msisdn=12345&plan=CM-MANGO-39")
    assert response.status_code == 422 and "alert-error" in html(response)
    assert buyer_client.get("/checkout/?plan=CM-MANGO-39")["Location"] == (
        "/numbers/?plan=CM-MANGO-39"
    )


def test_checkout_errors_keep_what_was_typed_and_name_missing_fields(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    response = buyer_client.post(
        "/checkout/",
        {"msisdn": NUMBER, "plan": "CM-MANGO-39", **ADDRESS, "detail": "", "city_code": ""},
    )
    assert response.status_code == 422
    page = html(response)
    assert "收货地址不完整，请填写城市、详细地址" in page
    assert 'value="张三"' in page  # the receiver stays filled in
    response = buyer_client.post(
        "/checkout/",
        {
            "msisdn": NUMBER,
            "plan": "CM-SHANGLV-58",
            **ADDRESS,
            **{"city_code": "4452", "district_code": "445202"},  # 揭阳市 榕城区
        },
    )
    assert response.status_code == 422 and "揭阳" in html(response)
    response = buyer_client.post(
        "/checkout/", {"msisdn": NUMBER, "plan": "CM-MANGO-39", **ADDRESS, "phone": "123"}
    )
    assert response.status_code == 422 and "手机号" in html(response)


def test_a_second_checkout_of_the_same_number_goes_to_its_order(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    again = buyer_client.post("/checkout/", {"msisdn": NUMBER, "plan": "CM-MANGO-39", **ADDRESS})
    assert again["Location"] == f"/orders/{ref}/"
    assert buyer_client.get(f"/checkout/?msisdn={NUMBER}")["Location"] == f"/orders/{ref}/"


# ---------------------------------------------------------------- the whole way


def test_wizard_moves_an_order_from_number_to_activation(
    buyer_client, pool, buyer, carrier, gateway, django_capture_on_commit_callbacks
):
    client = buyer_client
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(client, msisdn=NUMBER, plan="CM-SHANGLV-58")

    page = html(client.get(f"/orders/{ref}/"))  # 实名, with photos for this plan
    assert "待实名" in page and "实名认证" in page and 'name="photo_selfie"' in page
    assert 'enctype="multipart/form-data"' in page and "hx-trigger" not in page
    assert 'aria-current="step"><span class="step-dot">3</span><span class="step-label">实名' in (
        page
    )
    assert "张* 137****0001" in page and "广东省 深圳市 南山区" in page
    assert "科技园路" not in page  # the address stays private

    response = kyc(client, ref)  # the photos are missing: nothing is sent
    assert response.status_code == 422
    assert "请上传身份证人像面、国徽面和手持身份证照片" in html(response)
    assert order_of(ref).state == "CREATED"
    assert kyc(client, ref, photos=True)["Location"] == f"/orders/{ref}/"

    page = html(client.get(f"/orders/{ref}/"))  # 签约
    assert "签署入网协议" in page and "号卡移动通信服务协议" in page and "我已阅读并同意" in page
    assert "张*" in page and "440***********0018" in page
    response = sign(client, ref, name="李四")
    assert response.status_code == 422 and "签名须与实名认证的姓名一致" in html(response)
    response = client.post(f"/orders/{ref}/contract/", {"signature_name": "张三"})
    assert response.status_code == 422 and "请阅读并同意服务协议" in html(response)
    assert sign(client, ref)["Location"] == f"/orders/{ref}/"

    page = html(client.get(f"/orders/{ref}/"))  # 支付
    assert "待支付" in page and "微信支付" in page and "支付宝" in page
    assert "去支付 ¥1,988.00" in page and "下载 PDF" in page
    response = client.post(f"/orders/{ref}/pay/", {"method": "wechat"})
    assert response.status_code == 302
    assert response["Location"].startswith("http://gateway.test/pay/gw")

    page = html(client.get(f"/orders/{ref}/"))  # back from the cashier, before the notice
    assert "支付确认中" in page and 'hx-trigger="every 3s"' in page and "继续支付" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(client, gateway).status_code == 200
    assert order_of(ref).state == "SUBMITTED" and carrier.submitted[0].order_ref == ref

    fragment = html(client.get(f"/orders/{ref}/", **HTMX))  # the polled part
    assert "<html" not in fragment and 'id="order-live"' in fragment
    assert "已提交运营商" in fragment and 'hx-trigger="every 3s"' in fragment
    assert "微信支付 · 已支付" in fragment

    carrier_event(client, ref=ref, carrier="CMCC", type="order.accepted", iccid=ICCID, imsi="1")
    carrier_event(
        client,
        ref=ref,
        carrier="CMCC",
        type="order.shipped",
        courier="SIMEXPRESS",
        tracking_no="SX100",
    )
    courier_scan(client, ref=ref, tracking_no="SX100", status="PICKED_UP", description="已揽收")
    page = html(client.get(f"/orders/{ref}/"))
    assert "号卡配送中" in page and "模拟快递" in page and "SX100" in page and "已揽收" in page
    assert "SIMEXPRESS" not in page and "898600" in page and ICCID not in page

    carrier_event(client, ref=ref, carrier="CMCC", type="order.delivered", tracking_no="SX100")
    page = html(client.get(f"/orders/{ref}/"))  # 激活
    assert "已签收，待激活" in page and "ICCID 后 6 位" in page and "hx-trigger" not in page
    assert "/api/v1/sandbox/parcels/SX100" in page  # the sandbox hint

    response = client.post(f"/orders/{ref}/activate/", {"iccid_last6": "000000"})
    assert response.status_code == 422
    assert "ICCID 后六位不正确" in html(response) and 'value="000000"' in html(response)
    assert carrier.activated == []
    assert client.post(f"/orders/{ref}/activate/", {"iccid_last6": ICCID[-6:]}).status_code == 302
    page = html(client.get(f"/orders/{ref}/"))
    assert "激活成功" in page and "139 1234 8888" in page and "¥100.00" in page  # 首充 balance
    dashboard = r'<a class="btn btn-primary[^"]*" href="/lines/13912348888">查看我的号卡</a>'
    assert re.search(dashboard, page)  # the new line's dashboard
    assert "hx-trigger" not in page and "取消订单" not in page
    assert carrier.activated == [("CMCC", ref, ICCID[-6:])]

    listing = html(client.get("/orders/"))
    assert ref in listing and "已激活" in listing and "tone-done" in listing


def test_nothing_due_skips_payment(
    buyer_client, pool, buyer, carrier, django_capture_on_commit_callbacks
):
    hold_for(user=buyer, msisdn=FREE)
    ref = create(buyer_client, msisdn=FREE, plan="CM-MANGO-39")
    kyc(buyer_client, ref)
    with django_capture_on_commit_callbacks(execute=True):
        sign(buyer_client, ref)
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert order_of(ref).state == "SUBMITTED"
    assert "已提交运营商" in page and "去支付" not in page and "支付成功" not in page


def test_contract_pdf_after_signing(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=FREE)
    ref = create(buyer_client, msisdn=FREE, plan="CM-MANGO-39")
    response = buyer_client.get(f"/orders/{ref}/contract.pdf")
    assert response.status_code == 404 and "订单当前状态不允许此操作" in html(response)
    kyc(buyer_client, ref)
    assert "协议尚未签署" in html(buyer_client.get(f"/orders/{ref}/contract.pdf"))


def test_contract_pdf_downloads_once_signed(buyer_client, pool, buyer, carrier):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    kyc(buyer_client, ref)
    sign(buyer_client, ref)
    response = buyer_client.get(f"/orders/{ref}/contract.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"haoka-contract-{ref}.pdf" in response["Content-Disposition"]


# ---------------------------------------------------------------- errors and exits


def test_kyc_errors_in_chinese_and_a_rejection_shows_its_reason(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    response = buyer_client.post(f"/orders/{ref}/kyc/", {"name": "张三", "id_number": "1234"})
    assert response.status_code == 422 and "身份证号码应为 18 位" in html(response)
    assert 'value="1234"' in html(response) and order_of(ref).state == "CREATED"
    kyc(buyer_client, ref, name="张假")  # the sandbox verifier says no: correct it
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert order_of(ref).state == "KYC_RETRY" and "实名核验未通过" in page
    assert "还可提交 2 次" in page and "号码仍为您保留" in page and 'name="id_number"' in page
    kyc(buyer_client, ref, name="张假")
    kyc(buyer_client, ref, name="张假")  # the last attempt
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert order_of(ref).state == "KYC_REJECTED"
    assert "实名认证未通过" in page and "号码 139 1234 8888 已释放" in page and "重新选号" in page
    assert 'class="step step-error"' in page and "hx-trigger" not in page


def test_kyc_review_waits_with_polling(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    operations.apply_kyc_result(
        ref=ref, status="FLAGGED", reason="转人工", actor="test", now=clock.now()
    )
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert "实名信息人工审核中" in page and 'hx-trigger="every 3s"' in page
    assert "实名信息转人工审核" in page and "取消订单" in page


def test_after_a_review_approval_the_deadline_reads_in_hours_and_names_the_signature(
    buyer_client, pool, buyer, monkeypatch
):
    monkeypatch.setattr(kyc_domain, "VELOCITY_LIMIT", 1)  # this very order goes to review
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert re.search(r'class="countdown"[^>]*>\d+ 分 \d+ 秒</b> 内完成实名认证，', page)
    kyc(buyer_client, ref)
    assert order_of(ref).state == "KYC_REVIEW"
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert "实名认证中" in page and "实名认证通过" not in page  # not passed yet
    with clock.frozen(clock.now() + dt.timedelta(minutes=1)):
        kyc_operations.review(
            order_ref=ref, approve=True, staff_id=buyer.pk, note="核实", now=clock.now()
        )
        assert order_of(ref).state == "KYC_PASSED"
        page = html(buyer_client.get(f"/orders/{ref}/"))
    assert re.search(r">23 小时 58 分</b> 内签署入网协议，超时订单自动取消", page)
    assert "实名认证通过" in page and "实名认证中" not in page and "待签署入网协议" in page
    assert "完成支付" not in page


def test_the_timeline_names_no_step_as_done_before_it_happened(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    page = html(buyer_client.get(f"/orders/{ref}/"))
    timeline = page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    labels = re.findall(r"<b>([^<]+)</b>", timeline)
    assert labels == [
        "已下单，号码已锁定",
        "实名认证中",
        "签署入网协议",
        "支付",
        "提交运营商",
        "运营商开卡",
        "发货",
        "签收",
        "激活",
    ]


def test_cancel_releases_the_number(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    page = html(buyer_client.get(f"/orders/{ref}/"))
    assert 'data-confirm="确定取消订单吗？' in page
    response = buyer_client.post(f"/orders/{ref}/cancel/", follow=True)
    page = html(response)
    assert "订单已取消，号码 139 1234 8888 已释放" in page and "已取消" in page
    assert "取消订单" not in page and "hx-trigger" not in page
    assert PhoneNumber.objects.get(msisdn=NUMBER).status == "AVAILABLE"
    response = buyer_client.post(f"/orders/{ref}/kyc/", {"name": "张三", "id_number": ID_NUMBER})
    assert response.status_code == 409 and "订单当前状态不允许此操作" in html(response)


def test_payment_gateway_down_is_shown_not_a_500(buyer_client, pool, buyer):
    class Down(FakeGateway):
        def create_payment(self, **kwargs):
            raise payment_gateway.GatewayUnavailable()

    hold_for(user=buyer, msisdn=NUMBER)
    ref = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    kyc(buyer_client, ref)
    sign(buyer_client, ref)
    with payment_gateway.overridden(Down()):
        response = buyer_client.post(f"/orders/{ref}/pay/", {"method": "wechat"})
    assert response.status_code == 503
    assert "支付网关暂时不可用，请稍后再试" in html(response)
    response = buyer_client.post(f"/orders/{ref}/pay/", {"method": "bitcoin"})
    assert response.status_code == 422 and "alert-error" in html(response)


def test_order_list_newest_first_with_state_chips(buyer_client, pool, buyer):
    hold_for(user=buyer, msisdn=NUMBER)
    first = create(buyer_client, msisdn=NUMBER, plan="CM-MANGO-39")
    hold_for(user=buyer, msisdn=FREE)
    second = create(buyer_client, msisdn=FREE, plan="CM-HUAKA-19")
    page = html(buyer_client.get("/orders/"))
    assert page.index(second) < page.index(first)
    assert page.count("待实名") == 2 and "tone-action" in page
    assert "移动花卡宝藏版19元" in page and "138 1111 5200" in page
    assert "我的订单" in html(buyer_client.get("/me/"))
    empty = html(buyer_client.get("/orders/?after=bad"))
    assert "分页游标无效" in empty


def test_hold_offers_checkout_with_the_plan_carried_through(buyer_client, pool):
    page = html(buyer_client.get("/numbers/?plan=CM-MANGO-39&tail=8888", **HTMX))
    assert f"/numbers/valuation/?msisdn={NUMBER}&amp;plan=CM-MANGO-39" in page
    sheet = html(buyer_client.get(f"/numbers/valuation/?msisdn={NUMBER}&plan=CM-MANGO-39", **HTMX))
    assert '<input type="hidden" name="plan" value="CM-MANGO-39">' in sheet
    held = html(buyer_client.post(f"/numbers/{NUMBER}/reserve/", {"plan": "CM-MANGO-39"}, **HTMX))
    assert f"/checkout/?msisdn={NUMBER}&amp;plan=CM-MANGO-39" in held and "去下单" in held
    me = html(buyer_client.get("/me/"))
    assert f"/checkout/?msisdn={NUMBER}" in me and "去下单" in me
