"""Refunds the gateway made without haoka (an unknown refund_id): the payment's owner is asked
to take the money back (``signals.refund_unsolicited``); what nobody takes back is parked in
``asset:unmatched_refunds`` with a 未匹配退款 record for staff. Never half-booked: every path
leaves the ledger balanced, and the same refund is recorded once however often it comes."""

from __future__ import annotations

import pytest
import structlog
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction

from haoka.accounts.models import User
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import IllegalTransition
from haoka.core.models import LedgerTransaction
from haoka.payments import domain, operations, queries, signals
from haoka.payments.errors import UnmatchedRefundNotFound
from haoka.payments.models import Payment, PaymentEvent, Refund, UnmatchedRefund
from tests.support.payments import ASSET, PREPAYMENTS, T0, balance, deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("balanced_ledger")]
SUSPENSE = chart.UNMATCHED_REFUNDS


@pytest.fixture
def paid(fake):
    """A top-up payment of ¥50.00, paid (no owner listens in these tests)."""
    started = operations.start_payment(
        purpose="TOPUP",
        reference="TU2001",
        user_id=None,
        amount_fen=5_000,
        method="WECHAT",
        return_url="",
        now=T0,
    )
    deliver(fake.pay(started.merchant_order_id))
    return Payment.objects.get(pk=started.payment_id)


@pytest.fixture
def owner():
    """A stand-in owner of the TOPUP purpose: answers what the test says, records what it
    was asked and (when told to) posts to the ledger before answering."""
    asked = []
    behaviour = {"answer": domain.TAKEN_BACK, "post": False, "raise": False}

    def receiver(sender, **kwargs):
        asked.append({k: v for k, v in kwargs.items() if k != "signal"})
        if behaviour["post"]:
            ledger.post(
                legs=[
                    ledger.Leg(chart.OPENING_BALANCES, kwargs["amount_fen"]),
                    ledger.Leg(PREPAYMENTS, -kwargs["amount_fen"]),
                ],
                kind="test.owner",
                key=f"test.owner:{kwargs['refund_id']}",
            )
        if behaviour["raise"]:
            raise RuntimeError("the owner has a bug")
        return behaviour["answer"]

    signals.refund_unsolicited.connect(receiver, dispatch_uid="test.owner")
    yield asked, behaviour
    signals.refund_unsolicited.disconnect(dispatch_uid="test.owner")


def console_refund(fake, payment: Payment, amount_fen: int, refund_id: str = "console_1"):
    gateway_payment = fake.payments[payment.gateway_payment_id]
    fake._refund(gateway_payment, {"refund_id": refund_id, "amount_fen": amount_fen})
    return fake.last("refund.succeeded")


def test_a_refund_nobody_can_take_back_is_parked_for_staff_with_a_stable_code(fake, paid):
    with structlog.testing.capture_logs() as logs:
        deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    assert (parked.gateway_refund_id, parked.amount_fen, parked.state, parked.reason_code) == (
        "console_1",
        1_200,
        "OPEN",
        domain.NO_OWNER,
    )
    assert parked.refund.status == "SUCCEEDED" and not parked.refund.requested_by_haoka
    assert (balance(ASSET), balance(SUSPENSE), balance(PREPAYMENTS)) == (3_800, 1_200, -5_000)
    assert Payment.objects.get(pk=paid.pk).refunded_fen == 1_200
    [line] = [e for e in logs if e["event"] == "payment_refund_unmatched"]
    assert (line["code"], line["refund_id"], line["log_level"]) == (
        "refund_unmatched",
        "console_1",
        "error",
    )


def test_a_refund_its_owner_takes_back_is_booked_against_customer_prepayments(fake, paid, owner):
    asked, behaviour = owner
    behaviour["post"] = True  # the owner moves the money (as charging debits the wallet)
    deliver(console_refund(fake, paid, 1_200))
    assert asked == [
        {
            "payment_id": paid.pk,
            "purpose": "TOPUP",
            "reference": "TU2001",
            "refund_id": "console_1",
            "amount_fen": 1_200,
            "now": T0,
        }
    ]
    assert not UnmatchedRefund.objects.exists()
    assert (balance(ASSET), balance(SUSPENSE)) == (3_800, 0)
    assert balance(PREPAYMENTS) == -5_000  # -5,000 paid, -1,200 taken back, +1,200 refunded


def test_an_owner_that_cannot_take_it_back_says_why_and_the_refund_is_parked(fake, paid, owner):
    _, behaviour = owner
    behaviour["answer"] = "insufficient_balance"
    deliver(console_refund(fake, paid, 1_200))
    assert UnmatchedRefund.objects.get().reason_code == "insufficient_balance"
    assert balance(SUSPENSE) == 1_200


def test_an_owner_that_fails_is_rolled_back_alone_and_the_refund_is_parked(fake, paid, owner):
    _, behaviour = owner
    behaviour.update({"post": True, "raise": True})
    deliver(console_refund(fake, paid, 1_200))
    assert not LedgerTransaction.objects.filter(kind="test.owner").exists()
    assert UnmatchedRefund.objects.get().reason_code == domain.OWNER_FAILED
    assert (balance(ASSET), balance(SUSPENSE), balance(PREPAYMENTS)) == (3_800, 1_200, -5_000)


