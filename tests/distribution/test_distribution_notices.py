"""Agents hear of what staff and the payout provider decide: the application's outcome (the
apply page promises an SMS) and a withdrawal paid, once each, by message and SMS."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts.models import SandboxSms
from haoka.distribution import operations as dist_ops
from haoka.distribution import withdrawals
from haoka.notices.models import Notification
from haoka.payments import payouts
from tests.support.distribution import T0, id_number, make_agent, make_user, offer, person_name
from tests.support.distribution_api import FakePayouts, make_withdrawable

LATER = T0 + dt.timedelta(days=30)


def applicant(serial: int):
    user = make_user(serial)
    agent = dist_ops.apply(
        user_id=user.pk,
        real_name=person_name(serial),
        id_number=id_number(serial),
        payee_channel="ALIPAY",
        payee_account=f"a{serial}@example.com",
        payee_name=person_name(serial),
        invite_code="",
        now=T0,
    )
    return user, agent


def sms_to(user) -> list[str]:
    return list(SandboxSms.objects.filter(phone=user.phone).values_list("text", flat=True))


def test_an_approved_applicant_is_told_with_their_agent_code(catalog, commits):
    user, agent = applicant(801)
    with commits():
        agent = dist_ops.decide(agent_id=agent.pk, approve=True, staff_id=None, note="", now=T0)
    note = Notification.objects.get(recipient=user)
    assert (note.kind, note.title, note.link) == ("AGENT_APPROVED", "代理申请已通过", "/agent/")
    assert agent.code in note.body
    assert sms_to(user) == [
        f"【号卡】您的代理申请已审核通过，代理编号 {agent.code}，登录号卡进入代理中心即可开始推广。"
    ]


def test_a_rejected_applicant_reads_the_staff_note_and_gets_an_sms_without_it(catalog, commits):
    user, agent = applicant(802)
    with commits():
        dist_ops.decide(
            agent_id=agent.pk, approve=False, staff_id=None, note="收款账户与实名不一致", now=T0
        )
    note = Notification.objects.get(recipient=user)
    assert note.kind == "AGENT_REJECTED" and note.link == "/agent/application"
    assert note.body == "很抱歉，您的代理申请未通过审核。说明：收款账户与实名不一致"
    assert sms_to(user) == ["【号卡】很抱歉，您的代理申请未通过审核，详情请登录号卡查看。"]


@pytest.mark.django_db
def test_a_paid_withdrawal_tells_the_agent_once_with_the_net_amount(catalog, commits, monkeypatch):
    monkeypatch.setattr(payouts, "send_payout", FakePayouts().send_payout)
    offer()
    agent = make_agent()
    assert make_withdrawable(agent) == 30_00
    withdrawal = withdrawals.request(agent_id=agent.pk, amount_fen=30_00, now=LATER)
    with commits():
        paid = withdrawals.decide(
            ref=withdrawal.ref, approve=True, staff_id=None, note="", now=LATER
        )
    assert paid.status == "PAID"
    note = Notification.objects.get(recipient=agent.user, kind="WITHDRAWAL_PAID")
    assert note.body == (f"提现 {paid.ref} 已打款 ¥29.00（申请 ¥30.00，手续费 ¥1.00），请查收。")
    assert note.key == f"withdrawal:{paid.ref}:paid" and note.link == "/agent/withdrawals"
    assert (
        sms_to(agent.user)[-1]
        == f"【号卡】您的佣金提现 ¥29.00 已打款，提现单号 {paid.ref}，请查收。"
    )
    withdrawals.reconcile_paying(now=LATER + dt.timedelta(hours=1))  # nothing more to tell
    assert Notification.objects.filter(recipient=agent.user, kind="WITHDRAWAL_PAID").count() == 1
