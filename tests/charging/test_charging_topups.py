"""Top-ups: a paid TOPUP payment credits the line's wallet once and lifts an arrears
suspension when the debt is cleared; auto top-up starts a payment (and sends its pay link)
at most once a day when the balance drops below the owner's threshold."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import cycles, topups
from haoka.charging.models import TopUp
from haoka.core import clock, ledger
from haoka.core.models import LedgerTransaction
from haoka.lines import operations as line_ops
from haoka.lines.models import Line, Notification
from haoka.payments import gateway
from haoka.payments.models import Payment
from tests.support.charging import MB, make_line, wallet_fen
from tests.support.money import FakeGateway, beijing, deliver, pay, use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # ¥39 a month
PAYG = "CT-WUYOU-0"  # no monthly fee, ¥0.03 per MB


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


def test_a_paid_top_up_credits_the_wallet_once(catalog, fake, commits, now):
    line = make_line(plan=PLAN, balance_fen=500, now=now)
    topup = topups.start_topup(line_id=line.pk, amount_fen=2000, method="wechat", now=now)
    assert topup.status == "PENDING" and topup.pay_url.startswith("http://gateway.test/pay/")
    assert topup.ref.startswith("TU") and topup.payment_id is not None
    assert wallet_fen(line) == 500  # nothing before the money arrives
    note = pay(fake, topup, at=now, commits=commits)
    topup.refresh_from_db()
    assert (topup.status, topup.credited_fen, topup.paid_at) == ("PAID", 2000, now)
    assert wallet_fen(line) == 2500
    with commits():
        deliver(note, at=now)  # the gateway repeats itself
    topups.payment_received(
        payment_id=topup.payment_id, reference=topup.ref, amount_fen=2000, now=now
    )  # and a receiver run twice
    topup.refresh_from_db()
    assert (wallet_fen(line), topup.credited_fen) == (2500, 2000)
    assert LedgerTransaction.objects.filter(key=f"topup:{topup.payment_id}").count() == 1
    assert Notification.objects.filter(line=line, kind="TOPUP").count() == 1
    assert ledger.trial_balance_fen() == 0


def test_top_ups_outside_one_to_five_thousand_yuan_or_with_another_method_are_refused(
    catalog, fake, now
):
    line = make_line(plan=PLAN, now=now)
    for amount in (99, 500_001, 0, -100):
        with pytest.raises(topups.TopUpAmountOutOfRange):
            topups.start_topup(line_id=line.pk, amount_fen=amount, method="alipay", now=now)
    with pytest.raises(topups.InvalidTopUpMethod):
        topups.start_topup(line_id=line.pk, amount_fen=100, method="cash", now=now)
    assert not TopUp.objects.exists() and not fake.payments
    assert topups.start_topup(line_id=line.pk, amount_fen=500_000, method="ALIPAY", now=now)


def test_a_closed_line_cannot_be_topped_up(catalog, fake, now):
    line = make_line(plan=PLAN, now=now)
    Line.objects.filter(pk=line.pk).update(status="CLOSED")
    with pytest.raises(topups.LineNotRechargeable):
        topups.start_topup(line_id=line.pk, amount_fen=1000, method="wechat", now=now)


def test_a_top_up_whose_payment_cannot_start_is_failed(catalog, fake, now):
    line = make_line(plan=PLAN, now=now)
    fake.faults.extend(["503"] * 10)
    with pytest.raises(gateway.GatewayUnavailable):
        topups.start_topup(line_id=line.pk, amount_fen=1000, method="wechat", now=now)
    assert TopUp.objects.get(line=line).status == "FAILED"


def _in_arrears(line, *, at):
    """Run the June cycle on a wallet that cannot pay the ¥39 fee, then the grace passes."""
    with clock.frozen(at):
        cycles.run_cycles(now=at)
    later = at + dt.timedelta(days=3, hours=1)
    with clock.frozen(later):
        assert cycles.suspend_arrears(now=later) == 1
    line.refresh_from_db()
    assert (line.status, line.suspend_reason) == ("SUSPENDED", "ARREARS")
    return later


def test_a_top_up_resumes_a_line_suspended_for_arrears_only_once_the_debt_is_cleared(
    catalog, fake, commits, now
):
    line = make_line(plan=PLAN, balance_fen=900, now=now)
    later = _in_arrears(line, at=beijing(2026, 6, 1, 0, 5))
    assert wallet_fen(line) == -3000
    with clock.frozen(later):
        small = topups.start_topup(line_id=line.pk, amount_fen=2000, method="wechat", now=later)
        pay(fake, small, at=later, commits=commits)
        line.refresh_from_db()
        assert (line.status, wallet_fen(line)) == ("SUSPENDED", -1000)
        enough = topups.start_topup(line_id=line.pk, amount_fen=1000, method="wechat", now=later)
        pay(fake, enough, at=later, commits=commits)
    line.refresh_from_db()
    assert (line.status, line.suspend_reason, wallet_fen(line)) == ("ACTIVE", "", 0)
    assert line.events.last().actor == f"topup:{enough.ref}"


def test_a_line_its_owner_suspended_stays_suspended_after_a_top_up(catalog, fake, commits, now):
    line = make_line(plan=PLAN, now=now)
    line_ops.change_status(
        line_id=line.pk, to="SUSPENDED", suspend_reason="USER_REQUEST", actor="user", reason="",
        now=now,
    )  # fmt: skip
    topup = topups.start_topup(line_id=line.pk, amount_fen=1000, method="wechat", now=now)
    pay(fake, topup, at=now, commits=commits)
    line.refresh_from_db()
    assert (line.status, wallet_fen(line)) == ("SUSPENDED", 1000)


# ---------------------------------------------------------------- auto top-up


def _auto(line, *, threshold=500, amount=5000, now):
    return topups.set_auto_topup(
        line_id=line.pk, enabled=True, threshold_fen=threshold, amount_fen=amount,
        method="alipay", now=now,
    )  # fmt: skip


def test_auto_top_up_fires_once_a_day_when_usage_drops_the_balance_below_the_threshold(
    catalog, fake, django_capture_on_commit_callbacks, now
):
    line = make_line(plan=PAYG, balance_fen=800, now=now)  # ¥8, 3 fen per MB
    _auto(line, threshold=500, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        use_data(line, 50 * MB, at=now)  # -¥1.50: ¥6.50 left, above the threshold
    assert not TopUp.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        use_data(line, 100 * MB, at=now)  # -¥3.00: ¥3.50, below ¥5
    auto = TopUp.objects.get(line=line)
    assert (auto.kind, auto.amount_fen, auto.method, auto.status) == (
        "AUTO", 5000, "ALIPAY", "PENDING"
    )  # fmt: skip
    assert auto.pay_url.startswith("http://gateway.test/pay/")  # started after commit
    notice = Notification.objects.get(line=line, kind="AUTO_TOPUP")
    assert auto.pay_url in notice.body and notice.sms_sent
    with django_capture_on_commit_callbacks(execute=True):
        use_data(line, 10 * MB, at=now + dt.timedelta(hours=2))
    assert TopUp.objects.filter(line=line).count() == 1  # once a day
    tomorrow = now + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        use_data(line, 10 * MB, at=tomorrow)
    assert TopUp.objects.filter(line=line).count() == 2


def test_a_disabled_or_unset_auto_top_up_never_fires(catalog, fake, now):
    line = make_line(plan=PAYG, balance_fen=100, now=now)
    use_data(line, 10 * MB, at=now)
    topups.set_auto_topup(
        line_id=line.pk, enabled=False, threshold_fen=500, amount_fen=5000, method="wechat",
        now=now,
    )  # fmt: skip
    use_data(line, 10 * MB, at=now)
    assert topups.sweep_auto_topups(now=now) == {"fired": 0, "started": 0}
    assert not TopUp.objects.exists()


def test_the_daily_sweep_fires_for_a_balance_already_low_and_retries_a_failed_start(
    catalog, fake, django_capture_on_commit_callbacks, now
):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    _auto(line, threshold=1000, now=now)
    fake.faults.extend(["503"] * 10)  # the gateway is down when the task first runs
    with django_capture_on_commit_callbacks(execute=True):
        assert topups.sweep_auto_topups(now=now)["fired"] == 1
    auto = TopUp.objects.get(line=line)
    assert (auto.status, auto.payment_id) == ("PENDING", None)
    fake.faults.clear()
    later = now + dt.timedelta(minutes=30)
    assert topups.sweep_auto_topups(now=later) == {"fired": 0, "started": 1}
    auto.refresh_from_db()
    assert auto.payment_id is not None and auto.pay_url


def test_auto_top_up_settings_are_checked(catalog, now):
    line = make_line(plan=PLAN, now=now)
    with pytest.raises(topups.InvalidAutoTopUp):
        _auto(line, threshold=50_001, now=now)
    with pytest.raises(topups.TopUpAmountOutOfRange):
        _auto(line, amount=50, now=now)
    setting = _auto(line, threshold=800, amount=3000, now=now)
    assert (setting.threshold_fen, setting.amount_fen, setting.method) == (800, 3000, "ALIPAY")
    again = _auto(line, threshold=900, amount=3000, now=now)
    assert again.pk == setting.pk and again.threshold_fen == 900


def test_a_top_up_paid_after_its_line_closed_goes_back_to_the_payer(catalog, fake, commits, now):
    line = make_line(plan=PAYG, balance_fen=0, now=now)
    topup = topups.start_topup(line_id=line.pk, amount_fen=3000, method="alipay", now=now)
    Line.objects.filter(pk=line.pk).update(status="CLOSED")  # closed while the payer hesitated
    pay(fake, topup, at=now, commits=commits)  # tasks run at once in tests: the refund too
    topup.refresh_from_db()
    payment = Payment.objects.get(pk=topup.payment_id)
    assert (topup.status, payment.status, payment.refunded_fen) == ("REFUNDED", "REFUNDED", 3000)
    assert wallet_fen(line) == 0 and topup.credited_fen == 0
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
