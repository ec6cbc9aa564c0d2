"""Refunds of top-ups that the gateway made without haoka asking (its merchant console): a
signed ``refund.succeeded`` with a ``refund_id`` haoka never issued. The money has left the
gateway, so it leaves the wallet too when the wallet has it; otherwise the refund is parked
for staff in ``asset:unmatched_refunds``. Either way the books agree: every posting sums to
zero and customer prepayments hold nothing that is not in a wallet (issue 19, item 10)."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.catalog import operations as catalog_ops
from haoka.charging import tariffs, topups
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.models import LedgerTransaction
from haoka.lines.models import Notification
from haoka.payments import gateway
from haoka.payments import operations as payment_ops
from haoka.payments.errors import RefundStillUnmatched
from haoka.payments.models import Payment, Refund, UnmatchedRefund
from tests.support.charging import MB, make_line, wallet_fen
from tests.support.money import FakeGateway, deliver, pay, use_data

pytestmark = pytest.mark.django_db
PAYG = "CT-WUYOU-0"  # no monthly fee, ¥0.03 per MB
_console = itertools.count(1)


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


def balance(code: str) -> int:
    try:
        return ledger.balance_fen(account=code)
    except ledger.UnknownAccount:  # the gateway's account opens with its first payment
        return 0


def assert_books_agree(*lines) -> None:
    """Every posting sums to zero, customer prepayments hold no top-up money that is not in
    a wallet (each credited top-up leaves them at zero), and no wallet is negative."""
    assert ledger.trial_balance_fen() == 0
    assert ledger.unbalanced_transactions() == []
    assert balance(chart.CUSTOMER_PREPAYMENTS) == 0
    for line in lines:
        assert wallet_fen(line) >= 0


def topped_up(fake, line, amount_fen, *, now, commits):
    topup = topups.start_topup(line_id=line.pk, amount_fen=amount_fen, method="wechat", now=now)
    pay(fake, topup, at=now, commits=commits)
    return topup


def console_refund(fake, topup, amount_fen: int) -> dict:
    """Staff of the merchant refund part of the top-up in the gateway's console: the gateway
    pays it back and sends a signed refund.succeeded with a refund_id of its own."""
    gateway_payment = fake.payments[topup.pay_url.rsplit("/", 1)[1]]
    refund_id = f"console_{next(_console)}"
    fake._refund(gateway_payment, {"refund_id": refund_id, "amount_fen": amount_fen})
    return fake.last("refund.succeeded")


def test_a_refund_the_gateway_made_of_a_credited_top_up_is_taken_back_from_the_wallet(
    catalog, fake, commits, now
):
    line = make_line(plan=PAYG, now=now)
    topup = topped_up(fake, line, 2_000, now=now, commits=commits)
    note = console_refund(fake, topup, 1_200)
    with commits():
        deliver(note, at=now)
    assert wallet_fen(line) == 800
    assert_books_agree(line)
    assert balance("asset:gateway:sandbox") == 800
    refund = Refund.objects.get(refund_id=note["refund_id"])
    assert (refund.status, refund.requested_by_haoka, refund.amount_fen) == (
        "SUCCEEDED",
        False,
        1_200,
    )
    assert Payment.objects.get(pk=topup.payment_id).status == "PARTIALLY_REFUNDED"
    assert not UnmatchedRefund.objects.exists()
    assert Notification.objects.filter(line=line, kind="TOPUP_REFUND").count() == 1


def test_the_same_refund_delivered_again_takes_nothing_more(catalog, fake, commits, now):
    line = make_line(plan=PAYG, now=now)
    topup = topped_up(fake, line, 2_000, now=now, commits=commits)
    note = console_refund(fake, topup, 1_200)
    with commits():
        deliver(note, at=now)
    posted = LedgerTransaction.objects.count()
    with commits():
        deliver(note, at=now)  # the same event again
        deliver({**note, "event_id": f"{note['event_id']}-resent"}, at=now)  # a new event id
    assert LedgerTransaction.objects.count() == posted
    assert wallet_fen(line) == 800
    assert Refund.objects.filter(refund_id=note["refund_id"]).count() == 1
    assert Payment.objects.get(pk=topup.payment_id).refunded_fen == 1_200
    assert_books_agree(line)


def test_a_refund_bigger_than_what_the_wallet_has_left_is_parked_for_staff(
    catalog, fake, commits, now
):
    line = make_line(plan=PAYG, now=now)
    topup = topped_up(fake, line, 2_000, now=now, commits=commits)
    use_data(line, 500 * MB, at=now)  # -¥15.00: ¥5.00 left
    note = console_refund(fake, topup, 1_200)
    with commits():
        deliver(note, at=now)
        deliver(note, at=now)
    assert wallet_fen(line) == 500  # the wallet is not driven negative
    assert_books_agree(line)
    assert balance(chart.UNMATCHED_REFUNDS) == 1_200  # money to recover, named
    parked = UnmatchedRefund.objects.get()
    assert (parked.gateway_refund_id, parked.amount_fen, parked.state, parked.reason_code) == (
        note["refund_id"],
        1_200,
        "OPEN",
        topups.NOT_ENOUGH,
    )
    assert Payment.objects.get(pk=topup.payment_id).refunded_fen == 1_200  # it did leave


def test_staff_take_a_parked_refund_back_once_the_wallet_has_the_money(catalog, fake, commits, now):
    line = make_line(plan=PAYG, now=now)
    topup = topped_up(fake, line, 2_000, now=now, commits=commits)
    use_data(line, 500 * MB, at=now)
    with commits():
        deliver(console_refund(fake, topup, 1_200), at=now)
    parked = UnmatchedRefund.objects.get()
    posted = LedgerTransaction.objects.count()
    with pytest.raises(RefundStillUnmatched):
        payment_ops.resolve_unmatched_refund(
            unmatched_id=parked.pk, retry=True, actor="staff:1", now=now
        )
    assert LedgerTransaction.objects.count() == posted  # nothing changed
    topped_up(fake, line, 1_000, now=now, commits=commits)  # ¥15.00 now
    resolved = payment_ops.resolve_unmatched_refund(
        unmatched_id=parked.pk, retry=True, actor="staff:1", note="已联系客户", now=now
    )
    assert (resolved.state, resolved.resolution, resolved.resolved_by) == (
        "RESOLVED",
        "TAKEN_BACK",
        "staff:1",
    )
    assert wallet_fen(line) == 300
    assert balance(chart.UNMATCHED_REFUNDS) == 0
    assert_books_agree(line)


# ---------------------------------------------------------------- the property


def _step():
    return st.one_of(
        st.tuples(st.just("topup"), st.sampled_from([100, 1_000, 2_000])),
        st.tuples(st.just("spend"), st.integers(1, 40)),  # MB, 3 fen each
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 2_000)),
        st.tuples(st.just("again"), st.integers(0, 9)),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_step(), min_size=1, max_size=10))
def test_any_mix_of_top_ups_spends_and_unsolicited_refunds_keeps_the_books_balanced(
    catalog, now, commits, steps
):
    """Top-ups, spending and refunds the gateway makes on its own, in any order and repeated:
    the ledger stays balanced, customer prepayments hold nothing outside a wallet, no wallet
    goes negative, and every refund is either taken back from the wallet or parked."""
    with transaction.atomic():  # each example starts from the same empty books
        _run(steps, now=now, commits=commits)
        transaction.set_rollback(True)


def _run(steps, *, now, commits) -> None:
    fake = FakeGateway()
    line = make_line(plan=PAYG, now=now)
    paid, sent = [], []
    with gateway.overridden(fake.client()):
        for step in steps:
            if step[0] == "topup":
                paid.append(topped_up(fake, line, step[1], now=now, commits=commits))
            elif step[0] == "spend":
                if wallet_fen(line) >= step[1] * 3:
                    use_data(line, step[1] * MB, at=now)
            elif step[0] == "refund" and paid:
                topup = paid[step[1] % len(paid)]
                gateway_payment = fake.payments[topup.pay_url.rsplit("/", 1)[1]]
                left = gateway_payment.amount_fen - gateway_payment.refunded_fen
                if left:
                    sent.append(console_refund(fake, topup, min(step[2], left)))
                    with commits():
                        deliver(sent[-1], at=now)
            elif step[0] == "again" and sent:
                with commits():
                    deliver(sent[step[1] % len(sent)], at=now)
            assert_books_agree(line)
    refunded = sum(n["amount_fen"] for n in sent)
    parked = sum(UnmatchedRefund.objects.values_list("amount_fen", flat=True))
    credited = sum(t.amount_fen for t in paid)
    spent = -balance(chart.USAGE_REVENUE)
    assert wallet_fen(line) == credited - spent - (refunded - parked)
    assert balance(chart.UNMATCHED_REFUNDS) == parked
    assert balance("asset:gateway:sandbox") == credited - refunded


# ---------------------------------------------------------------- races (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_two_refunds_delivered_at_once_never_take_more_than_the_wallet_has(now, commits):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        line = make_line(plan=PAYG, now=now)
        first = topped_up(fake, line, 1_000, now=now, commits=commits)
        second = topped_up(fake, line, 1_000, now=now, commits=commits)
        use_data(line, 100 * MB, at=now)  # ¥17.00 left: room for one ¥10.00 refund, not two
        notes = [console_refund(fake, first, 1_000), console_refund(fake, second, 1_000)]
        barrier = threading.Barrier(6)

        def deliver_one(i: int):
            try:
                barrier.wait(timeout=30)
                deliver(notes[i % 2], at=now)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(deliver_one, range(6)))
    assert wallet_fen(line) == 700
    assert UnmatchedRefund.objects.get().reason_code == topups.NOT_ENOUGH
    assert balance(chart.UNMATCHED_REFUNDS) == 1_000
    assert Refund.objects.count() == 2
    assert_books_agree(line)
    tariffs.forget_cached()
