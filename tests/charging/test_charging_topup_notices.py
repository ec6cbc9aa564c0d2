"""A top-up credited tells the line's owner in their 消息中心, once per credit, in-app only
(the payer just paid in the app and the payment channel sends its own receipt)."""

from __future__ import annotations

import pytest

from haoka.accounts.models import SandboxSms
from haoka.charging import topups
from haoka.notices.models import Notification
from haoka.payments import gateway
from tests.support.charging import make_line
from tests.support.money import FakeGateway, deliver, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


def test_a_credited_top_up_tells_the_owner_once_without_an_sms(catalog, fake, commits, now):
    line = make_line(plan="CM-MANGO-39", balance_fen=500, now=now)
    topup = topups.start_topup(line_id=line.pk, amount_fen=2000, method="wechat", now=now)
    assert not Notification.objects.exists()  # started is not credited
    note = pay(fake, topup, at=now, commits=commits)
    with commits():
        deliver(note, at=now)  # the gateway repeats itself
    told = Notification.objects.get()
    assert (told.recipient_id, told.kind, told.title, told.link) == (
        line.user_id,
        "TOPUP_CREDITED",
        "充值到账",
        f"/lines/{line.msisdn}",
    )
    assert told.body == f"号码 {line.msisdn} 充值 ¥20.00 已到账。"
    assert not told.sms_sent and not SandboxSms.objects.exists()
