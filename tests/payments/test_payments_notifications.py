"""Gateway notifications posted to the callback URL, and the payer's payment API."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from haoka.accounts import operations as accounts_operations
from haoka.accounts.models import User
from haoka.core import clock, signing
from haoka.payments import operations
from haoka.payments.gateway import GatewayUnavailable
from haoka.payments.models import Payment, PaymentEvent, Refund
from tests.support.clients import ProductionClient
from tests.support.payments import (
    ASSET,
    PREPAYMENTS,
    SECRET,
    T0,
    Snapshot,
    balance,
    paid_transitions,
    payment_postings,
    signed_post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("balanced_ledger")]


@pytest.fixture
def pending(fake):
    """A started payment waiting for the payer."""
    started = operations.start_payment(
        purpose="ORDER",
        reference="HK2001",
        user_id=None,
        amount_fen=12_345,
        method="ALIPAY",
        return_url="http://haoka.test/orders/HK2001/",
        now=T0,
    )
    return Payment.objects.get(pk=started.payment_id)


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a notification as the gateway does; after-commit work runs as in production."""

    def post(payload, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return signed_post(client, payload, **kwargs)

    return post


def fresh(payment: Payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


# ---------------------------------------------------------------- payment.succeeded


def test_the_first_success_notification_pays_posts_the_ledger_and_answers_ok(fake, pending, post):
    response = post(fake.pay(pending.merchant_order_id))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    payment = fresh(pending)
    assert payment.status == "PAID"
    assert payment.paid_at == T0
    assert payment_postings(payment) == 1
    assert balance(ASSET) == 12_345
    assert balance(PREPAYMENTS) == -12_345
    event = payment.events.get(to_status="PAID")
    assert (event.kind, event.from_status, event.actor) == (
        "payment.succeeded",
        "PENDING",
        "gateway:sandbox",
    )


def test_the_payment_succeeded_signal_fires_exactly_once_after_commit(
    fake, pending, post, received
):
    note = fake.pay(pending.merchant_order_id)
    for _ in range(3):
        assert post(note).status_code == 200
    assert received.of("payment_succeeded") == [
        {"payment_id": pending.pk, "purpose": "ORDER", "reference": "HK2001", "amount_fen": 12_345}
    ]


def test_the_signal_waits_for_the_commit(fake, pending, client, received):
    signed_post(client, fake.pay(pending.merchant_order_id))
    assert received == []  # the test's transaction never commits, so nobody was told


def test_a_duplicate_delivery_of_the_same_event_changes_nothing(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    post(note)
    before = Snapshot.take()
    response = post(note)
    assert response.status_code == 200
    assert Snapshot.take() == before
    assert payment_postings(pending) == 1


def test_a_replayed_event_id_with_a_fresh_signature_changes_nothing(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    post(note)
    before = Snapshot.take()
    later = T0 + dt.timedelta(minutes=3)  # a new, valid signature inside the window

    with clock.frozen(later):
        response = post(note, at=later)
    assert response.status_code == 200
    assert Snapshot.take() == before


def test_another_success_event_for_a_paid_payment_is_recorded_but_changes_nothing(
    fake, pending, post
):
    note = fake.pay(pending.merchant_order_id)
    post(note)
    before = Snapshot.take()
    assert post({**note, "event_id": "evt_other"}).status_code == 200
    assert fresh(pending).status == "PAID"
    assert payment_postings(pending) == 1
    assert Snapshot.take().ledger_transactions == before.ledger_transactions
    ignored = PaymentEvent.objects.get(event_id="evt_other")
    assert ignored.to_status == ""


# ---------------------------------------------------------------- refused deliveries


def test_a_bad_signature_is_refused_with_401_and_nothing_changes(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    before = Snapshot.take()
    response = post(note, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert Snapshot.take() == before


def test_a_missing_signature_is_refused_with_401(fake, pending, client):
    note = fake.pay(pending.merchant_order_id)
    response = client.post(
        "/api/v1/callbacks/payments/sandbox", data=json.dumps(note), content_type="application/json"
    )
    assert response.status_code == 401
    assert fresh(pending).status == "PENDING"


def test_a_signature_over_another_body_is_refused(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    other = json.dumps({**note, "amount_fen": 1}).encode()
    header = signing.sign(secret=SECRET, body=other, timestamp=int(T0.timestamp()))
    assert post(note, signature=header).status_code == 401
    assert fresh(pending).status == "PENDING"


def test_a_stale_signature_older_than_five_minutes_is_refused(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    before = Snapshot.take()
    response = post(note, at=T0 - dt.timedelta(seconds=301))
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "stale"
    assert Snapshot.take() == before


def test_a_signature_just_inside_the_window_is_accepted(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    assert post(note, at=T0 - dt.timedelta(seconds=299)).status_code == 200


def test_a_wrong_amount_is_refused_with_422_and_nothing_changes(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    before = Snapshot.take()
    response = post({**note, "amount_fen": 1})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "payment_mismatch"
    assert response.json()["error"]["details"]["reason"] == "amount"
    assert Snapshot.take() == before
    # The event id was not used up: the real notification still pays.
    assert post(note).status_code == 200
    assert fresh(pending).status == "PAID"


def test_a_different_gateway_payment_id_is_a_mismatch(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    before = Snapshot.take()
    response = post({**note, "payment_id": "gwpay_someone_else"})
    assert response.status_code == 422
    assert Snapshot.take() == before


def test_an_unknown_merchant_order_id_is_not_found(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    response = post({**note, "merchant_order_id": "ord_NOPE_1"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


def test_a_malformed_body_is_refused_with_422(fake, pending, post):
    assert post(b"{not json").status_code == 422
    response = post({"event_id": "e", "type": "payment.succeeded"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_notification"


def test_an_unknown_gateway_is_404(fake, pending, post):
    note = fake.pay(pending.merchant_order_id)
    response = post(note, path="/api/v1/callbacks/payments/paypal")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_payment_gateway"
    assert fresh(pending).status == "PENDING"


def test_the_callback_needs_no_login_and_no_csrf_token(fake, pending, settings):
    strict = ProductionClient(enforce_csrf_checks=True)
    assert signed_post(strict, fake.pay(pending.merchant_order_id)).status_code == 200


# ---------------------------------------------------------------- order of arrival


def test_a_closed_notification_after_success_does_not_unpay(fake, pending, post):
    post(fake.pay(pending.merchant_order_id))
    closed = fake._notify("payment.closed", fake.payments[pending.gateway_payment_id])
    assert post(closed).status_code == 200
    payment = fresh(pending)
    assert payment.status == "PAID"
    assert payment_postings(payment) == 1


def test_a_closed_notification_closes_a_pending_payment(fake, pending, post):
    closed = fake._notify("payment.closed", fake.payments[pending.gateway_payment_id])
    assert post(closed).status_code == 200
    payment = fresh(pending)
    assert (payment.status, payment.closed_at) == ("CLOSED", T0)
    assert balance(ASSET) == 0


def test_a_success_after_a_local_close_still_records_the_money(fake, pending, post, received):
    closed = fake._notify("payment.closed", fake.payments[pending.gateway_payment_id])
    post(closed)
    fake.payments[pending.gateway_payment_id].status = "PENDING"  # a gateway that changed its mind
    post(fake.pay(pending.merchant_order_id))
    assert fresh(pending).status == "PAID"
    assert balance(ASSET) == 12_345
    assert len(received.of("payment_succeeded")) == 1


def test_refund_succeeded_before_payment_succeeded_asks_the_gateway_and_records_both(
    fake, pending, post, received
):
    paid = fake.pay(pending.merchant_order_id)  # held back by the network
    gateway_payment = fake.payments[pending.gateway_payment_id]
    gateway_payment.refunded_fen, gateway_payment.status = 2_345, "PARTIALLY_REFUNDED"
    refunded = fake._notify(
        "refund.succeeded", gateway_payment, refund_id="rf_console_1", amount_fen=2_345
    )
    assert post(refunded).status_code == 200
    payment = fresh(pending)
    assert (payment.status, payment.refunded_fen) == ("PARTIALLY_REFUNDED", 2_345)
    assert balance(ASSET) == 10_000
    assert post(paid).status_code == 200  # late, and harmless
    assert fresh(pending).status == "PARTIALLY_REFUNDED"
    assert payment_postings(payment) == 1
    assert paid_transitions(payment) == 1
    assert [name for name, _ in received] == ["payment_succeeded", "refund_succeeded"]


def test_refund_before_payment_is_refused_for_a_retry_when_the_gateway_cannot_be_asked(
    fake, pending, post
):
    fake.pay(pending.merchant_order_id)
    gateway_payment = fake.payments[pending.gateway_payment_id]
    refunded = fake._notify(
        "refund.succeeded", gateway_payment, refund_id="rf_x", amount_fen=100, refunded_fen=100
    )
    fake.faults.extend(["503"] * 4)
    before = Snapshot.take()
    response = post(refunded)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_not_yet_paid"
    assert Snapshot.take() == before


def test_a_refund_notification_for_a_refund_haoka_asked_for_completes_it_once(
    fake, pending, post, received
):
    post(fake.pay(pending.merchant_order_id))
    fake.faults.extend(["timeout"] * 4)  # the refund's answer is lost; its notification comes
    with pytest.raises(GatewayUnavailable):
        operations.refund(purpose="ORDER", reference="HK2001", amount_fen=None, reason="x", now=T0)
    # The gateway never got the request; make it so (as if only the answer had been lost).
    refund = Refund.objects.get()
    fake._refund(
        fake.payments[pending.gateway_payment_id],
        {"refund_id": refund.refund_id, "amount_fen": 12_345},
    )
    note = fake.last("refund.succeeded")
    assert post(note).status_code == 200
    assert post(note).status_code == 200
    payment = fresh(pending)
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 12_345)
    assert Refund.objects.get().status == "SUCCEEDED"
    assert len(received.of("refund_succeeded")) == 1
    assert balance(ASSET) == 0


def test_a_refund_notification_for_more_than_is_left_is_a_mismatch(fake, pending, post):
    post(fake.pay(pending.merchant_order_id))
    gateway_payment = fake.payments[pending.gateway_payment_id]
    too_much = fake._notify(
        "refund.succeeded", gateway_payment, refund_id="rf_console_9", amount_fen=12_346
    )
    before = Snapshot.take()
    assert post(too_much).status_code == 422
    assert Snapshot.take() == before


# ---------------------------------------------------------------- the payer's view


def _token(user: User) -> str:
    return accounts_operations.create_api_token(
        name=f"t{user.pk}", scopes=["orders"], username=user.username, now=T0
    ).token


def test_the_payer_sees_their_payment_and_nobody_else_does(fake, client):
    owner = User.objects.create(username="owner", phone="13700000001")
    other = User.objects.create(username="other", phone="13700000002")
    started = operations.start_payment(
        purpose="TOPUP",
        reference="TU1",
        user_id=owner.pk,
        amount_fen=5_000,
        method="WECHAT",
        return_url="",
        now=T0,
    )
    url = f"/api/v1/payments/{started.payment_id}"
    mine = client.get(url, headers={"Authorization": f"Bearer {_token(owner)}"})
    assert mine.status_code == 200
    body = mine.json()
    assert (body["status"], body["amount"], body["pay_url"]) == (
        "PENDING",
        "¥50.00",
        started.pay_url,
    )
    theirs = client.get(url, headers={"Authorization": f"Bearer {_token(other)}"})
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "payment_not_found"
    assert client.get(url).status_code == 401
    missing = client.get(
        "/api/v1/payments/999999", headers={"Authorization": f"Bearer {_token(owner)}"}
    )
    assert missing.status_code == 404
