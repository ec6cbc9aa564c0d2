"""The monthly cycle: the pending plan change, the fee (arrears when the wallet cannot pay,
suspension after the grace period), rollover, the new month's grants and the old month's bill,
each month once however often and from however many workers the cycle runs."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.catalog import operations as catalog_ops
from haoka.charging import cycles, tariffs
from haoka.charging.models import Bill, Bucket, ChargingAccount, CycleRun
from haoka.core import clock, ledger
from haoka.core.models import AccountKind
from haoka.lines.models import Line, Notification
from tests.support.charging import GB, make_line, wallet_fen
from tests.support.money import beijing, use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # ¥39, 40 GB, 100 minutes
JUNE = beijing(2026, 6, 1, 0, 5)


def run(at: dt.datetime) -> dict:
    with clock.frozen(at):  # postings are stamped with the clock: the bills read them by time
        return cycles.run_cycles(now=at)


def test_the_new_month_charges_the_fee_rolls_over_data_grants_the_plan_and_bills_may(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    use_data(line, 10 * GB, at=now)
    assert run(JUNE) == {"lines": 1, "months": 1, "failed": 0}
    assert wallet_fen(line) == 1100
    assert ledger.balance_fen(account="revenue:monthly_fees") == -3900
    rollover = Bucket.objects.get(origin=f"rollover:{line.pk}:2026-06")
    assert (rollover.source, rollover.amount) == ("ROLLOVER", 30 * GB)
    assert (rollover.valid_from, rollover.valid_to) == (beijing(2026, 6, 1), beijing(2026, 7, 1))
    june = Bucket.objects.get(origin=f"plan:{line.pk}:2026-06:data")
    assert (june.amount, june.used, june.valid_from) == (40 * GB, 0, beijing(2026, 6, 1))
    assert Bucket.objects.filter(origin=f"plan:{line.pk}:2026-06:voice").exists()
    account = ChargingAccount.objects.get(line=line)
    assert account.cycle_month == dt.date(2026, 6, 1)
    cycle_run = CycleRun.objects.get(line=line)
    assert (cycle_run.month, cycle_run.fee_fen, cycle_run.suspend_at) == (
        dt.date(2026, 6, 1), 3900, None
    )  # fmt: skip
    bill = Bill.objects.get(line=line)
    assert (bill.month, bill.opening_fen, bill.closing_fen) == (dt.date(2026, 5, 1), 0, 5000)
    assert ledger.trial_balance_fen() == 0


def test_a_line_suspended_at_its_owners_request_pays_the_keep_number_fee_not_the_plan(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    Line.objects.filter(pk=line.pk).update(status="SUSPENDED", suspend_reason="USER_REQUEST")
    run(JUNE)
    assert wallet_fen(line) == 5000 - 500  # 停机保号 ¥5, not the ¥39 monthly fee
    assert CycleRun.objects.get(line=line).fee_fen == 500


def test_running_the_cycle_again_or_later_in_the_month_changes_nothing(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    run(JUNE)
    assert run(JUNE) == {"lines": 0, "months": 0, "failed": 0}
    assert run(beijing(2026, 6, 30, 23, 59)) == {"lines": 0, "months": 0, "failed": 0}
    assert cycles.advance_line(line_id=line.pk, now=JUNE) == 0
    assert wallet_fen(line) == 1100 and CycleRun.objects.count() == 1
    assert Bucket.objects.filter(line=line, origin__contains=":2026-06:").count() == 2


def test_a_line_the_cycle_missed_for_months_catches_up_month_by_month(catalog, now):
    line = make_line(plan=PLAN, balance_fen=20_000, now=now)
    assert run(beijing(2026, 8, 3, 9)) == {"lines": 1, "months": 3, "failed": 0}
    months = list(CycleRun.objects.filter(line=line).values_list("month", flat=True))
    assert months == [dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)]
    bills = sorted(Bill.objects.filter(line=line).values_list("month", flat=True))
    assert bills == [dt.date(2026, 5, 1), dt.date(2026, 6, 1), dt.date(2026, 7, 1)]
    assert wallet_fen(line) == 20_000 - 3 * 3900
    # Rollover never rolls again: August gets July's unused plan data only.
    august = Bucket.objects.get(origin=f"rollover:{line.pk}:2026-08")
    assert august.amount == 40 * GB
    assert ChargingAccount.objects.get(line=line).cycle_month == dt.date(2026, 8, 1)


def test_a_pending_plan_change_takes_effect_with_the_new_month(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    Line.objects.filter(pk=line.pk).update(pending_plan_code="CM-HUAKA-19")
    run(JUNE)
    line.refresh_from_db()
    assert (line.plan_code, line.pending_plan_code) == ("CM-HUAKA-19", "")
    assert wallet_fen(line) == 5000 - 1900
    assert Bucket.objects.get(origin=f"plan:{line.pk}:2026-06:data").amount == 5 * GB
    assert Bucket.objects.get(origin=f"plan:{line.pk}:2026-06:targeted").rating_groups
    assert CycleRun.objects.get(line=line).plan_code == "CM-HUAKA-19"
    assert Bill.objects.get(line=line).plan_code == PLAN  # May was on the old plan


def test_a_fee_the_wallet_cannot_pay_is_arrears_and_suspends_after_the_grace_period(catalog, now):
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    run(JUNE)
    assert wallet_fen(line) == -2900
    notice = Notification.objects.get(line=line, kind="ARREARS")
    assert "-¥29.00" in notice.body and notice.sms_sent
    assert CycleRun.objects.get(line=line).suspend_at == JUNE + dt.timedelta(days=3)
    assert cycles.suspend_arrears(now=JUNE + dt.timedelta(days=2, hours=23)) == 0
    assert Line.objects.get(pk=line.pk).status == "ACTIVE"
    assert cycles.suspend_arrears(now=JUNE + dt.timedelta(days=3)) == 1
    line.refresh_from_db()
    assert (line.status, line.suspend_reason) == ("SUSPENDED", "ARREARS")
    assert line.events.last().actor == "charging:arrears"
    assert Notification.objects.filter(line=line, kind="SUSPENDED").count() == 1
    assert cycles.suspend_arrears(now=JUNE + dt.timedelta(days=4)) == 0


def test_a_line_paid_up_within_the_grace_period_is_not_suspended(catalog, now):
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    run(JUNE)
    # Money arrives within the grace period (any credit to the wallet; a top-up in real life).
    ledger.open_account(code="equity:test", name="test", kind=AccountKind.EQUITY)
    wallet = f"liability:wallet:line:{line.pk}"
    ledger.post(legs=[ledger.Leg("equity:test", 2900), ledger.Leg(wallet, -2900)], kind="test")
    assert cycles.suspend_arrears(now=JUNE + dt.timedelta(days=5)) == 0
    assert Line.objects.get(pk=line.pk).status == "ACTIVE"


def test_closed_lines_are_not_cycled(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    Line.objects.filter(pk=line.pk).update(status="CLOSED")
    assert run(JUNE) == {"lines": 0, "months": 0, "failed": 0}
    assert wallet_fen(line) == 5000


def test_a_line_that_cannot_be_cycled_is_left_for_the_next_run_and_holds_up_no_other(catalog, now):
    broken = make_line(plan=PLAN, balance_fen=5000, now=now)
    fine = make_line(plan=PLAN, balance_fen=5000, now=now)
    Line.objects.filter(pk=broken.pk).update(plan_code="GONE-FROM-CATALOG")
    assert run(JUNE) == {"lines": 2, "months": 1, "failed": 1}
    assert ChargingAccount.objects.get(line=broken).cycle_month == dt.date(2026, 5, 1)
    assert (wallet_fen(broken), wallet_fen(fine)) == (5000, 1100)
    assert not CycleRun.objects.filter(line=broken).exists()


# ---------------------------------------------------------------- any number of runs


run_times = st.lists(
    st.tuples(st.integers(0, 4), st.integers(1, 28), st.integers(0, 23)), max_size=7
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(balance=st.integers(0, 30_000), runs=run_times, used_gb=st.integers(0, 45))
def test_any_number_of_cycle_runs_conserves_money_and_opens_each_month_once(
    catalog, now, balance, runs, used_gb
):
    with transaction.atomic():
        line = make_line(plan=PLAN, balance_fen=balance, now=now)
        if used_gb:
            use_data(line, used_gb * GB, at=now)
        spent_on_usage = balance - wallet_fen(line)
        latest = dt.date(2026, 5, 1)
        for months, day, hour in runs:
            month = dt.date(2026 + (5 + months) // 12, (5 + months) % 12 + 1, 1)
            run(beijing(month.year, month.month, day, hour))
            latest = max(latest, month)
        assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
        opened = list(CycleRun.objects.filter(line=line).values_list("month", flat=True))
        expected, month = [], dt.date(2026, 6, 1)
        while month <= latest:
            expected.append(month)
            month = cycles.next_month(month)
        assert opened == expected  # every month once, in order, none twice
        for month in [dt.date(2026, 5, 1), *opened]:
            key = f"plan:{line.pk}:{month:%Y-%m}:data"
            assert Bucket.objects.filter(origin=key).count() == 1
        assert Bill.objects.filter(line=line).count() == len(opened)
        assert wallet_fen(line) == balance - spent_on_usage - 3900 * len(opened)
        fees = ledger.recomputed_balance_fen(account="revenue:monthly_fees")
        assert -fees == 3900 * len(opened)
        assert ChargingAccount.objects.get(line=line).cycle_month == latest
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_concurrent_cycle_runs_open_each_month_once():
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    may = beijing(2026, 5, 10, 12)
    with clock.frozen(may, all_threads=True):
        lines = [make_line(plan=PLAN, balance_fen=5000, now=may) for _ in range(5)]
    at = beijing(2026, 7, 1, 0, 5)
    barrier = threading.Barrier(8)

    def worker(i: int) -> dict:
        try:
            barrier.wait(timeout=30)
            return cycles.run_cycles(now=at)
        finally:
            connections.close_all()

    with clock.frozen(at, all_threads=True), ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    assert sum(r["months"] for r in results) == 5 * 2
    assert CycleRun.objects.count() == 10 and Bill.objects.count() == 10
    assert all(wallet_fen(line) == 5000 - 2 * 3900 for line in lines)
    assert ledger.trial_balance_fen() == 0
