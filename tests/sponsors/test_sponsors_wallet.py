"""A sponsor's wallet: a top-up through the gateway credits it once, a refund the gateway
made by itself is taken back from it, members are told once when it drops below the
sponsor's threshold, and the wholesale rate in force is the latest one started."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import ledger
from haoka.core.models import LedgerTransaction
from haoka.notices.models import Notification
from haoka.payments import gateway
from haoka.payments.models import Payment, UnmatchedRefund
from haoka.sponsors import wallet
from haoka.sponsors.models import SponsorTopUp, WholesaleRate
from tests.support.payments import FakeGateway, deliver
from tests.support.sponsors import error_code, fund, make_sponsor, member_of, pay_topup

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


def test_a_paid_top_up_credits_the_wallet_once(client, fake, commits, now):
    sponsor = make_sponsor()
    member = member_of(client, sponsor)
    response = member.post("/sponsor/topups", {"amount_fen": 200_000, "method": "alipay"})
    assert response.status_code == 201, response.content
    started = response.json()
    assert started["ref"].startswith("ST") and started["pay_url"].startswith("http://gateway.test/")
    assert Payment.objects.get(reference=started["ref"]).purpose == "SPONSOR_TOPUP"
    assert member.get("/sponsor/wallet").json()["balance_fen"] == 0
    topup = SponsorTopUp.objects.get(ref=started["ref"])
    note = pay_topup(fake, topup, at=now, commits=commits)
    with commits():
        deliver(note, at=now)  # the gateway repeats itself
    shown = member.get("/sponsor/wallet").json()
    assert shown == {
        "sponsor_id": sponsor.sponsor_id, "balance_fen": 200_000, "balance": "¥2,000.00",
        "held_fen": 0, "held": "¥0.00", "low_balance_fen": 50_000,
    }  # fmt: skip
    topup.refresh_from_db()
    assert (topup.status, topup.credited_fen, topup.paid_at) == ("PAID", 200_000, now)
    assert LedgerTransaction.objects.filter(kind="sponsor.topup").count() == 1
    assert ledger.trial_balance_fen() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount_fen": 9_999, "method": "wechat"}, "topup_amount_out_of_range"),
        ({"amount_fen": 100_000_001, "method": "wechat"}, "topup_amount_out_of_range"),
        ({"amount_fen": 10_000, "method": "cash"}, "invalid_topup_method"),
    ],
)
def test_top_ups_out_of_range_or_with_another_method_are_refused(client, fake, now, body, code):
    response = member_of(client, make_sponsor()).post("/sponsor/topups", body)
    assert response.status_code == 422 and error_code(response) == code
    assert not SponsorTopUp.objects.exists() and not fake.payments


def test_a_top_up_whose_payment_cannot_start_is_failed(client, fake, now):
    fake.faults.extend(["503"] * 10)
    response = member_of(client, make_sponsor()).post(
        "/sponsor/topups", {"amount_fen": 10_000, "method": "wechat"}
    )
    assert response.status_code == 503
    assert SponsorTopUp.objects.get().status == "FAILED"


def test_a_refund_the_gateway_made_by_itself_is_taken_back_from_the_wallet(
    client, fake, commits, now
):
    sponsor = make_sponsor()
    topup = wallet.start_topup(
        sponsor=sponsor, user_id=sponsor.applicant_id, amount_fen=100_000, method="wechat", now=now
    )
    pay_topup(fake, topup, at=now, commits=commits)
    gateway_payment = fake.payments[topup.pay_url.rsplit("/", 1)[1]]
    fake._refund(gateway_payment, {"refund_id": "console_1", "amount_fen": 30_000})
    for _ in range(2):
        with commits():
            deliver(fake.last("refund.succeeded"), at=now)
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 70_000
    assert not UnmatchedRefund.objects.exists()
    assert ledger.trial_balance_fen() == 0


def test_members_are_told_once_per_crossing_below_the_threshold(now):
    sponsor = make_sponsor()
    code = f"liability:sponsor:{sponsor.sponsor_id}"

    def move(fen: int, key: str) -> None:
        legs = [ledger.Leg(code, -fen), ledger.Leg("liability:customer_prepayments", fen)]
        ledger.post(legs=legs, kind="test", key=key)
        sponsor.refresh_from_db()
        wallet.moved(sponsor=sponsor, now=now)

    def told() -> int:
        return Notification.objects.filter(kind="SPONSOR_LOW_BALANCE").count()

    move(100_000, "in")  # ¥1,000: above ¥500
    assert told() == 0
    move(-60_000, "out1")  # ¥400: below
    assert told() == 1
    move(-10_000, "out2")  # still below: nothing more
    assert told() == 1
    move(20_000, "in2")  # ¥500: back at the threshold
    move(-1, "out3")  # below again: told again
    assert told() == 2
    body = Notification.objects.filter(kind="SPONSOR_LOW_BALANCE").order_by("id").last().body
    assert "¥499.99" in body and "¥500.00" in body


def test_the_wholesale_rate_in_force_is_the_latest_started(now):
    assert wallet.wholesale_fen_per_gb(carrier_code="CMCC", at=now) is None
    for days, fen in ((-30, 900), (-1, 800), (5, 700)):
        WholesaleRate.objects.create(
            carrier_code="CMCC", fen_per_gb=fen, valid_from=now + dt.timedelta(days=days)
        )
    assert wallet.wholesale_fen_per_gb(carrier_code="CMCC", at=now) == 800
    assert wallet.wholesale_fen_per_gb(carrier_code="CMCC", at=now + dt.timedelta(days=6)) == 700
    assert wallet.wholesale_fen_per_gb(carrier_code="CTCC", at=now) is None


def test_funding_helper_leaves_the_books_balanced(now):
    sponsor = make_sponsor()
    fund(sponsor, 5_000, key="f")
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 5_000
