"""Telling a person: once per event, SMS only after the event commits, a failing SMS
provider never undoing the event, and reading marks only one's own messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from haoka.accounts import sms
from haoka.accounts.models import SandboxSms, User
from haoka.notices import operations, queries
from haoka.notices.models import Notification
from haoka.notices.templates import Kind

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
SHIPPED = {
    "order_ref": "HK1",
    "msisdn": "18912340001",
    "courier": "模拟快递",
    "tracking_no": "SX1",
}


def person(phone: str = "13700000001") -> User:
    return User.objects.create(username=phone, phone=phone)


def ship(user: User, *, key: str = "order:HK1:shipped", now: dt.datetime = T0) -> bool:
    return operations.notify(
        user_id=user.pk, kind=Kind.ORDER_SHIPPED, key=key, values=SHIPPED, now=now
    )


def test_an_event_told_twice_makes_one_message_and_one_sms(commits):
    buyer = person()
    with commits():
        assert ship(buyer) is True
    with commits():
        assert ship(buyer) is False
    note = Notification.objects.get()
    assert (note.recipient_id, note.kind, note.title, note.link) == (
        buyer.pk,
        "ORDER_SHIPPED",
        "号卡已发货",
        "/orders/HK1/",
    )
    assert note.sms_sent and note.read_at is None
    texts = list(SandboxSms.objects.values_list("phone", "text"))
    assert texts == [
        ("13700000001", "【号卡】您的号卡 18912340001 已发货，模拟快递 运单号 SX1，请留意查收。")
    ]


def test_a_rolled_back_event_leaves_no_message_and_texts_nobody(commits):
    buyer = person()

    class EventFailed(Exception):
        pass

    with commits(), pytest.raises(EventFailed), transaction.atomic():
        ship(buyer)
        raise EventFailed
    assert Notification.objects.count() == 0 and SandboxSms.objects.count() == 0


def test_a_failing_sms_provider_never_undoes_the_event(commits, monkeypatch):
    class Down:
        def send(self, *, phone, text):
            raise ConnectionError("SMS gateway down")

    monkeypatch.setattr(sms, "provider", Down)
    buyer = person()
    with commits(), transaction.atomic():
        assert ship(buyer) is True
    assert Notification.objects.filter(recipient=buyer).count() == 1


def test_an_in_app_kind_or_a_person_without_a_phone_gets_no_sms(commits):
    buyer = person()
    no_phone = User.objects.create(username="nophone")
    with commits():
        operations.notify(
            user_id=buyer.pk,
            kind=Kind.ORDER_DELIVERED,
            key="order:HK1:delivered",
            values=SHIPPED,
            now=T0,
        )
        ship(no_phone)
    assert Notification.objects.count() == 2 and SandboxSms.objects.count() == 0
    assert not Notification.objects.filter(sms_sent=True).exists()


def test_reading_marks_ones_own_message_once_and_never_someone_elses():
    buyer, other = person(), person("13700000002")
    ship(buyer)
    note = Notification.objects.get()
    with pytest.raises(operations.NotificationNotFound):
        operations.mark_read(user_id=other.pk, notification_id=note.pk, now=T0)
    assert queries.unread_count(user_id=buyer.pk) == 1
    first = operations.mark_read(user_id=buyer.pk, notification_id=note.pk, now=T0)
    again = operations.mark_read(
        user_id=buyer.pk, notification_id=note.pk, now=T0 + dt.timedelta(hours=1)
    )
    assert first.read_at == again.read_at == T0
    assert queries.unread_count(user_id=buyer.pk) == 0


def test_all_read_marks_only_the_callers_unread_messages():
    buyer, other = person(), person("13700000002")
    for i in range(3):
        ship(buyer, key=f"order:B{i}:shipped")
    ship(other, key="order:O1:shipped")
    assert operations.mark_all_read(user_id=buyer.pk, now=T0) == 3
    assert operations.mark_all_read(user_id=buyer.pk, now=T0) == 0
    assert queries.unread_count(user_id=buyer.pk) == 0
    assert queries.unread_count(user_id=other.pk) == 1
