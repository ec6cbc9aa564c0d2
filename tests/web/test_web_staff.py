"""The staff console (Django admin) in Chinese: its landing page shows the queues that wait
for staff with their counts; lists and forms carry Chinese names, money as ¥ and reason
codes as Chinese labels."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission

from haoka.accounts.models import Role, User
from haoka.distribution.models import CommissionRule, FraudFlag, Withdrawal
from haoka.kyc.models import KycRecord
from haoka.orders.models import Order
from tests.support.distribution import make_agent
from tests.support.kyc import ID_A, ID_B, ID_C, JPEG, check, new_ref

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    client.force_login(user)
    return user


def _flagged() -> KycRecord:
    """A check flagged for a person (the third order of one ID in a short time: velocity)."""
    check(id_number=ID_A)
    check(id_number=ID_B)
    ref = new_ref()
    assert check(order_ref=ref, id_number=ID_C, photos=[JPEG]).status == "FLAGGED"
    return KycRecord.objects.get(order_ref=ref)


def _withdrawal(agent, n: int, status: str) -> Withdrawal:
    return Withdrawal.objects.create(
        ref=f"W{agent.pk}{n:04d}",
        agent=agent,
        amount_fen=100_00,
        fee_fen=0,
        net_fen=100_00,
        status=status,
        payee_channel="ALIPAY",
        payee_account="a@example.com",
        payee_name="张三",
        requested_at=T0,
    )


def _counts(page: str) -> dict[str, int]:
    rows = re.findall(
        r'<a href="([^"]+)">([^<]+)</a></th>\s*<td[^>]*>\s*<a href="[^"]+" class="queue-count"'
        r' data-count="(\d+)"',
        page,
    )
    return {title: int(count) for _, title, count in rows}


def test_the_landing_page_shows_each_staff_queue_with_its_count(client, staff, catalog):
    _flagged()
    agent, second, third = make_agent(), make_agent(), make_agent()  # one open each at most
    _withdrawal(agent, 1, "REQUESTED")
    _withdrawal(second, 2, "REQUESTED")
    _withdrawal(third, 3, "PAYING")
    _withdrawal(agent, 4, "PAID")
    for n, status in enumerate(["OPEN", "OPEN", "OPEN", "DISMISSED"]):
        FraudFlag.objects.create(
            key=f"t:{n}", agent=agent, kind="SELF_ID", status=status, created_at=T0
        )
    page = client.get("/admin/").content.decode()
    assert _counts(page) == {
        "KYC 待人工审核": 1,
        "提现待审核": 2,
        "提现打款中": 1,
        "风控待处理": 3,
        "未匹配退款": 0,
        "代理申请待审核": 0,
        "销户待人工退款": 0,
    }
    assert "/admin/kyc/kycrecord/?status__exact=FLAGGED" in page
    assert "/admin/distribution/fraudflag/?status__exact=OPEN" in page
    assert "/admin/payments/unmatchedrefund/?state__exact=OPEN" in page
    assert "号卡运营后台" in page and "套餐" in page  # the app list is still there, in Chinese


def test_a_queue_link_opens_its_filtered_list(client, staff):
    flagged = _flagged()
    listing = client.get("/admin/kyc/kycrecord/?status__exact=FLAGGED").content.decode()
    assert flagged.order_ref in listing


def test_the_landing_page_needs_a_staff_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_staff_member_sees_only_the_queues_of_models_they_may_view(client, db):
    user = User.objects.create_user(username="kyc-desk", password="pw", is_staff=True)
    user.user_permissions.add(*_perms("view_kycrecord"))
    client.force_login(user)
    assert list(_counts(client.get("/admin/").content.decode())) == ["KYC 待人工审核"]


def _perms(codename: str):
    return Permission.objects.filter(codename=codename)


def test_a_kyc_reason_code_is_shown_with_its_chinese_label(client, staff):
    flagged = _flagged()
    assert flagged.reason_code == "velocity"
    listing = client.get("/admin/kyc/kycrecord/").content.decode()
    assert "短时间内下单过多" in listing
    assert ">velocity<" not in listing
    detail = client.get(f"/admin/kyc/kycrecord/{flagged.pk}/change/").content.decode()
    assert "短时间内下单过多" in detail


ENGLISH_HEADINGS = re.compile(r"(?i)>\s*(amount due fen|rate bp|monthly fee fen|price fen)\s*<")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/admin/catalog/plan/", ["套餐", "月租", "¥"]),
        ("/admin/catalog/pack/", ["流量包", "价格", "¥"]),
        ("/admin/orders/order/", ["选择 订单 来修改", "退款状态"]),
        ("/admin/distribution/commissionrule/add/", ["固定金额（元）", "门槛（元）"]),
        ("/admin/catalog/plan/add/", ["月租", "单位：元"]),
        ("/admin/numbers/tierprice/add/", ["靓号等级价格", "价格"]),
        ("/admin/payments/unmatchedrefund/", ["未匹配退款"]),
    ],
)
def test_admin_lists_and_forms_are_in_chinese(client, staff, catalog, url, expected):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for text in expected:
        assert text in page, text
    assert not ENGLISH_HEADINGS.search(page)


def test_an_order_change_page_shows_money_as_yen(client, staff, buyer):
    order = Order.objects.create(
        ref="HK2026030100001",
        user=buyer,
        plan_code="CM-58",
        carrier_code="CMCC",
        plan_snapshot={},
        number_price_fen=0,
        first_topup_fen=50_00,
        amount_due_fen=68_00,
        contact_phone="13800138000",
        expires_at=T0,
        state_changed_at=T0,
        created_at=T0,
    )
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "应付金额" in page and "¥68.00" in page and "¥50.00" in page
    assert ">6800<" not in page


def test_a_commission_rule_list_shows_yen_and_percent_not_fen_and_basis_points(client, staff):
    CommissionRule.objects.create(
        plan_code="*",
        kind="ACTIVATION",
        amount_fen=30_00,
        rate_bp=500,
        valid_from=T0,
        created_at=T0,
    )
    page = client.get("/admin/distribution/commissionrule/").content.decode()
    assert "固定金额" in page and "¥30.00" in page
    assert "比例" in page and "5.00%" in page
    assert not ENGLISH_HEADINGS.search(page) and ">500<" not in page
