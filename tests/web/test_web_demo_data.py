"""The demo's data is the data the platform would hold: the demo agents' sales are orders in the
staff order list, placed, paid, fulfilled and activated through the real use cases (commission
on the ledger by the real code), and the demo consumer's lines have three months of rated
usage closed by the monthly cycle, with issued bills whose PDF downloads. Seeded once for the
module (payments are announced on commit, so the seeding commits) and flushed afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from haoka import demo, demo_dataflow, demo_sponsors
from haoka.accounts.models import User
from haoka.charging import points_ledger, sponsored_usage, tariffs
from haoka.charging.models import (
    Bill,
    Bucket,
    CouponCode,
    DataGift,
    FamilyGroup,
    FamilyMember,
    PointsLot,
    PointsRate,
    ShopItem,
    UsageRecord,
)
from haoka.core import clock, ledger
from haoka.core.models import LedgerTransaction
from haoka.distribution.models import Entry, Sale
from haoka.lines.models import Line
from haoka.orders.models import Order
from haoka.sponsors.camara_models import CamaraSession
from haoka.sponsors.models import Slice, SponsorTopUp

#: 12:00 Beijing on 7 December 2026: the lines were brought over in September.
NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
DEMO_MSISDN = demo.DEMO_LINES[0][0]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tariffs.forget_cached()
        with clock.frozen(NOW):
            demo.seed(numbers_per_carrier=0)
        yield
        call_command("flush", interactive=False, verbosity=0)
        tariffs.forget_cached()


@pytest.fixture
def now(seeded, db):
    with clock.frozen(NOW):
        yield NOW


def test_every_demo_sale_is_an_order_placed_through_the_agents_shop(now):
    sales = list(Sale.objects.select_related("agent"))
    assert len(sales) >= 20
    orders = {o.ref: o for o in Order.objects.filter(ref__in=[s.order_ref for s in sales])}
    assert set(orders) == {s.order_ref for s in sales}
    for sale in sales:
        order = orders[sale.order_ref]
        assert order.agent_code == sale.agent.code
        assert (order.state, order.plan_code) == (sale.order_state, sale.plan_code)
    states = {o.state for o in orders.values()}
    assert "ACTIVATED" in states
    activated = [o for o in orders.values() if o.state == "ACTIVATED"]
    assert all(o.payment_id is not None for o in activated if o.amount_due_fen)
    assert Line.objects.filter(order_ref__in=[o.ref for o in activated]).count() == len(activated)


def test_the_staff_order_list_shows_the_demo_agents_orders(now, client):
    client.force_login(User.objects.get(username=demo.DEMO_STAFF[0]))
    page = client.get("/admin/orders/order/?all=")
    assert page.status_code == 200
    body = page.content.decode()
    refs = list(Sale.objects.values_list("order_ref", flat=True))
    assert refs and all(ref in body for ref in refs)


def test_the_demo_commission_is_on_a_balanced_ledger(now):
    assert Entry.objects.filter(kind="ACTIVATION").exists()
    assert LedgerTransaction.objects.filter(kind__startswith="distribution.").exists()
    assert ledger.unbalanced_transactions() == []
    assert ledger.trial_balance_fen() == 0


def test_the_demo_consumers_line_has_three_months_of_rated_usage_and_issued_bills(now):
    line = Line.objects.get(msisdn=DEMO_MSISDN)
    records = UsageRecord.objects.filter(line_id=line.pk)
    months = {clock.beijing(r.started_at).strftime("%Y-%m") for r in records}
    assert {"2026-09", "2026-10", "2026-11", "2026-12"} <= months
    assert set(records.values_list("unit", flat=True)) == {"BYTES", "SECONDS", "SMS"}
    assert records.exclude(rating_group=None).exists()  # 定向 apps
    billed = set(Bill.objects.filter(line_id=line.pk).values_list("month", flat=True))
    assert billed == {dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)}


def test_the_demo_consumers_bill_pdf_downloads_from_the_line_page(now, client):
    client.force_login(User.objects.get(phone=demo.DEMO_CONSUMER))
    listing = client.get(f"/lines/{DEMO_MSISDN}/bills")
    assert f'href="/lines/{DEMO_MSISDN}/bills/2026-11"' in listing.content.decode()
    pdf = client.get(f"/lines/{DEMO_MSISDN}/bills/2026-11.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_demo_sponsor_paid_for_douyin_on_the_consumers_line_this_month(now):
    line = Line.objects.get(msisdn=demo_sponsors.LINE[0])
    rows = sponsored_usage.of_month(line_id=line.pk, month=dt.date(2026, 12, 1))
    assert [(r.sponsor_name, r.app) for r in rows] == [(demo_sponsors.COMPANY, "抖音")]
    assert rows[0].bytes >= 12 * demo_sponsors.GRANT  # six evenings of two or three grants
    assert Slice.objects.filter(line_id=line.pk, state="SETTLED", charged_fen__gt=0).exists()
    assert SponsorTopUp.objects.get().status == "PAID"  # funded through the gateway
    assert ledger.trial_balance_fen() == 0


def test_a_camara_session_of_the_demo_sponsor_pays_the_consumers_second_line(now):
    line = Line.objects.get(msisdn=demo_sponsors.CAMARA_LINE[0])
    session = CamaraSession.objects.get(line_id=line.pk)
    assert session.state == "ACTIVE" and session.volume_bytes == 500 * 1024 * 1024
    rows = sponsored_usage.of_month(line_id=line.pk, month=dt.date(2026, 12, 1))
    assert [(r.sponsor_name, r.bytes) for r in rows] == [
        (demo_sponsors.COMPANY, 2 * demo_sponsors.GRANT)
    ]
    assert ledger.trial_balance_fen() == 0


def test_the_demo_sponsor_signs_in_to_a_console_with_its_campaign_and_chart(now, client):
    client.force_login(User.objects.get(phone=demo_sponsors.DEMO_SPONSOR))
    body = client.get("/sponsor/").content.decode()
    assert "抖音看视频免流量" in body and demo_sponsors.COMPANY in body
    assert 'id="sponsor-chart"' in body  # the last 30 days have settled spend


def test_the_demo_consumer_sees_the_sponsored_douyin_on_the_dashboard(now, client):
    client.force_login(User.objects.get(phone=demo.DEMO_CONSUMER))
    body = client.get(f"/lines/{demo_sponsors.LINE[0]}").content.decode()
    assert f"由 {demo_sponsors.COMPANY} 赞助" in body


def _lines() -> tuple[Line, Line]:
    return (
        Line.objects.get(msisdn=demo_dataflow.MAIN),
        Line.objects.get(msisdn=demo_dataflow.MEMBER[0]),
    )


def test_the_demo_member_line_drew_the_main_lines_family_pool_within_its_cap(now):
    main, member = _lines()
    group = FamilyGroup.objects.get(main_line_id=main.pk, state="ACTIVE")
    joined = FamilyMember.objects.get(group=group, role="MEMBER")
    assert (joined.line_id, joined.state) == (member.pk, "ACTIVE")
    assert joined.cap_bytes == 2048 * 1024 * 1024
    pool = Bucket.objects.get(line=member, source="FAMILY")  # moved out of the main's plan
    assert 0 < pool.used <= pool.amount <= joined.cap_bytes
    assert pool.used == sum(
        demo_dataflow.SESSION_BYTES - n * 1024 * 1024 for n in range(1, demo_dataflow.SESSIONS + 1)
    )
    assert ledger.trial_balance_fen() == 0


def test_the_demo_main_line_gave_the_member_line_data_this_month(now):
    main, member = _lines()
    gift = DataGift.objects.get(giver_id=main.pk)
    assert (gift.receiver_id, gift.state) == (member.pk, "DONE")
    assert gift.amount == demo_dataflow.GIFT_MB * 1024 * 1024
    assert clock.beijing(gift.created_at).strftime("%Y-%m") == "2026-12"
    assert Bucket.objects.filter(line=member, source="GIFT", origin=f"gift:{gift.pk}").exists()


def test_the_demo_consumer_has_points_a_rate_and_a_shop_with_a_pack_a_membership_and_coupons(now):
    consumer = User.objects.get(phone=demo.DEMO_CONSUMER)
    assert points_ledger.balance(user_id=consumer.pk) == demo_dataflow.WELCOME_POINTS
    assert PointsRate.objects.filter(points_per_gb=demo_dataflow.POINTS_PER_GB).exists()
    kinds = dict(ShopItem.objects.filter(active=True).values_list("kind", "code"))
    assert set(kinds) == {"PACK", "MEMBERSHIP", "COUPON"}
    coupons = CouponCode.objects.filter(item__code=kinds["COUPON"], redemption=None)
    assert coupons.count() == len(demo_dataflow.COUPON_CODES)


def test_the_demo_main_lines_data_page_shows_the_family_the_gift_points_and_shop(now, client):
    client.force_login(User.objects.get(phone=demo.DEMO_CONSUMER))
    page = client.get(f"/lines/{demo_dataflow.MAIN}/data")
    assert page.status_code == 200
    body = page.content.decode()
    assert "186****5678" in body and demo_dataflow.MEMBER[0] not in body  # the member, masked
    assert 'id="family-members"' in body and "解散家庭共享" in body
    assert f'data-points="{demo_dataflow.WELCOME_POINTS}"' in body
    assert f'action="/lines/{demo_dataflow.MAIN}/data/points"' in body  # a rate is set
    for code, name, *_ in demo_dataflow.SHOP:
        assert f'data-item="{code}"' in body and name in body
    assert 'data-kind="GIFT_OUT"' in body and "500MB" in body  # the gift, in the history


def test_the_demo_member_lines_data_page_shows_the_pool_it_used(now, client):
    client.force_login(User.objects.get(phone=demo.DEMO_CONSUMER))
    body = client.get(f"/lines/{demo_dataflow.MEMBER[0]}/data").content.decode()
    assert "已加入" in body and "的家庭共享" in body and "退出" in body


def test_seeding_the_demo_again_changes_nothing(now):
    tables = (Order, Sale, Entry, Line, UsageRecord, Bill, LedgerTransaction, Slice,
              FamilyGroup, FamilyMember, Bucket, DataGift, PointsLot, PointsRate, ShopItem,
              CouponCode)  # fmt: skip
    before = [model.objects.count() for model in tables]
    demo.seed(numbers_per_carrier=0)
    assert [model.objects.count() for model in tables] == before
