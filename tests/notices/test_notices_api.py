"""``/api/v1/me/notifications``: the caller's messages only, newest first with a cursor,
read one, read all; someone else's message is not found."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import clock
from haoka.notices import operations
from haoka.notices.templates import Kind
from tests.support.distribution import make_user
from tests.support.distribution_api import anonymous, error_code, login

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
BASE = "/me/notifications"


@pytest.fixture(autouse=True)
def now():
    with clock.frozen(T0):
        yield T0


def delivered(user, ref: str, *, minutes: int = 0) -> None:
    operations.notify(
        user_id=user.pk,
        kind=Kind.ORDER_DELIVERED,
        key=f"order:{ref}:delivered",
        values={"order_ref": ref, "msisdn": "18912340001"},
        now=T0 + dt.timedelta(minutes=minutes),
    )


def test_the_list_is_the_callers_own_newest_first_with_a_cursor_and_the_unread_count(client):
    buyer, other = make_user(), make_user()
    for i in range(3):
        delivered(buyer, f"HK{i}", minutes=i)
    delivered(other, "OTHER")
    me = login(client, buyer)
    first = me.get(f"{BASE}?limit=2").json()
    assert [n["body"][3:6] for n in first["items"]] == ["HK2", "HK1"]
    assert first["unread"] == 3 and first["next"]
    assert first["items"][0] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "kind": "ORDER_DELIVERED",
        "kind_label": "已签收",
        "title": "号卡已签收",
        "body": "订单 HK2 的号卡（18912340001）已签收。插卡后在订单页完成激活即可使用。",
        "link": "/orders/HK2/",
        "created_at": "",
        "read_at": None,
    }
    rest = me.get(f"{BASE}?limit=2&after={first['next']}").json()
    assert [n["link"] for n in rest["items"]] == ["/orders/HK0/"] and rest["next"] is None


def test_reading_one_and_then_all(client):
    buyer = make_user()
    delivered(buyer, "HK1")
    delivered(buyer, "HK2", minutes=1)
    me = login(client, buyer)
    newest = me.get(BASE).json()["items"][0]
    read = me.post(f"{BASE}/{newest['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert me.get(BASE).json()["unread"] == 1
    assert me.post(f"{BASE}/read-all").json() == {"marked": 1, "unread": 0}
    assert me.get(BASE).json()["unread"] == 0


def test_nobody_reads_or_marks_someone_elses_messages(client):
    buyer, intruder = make_user(), make_user()
    delivered(buyer, "HK1")
    own_id = login(client, buyer).get(BASE).json()["items"][0]["id"]
    them = login(client, intruder)
    assert them.get(BASE).json() == {"items": [], "next": None, "unread": 0}
    refused = them.post(f"{BASE}/{own_id}/read")
    assert refused.status_code == 404 and error_code(refused) == "notification_not_found"
    assert them.post(f"{BASE}/read-all").json()["marked"] == 0
    assert login(client, buyer).get(BASE).json()["unread"] == 1
    assert anonymous(client).get(BASE).status_code == 401


def test_bad_ids_and_cursors_are_4xx_with_a_code(client):
    me = login(client, make_user())
    assert me.post(f"{BASE}/0/read").status_code == 422
    assert me.post(f"{BASE}/99999999999999999999/read").status_code == 422
    assert me.post(f"{BASE}/123/read").status_code == 404
    bad = me.get(f"{BASE}?after=not-a-cursor")
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"
    assert me.get(f"{BASE}?limit=1000").status_code == 422
