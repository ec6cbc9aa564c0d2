"""消息中心: the list (newest first, unread marked), tapping a message marks it read and
opens its page, 全部已读, and the unread badge on 我的 (one COUNT). Nobody sees or marks
someone else's messages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.notices import operations
from haoka.notices.models import Notification
from haoka.notices.templates import Kind
from tests.support.distribution import make_agent
from tests.support.web import HTMX

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def shipped(user, ref: str, *, minutes: int = 0) -> Notification:
    operations.notify(
        user_id=user.pk,
        kind=Kind.ORDER_SHIPPED,
        key=f"order:{ref}:shipped",
        values={
            "order_ref": ref,
            "msisdn": "18912340001",
            "courier": "模拟快递",
            "tracking_no": "SX1",
        },
        now=T0 + dt.timedelta(minutes=minutes),
    )
    return Notification.objects.get(key=f"order:{ref}:shipped")


def badge(html: str) -> str | None:
    found = re.search(r'class="nav-badge" data-unread="(\d+)"', html)
    return found.group(1) if found else None


def test_the_list_shows_newest_first_with_unread_marked_and_the_badge_counts_them(
    buyer_client, buyer
):
    shipped(buyer, "HKOLD")
    shipped(buyer, "HKNEW", minutes=5)
    html = buyer_client.get("/me/messages").content.decode()
    assert html.index("HKNEW") < html.index("HKOLD")
    assert html.count("msg-row unread") == 2 and "全部已读" in html
    assert "模拟快递发出，运单号 SX1" in html and "03-01 10:05" in html  # Beijing time
    assert badge(html) == "2"
    assert badge(buyer_client.get("/me/").content.decode()) == "2"


def test_tapping_a_message_marks_it_read_and_opens_its_page(buyer_client, buyer):
    note = shipped(buyer, "HK1")
    response = buyer_client.post(f"/me/messages/{note.pk}/read")
    assert response.status_code == 302 and response["Location"] == "/orders/HK1/"
    note.refresh_from_db()
    assert note.read_at is not None
    html = buyer_client.get("/me/messages").content.decode()
    assert "msg-row unread" not in html and badge(html) is None and "全部已读" not in html


def test_all_read_clears_the_badge(buyer_client, buyer):
    for i in range(3):
        shipped(buyer, f"HK{i}", minutes=i)
    response = buyer_client.post("/me/messages/read-all", follow=True)
    html = response.content.decode()
    assert "已全部标为已读" in html and badge(html) is None
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_a_badge_past_ninety_nine_reads_99_plus(buyer_client, buyer):
    Notification.objects.bulk_create(
        Notification(
            recipient=buyer, kind="ORDER_DELIVERED", key=f"k{i}", title="t", body="b",
            created_at=T0,
        )
        for i in range(100)
    )  # fmt: skip
    assert ">99+</b>" in buyer_client.get("/me/").content.decode()


def test_the_badge_costs_one_count_and_an_htmx_fragment_none(buyer_client, buyer):
    shipped(buyer, "HK1")
    with CaptureQueriesContext(connection) as page:
        buyer_client.get("/me/messages")
    counts = [q["sql"] for q in page.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "notices_notification" in counts[0]
    with CaptureQueriesContext(connection) as fragment:
        buyer_client.get("/me/messages", **HTMX)
    assert not any("COUNT(" in q["sql"].upper() for q in fragment.captured_queries)


def test_nobody_sees_or_marks_someone_elses_messages(client, buyer, rival):
    note = shipped(buyer, "HKMINE")
    client.force_login(rival)
    html = client.get("/me/messages").content.decode()
    assert "HKMINE" not in html and "暂无消息" in html and badge(html) is None
    assert client.post(f"/me/messages/{note.pk}/read").status_code == 404
    client.post("/me/messages/read-all")
    note.refresh_from_db()
    assert note.read_at is None


def test_a_visitor_is_sent_to_log_in_and_a_bad_cursor_is_a_chinese_message(client, buyer):
    response = client.get("/me/messages")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post("/me/messages/read-all").status_code == 302
    client.force_login(buyer)
    bad = client.get("/me/messages?after=garbage")
    assert bad.status_code == 422 and "分页游标无效" in bad.content.decode()
    assert client.get("/me/messages/1/read").status_code == 405
    assert client.post("/me/messages/99999999999999999999/read").status_code == 404


def test_an_approved_agent_sees_the_approval_in_the_badge_of_the_agent_console(client, catalog):
    agent = make_agent()  # staff approved the application: the applicant is told
    client.force_login(agent.user)
    html = client.get("/agent/").content.decode()
    assert badge(html) == "1"
    messages = client.get("/me/messages").content.decode()
    assert "代理申请已通过" in messages and agent.code in messages