def test_the_same_unsolicited_refund_delivered_twice_is_recorded_once(fake, paid):
    note = console_refund(fake, paid, 1_200)
    deliver(note)
    before = LedgerTransaction.objects.count(), PaymentEvent.objects.count()
    deliver(note)
    deliver({**note, "event_id": "evt_resent"})  # the same refund under another event id
    assert (LedgerTransaction.objects.count(), PaymentEvent.objects.count()) == (
        before[0],
        before[1] + 1,  # the resent event is remembered, and changes nothing
    )
    assert UnmatchedRefund.objects.count() == 1
    assert Refund.objects.filter(refund_id="console_1").count() == 1
    assert balance(SUSPENSE) == 1_200


def test_one_gateway_refund_is_parked_at_most_once(fake, paid):
    deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    other = Refund.objects.create(
        refund_id="console_2", payment=paid, amount_fen=1, reason="x", created_at=T0,
        updated_at=T0,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        UnmatchedRefund.objects.create(
            gateway_refund_id=parked.gateway_refund_id,
            refund=other,
            payment=paid,
            amount_fen=1,
            reason_code="x",
            created_at=T0,
        )


def test_the_staff_queue_counts_parked_refunds_until_they_are_resolved(fake, paid):
    assert queries.open_unmatched_refunds() == 0
    deliver(console_refund(fake, paid, 1_200))
    assert queries.open_unmatched_refunds() == 1
    operations.resolve_unmatched_refund(
        unmatched_id=UnmatchedRefund.objects.get().pk, retry=False, actor="staff:7", now=T0
    )
    assert queries.open_unmatched_refunds() == 0


def test_staff_write_a_parked_refund_off_once(fake, paid):
    deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    done = operations.resolve_unmatched_refund(
        unmatched_id=parked.pk, retry=False, actor="staff:7", note="客户已失联", now=T0
    )
    assert (done.state, done.resolution, done.resolved_by, done.resolved_at, done.note) == (
        "RESOLVED",
        "WRITTEN_OFF",
        "staff:7",
        T0,
        "客户已失联",
    )
    assert (balance(SUSPENSE), balance(chart.UNMATCHED_REFUND_LOSSES)) == (0, 1_200)
    assert PaymentEvent.objects.filter(kind="refund.unmatched_resolved").count() == 1
    with pytest.raises(IllegalTransition):
        operations.resolve_unmatched_refund(
            unmatched_id=parked.pk, retry=False, actor="staff:7", now=T0
        )
    assert balance(chart.UNMATCHED_REFUND_LOSSES) == 1_200
    with pytest.raises(UnmatchedRefundNotFound):
        operations.resolve_unmatched_refund(
            unmatched_id=parked.pk + 99, retry=False, actor="staff:7", now=T0
        )


def test_staff_retry_takes_a_parked_refund_back_when_its_owner_now_can(fake, paid, owner):
    _, behaviour = owner
    behaviour["answer"] = "insufficient_balance"
    deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    behaviour.update({"answer": domain.TAKEN_BACK, "post": True})
    done = operations.resolve_unmatched_refund(
        unmatched_id=parked.pk, retry=True, actor="staff:7", now=T0
    )
    assert (done.state, done.resolution) == ("RESOLVED", "TAKEN_BACK")
    assert (balance(SUSPENSE), balance(PREPAYMENTS)) == (0, -5_000)


# ---------------------------------------------------------------- the staff queue


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser(username="ops", password="x" * 12))
    return client


def test_staff_see_the_unmatched_refunds_queue_and_write_one_off(staff_client, fake, paid):
    deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    page = staff_client.get("/admin/payments/unmatchedrefund/?state__exact=OPEN")
    assert page.status_code == 200
    text = page.content.decode()
    assert "未匹配退款" in text and "console_1" in text and 'value="write_off"' in text
    assert parked.reason_code == domain.NO_OWNER
    assert "无业务方认领" in text and ">no_owner<" not in text  # the reason, in Chinese
    assert "¥12.00" in text
    response = staff_client.post(
        "/admin/payments/unmatchedrefund/",
        {"action": "write_off", "_selected_action": [parked.pk]},
    )
    assert response.status_code == 302
    parked.refresh_from_db()
    assert (parked.state, parked.resolution) == ("RESOLVED", "WRITTEN_OFF")
    assert parked.resolved_by.startswith("staff:")
    assert staff_client.get(f"/admin/payments/unmatchedrefund/{parked.pk}/change/").status_code == (
        200
    )


def test_staff_who_may_only_look_cannot_resolve(client, fake, paid):
    viewer = User.objects.create_user(username="viewer", password="x" * 12, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_unmatchedrefund"))
    client.force_login(viewer)
    deliver(console_refund(fake, paid, 1_200))
    parked = UnmatchedRefund.objects.get()
    page = client.get("/admin/payments/unmatchedrefund/")
    assert page.status_code == 200
    assert 'value="write_off"' not in page.content.decode()  # no such action offered
    client.post(
        "/admin/payments/unmatchedrefund/",
        {"action": "write_off", "_selected_action": [parked.pk]},
    )
    parked.refresh_from_db()
    assert parked.state == "OPEN"
