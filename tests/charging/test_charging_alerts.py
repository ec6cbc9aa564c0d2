"""Alerts to the owner, each once: data at 80% and 100% of a bucket (raised when usage is
committed, offline or online), a low balance, a pack about to expire; and the charging jobs
the worker schedules."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import alerts, operations, packs, tasks
from haoka.charging.models import Bucket
from haoka.core import ledger, worker
from haoka.core.models import AccountKind
from haoka.lines.models import Line, Notification
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.money import set_plan, use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"
PAYG = "CT-WUYOU-0"  # ¥0.03 per MB


@pytest.fixture
def small_plan(catalog):
    set_plan(PLAN, general_data_bytes=100 * MB)


def kinds(line) -> list[str]:
    return list(
        Notification.objects.filter(line=line).order_by("id").values_list("kind", flat=True)
    )


def test_data_alerts_fire_at_80_and_100_percent_of_a_bucket_each_once(small_plan, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    use_data(line, 79 * MB, at=now)
    assert kinds(line) == []
    use_data(line, 2 * MB, at=now)
    use_data(line, 5 * MB, at=now)
    assert kinds(line) == ["DATA_80"]
    notice = Notification.objects.get(line=line)
    assert notice.key.startswith("data80:") and "80%" in notice.title and notice.sms_sent
    assert "剩余19.0MB" in notice.body
    use_data(line, 14 * MB, at=now)
    use_data(line, 1 * MB, at=now)
    assert kinds(line) == ["DATA_80", "DATA_100"]
    assert Bucket.objects.get(line=line, label="套餐通用流量").alerted_pct == 100


def test_a_bucket_used_up_at_once_sends_only_the_100_percent_alert(small_plan, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    use_data(line, 150 * MB, at=now)
    assert kinds(line) == ["DATA_100"]


def test_usage_committed_by_an_online_session_raises_the_alert(client, small_plan, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    token = charging_token(now)
    body = request_body(line, seq=0, units=[data_unit(1003, request=90 * MB)], at=now)
    created = post(client, BASE, body, token)
    assert kinds(line) == []  # held, not used
    ref = created["Location"].rsplit("/", 1)[1]
    body = request_body(line, seq=1, units=[data_unit(1003, used=85 * MB)], at=now)
    assert post(client, f"{BASE}/{ref}/release", body, token).status_code == 204
    assert kinds(line) == ["DATA_80"]


def test_pack_data_alerts_but_voice_and_daily_rental_allowances_do_not(catalog, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    pack = packs.buy(line_id=line.pk, pack_code="PK-DATA-1G-1D", now=now)
    use_data(line, 900 * MB, at=now)
    bucket = Bucket.objects.get(origin=f"pack:{pack.pk}")
    assert [n.key for n in Notification.objects.filter(line=line)] == [f"data80:{bucket.pk}"]
    call = operations.RecordIn("call-1", line.msisdn, "voice", 100 * 60, now)
    assert operations.rate_records(records=[call], now=now)[0].status == "RATED"
    assert Bucket.objects.get(line=line, unit="SECONDS").used == 100 * 60  # all of it
    daily = make_line(plan="CU-MAYI-RIZU", balance_fen=10_000, now=now)
    use_data(daily, 1024 * MB, at=now)  # the whole 1 GB of the day's rental
    assert kinds(line) == ["DATA_80"] and kinds(daily) == []


def test_a_low_balance_is_told_once_per_drop_below_five_yuan(catalog, now):
    line = make_line(plan=PAYG, balance_fen=600, now=now)
    use_data(line, 30 * MB, at=now)  # ¥6.00 -> ¥5.10
    assert kinds(line) == []
    use_data(line, 10 * MB, at=now)  # -> ¥4.80
    use_data(line, 10 * MB, at=now)  # -> ¥4.50
    assert kinds(line) == ["LOW_BALANCE"]
    assert "¥4.80" in Notification.objects.get(line=line).body
    assert alerts.low_balances(now=now) == 0  # the daily sweep knows it was told
    _credit(line, 300)  # a top-up: ¥7.50
    use_data(line, 100 * MB, at=now)  # -> ¥4.50 again: a new drop
    assert kinds(line) == ["LOW_BALANCE", "LOW_BALANCE"]


def _credit(line, fen: int) -> None:
    ledger.open_account(code="equity:test", name="test", kind=AccountKind.EQUITY)
    wallet = f"liability:wallet:line:{line.pk}"
    ledger.post(legs=[ledger.Leg("equity:test", fen), ledger.Leg(wallet, -fen)], kind="test")


def test_the_daily_sweep_tells_lines_already_low_once_and_leaves_closed_lines_alone(catalog, now):
    low = make_line(plan=PLAN, balance_fen=100, now=now)
    fine = make_line(plan=PLAN, balance_fen=5000, now=now)
    closed = make_line(plan=PLAN, balance_fen=0, now=now)
    Line.objects.filter(pk=closed.pk).update(status="CLOSED")
    assert alerts.low_balances(now=now) == 1
    assert alerts.low_balances(now=now + dt.timedelta(days=1)) == 0
    assert (kinds(low), kinds(fine), kinds(closed)) == (["LOW_BALANCE"], [], [])


def test_packs_ending_within_three_days_with_something_left_are_told_once(catalog, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    day = packs.buy(line_id=line.pk, pack_code="PK-DATA-1G-1D", now=now)  # ends tonight
    packs.buy(line_id=line.pk, pack_code="PK-DATA-30G-30D", now=now)  # ends in 30 days
    used_up = packs.buy(line_id=line.pk, pack_code="PK-VOICE-100-M", now=now)
    Bucket.objects.filter(origin=f"pack:{used_up.pk}").update(used=100 * 60)
    assert alerts.expiring_packs(now=now) == 1  # the month's voice pack ends in 21 days anyway
    notice = Notification.objects.get(line=line, kind="PACK_EXPIRING")
    assert notice.key == f"pack_expiring:{Bucket.objects.get(origin=f'pack:{day.pk}').pk}"
    assert "05月11日 00:00" in notice.body
    assert alerts.expiring_packs(now=now + dt.timedelta(hours=1)) == 0


def test_the_charging_jobs_are_scheduled_and_run(catalog, now):
    jobs = {job.name: job for job in worker.PERIODIC}
    assert jobs["charging.expire_sessions"].every == dt.timedelta(seconds=60)
    assert jobs["charging.run_cycles"].task == "haoka.charging.tasks.run_cycles"
    assert jobs["charging.daily"].every == dt.timedelta(days=1)

    make_line(plan=PLAN, balance_fen=100, now=now)
    assert tasks.run_cycles.enqueue().return_value == {"lines": 0, "months": 0, "failed": 0}
    daily = tasks.daily.enqueue().return_value
    assert daily["low_balance"] == 1 and daily["suspended"] == 0
    assert tasks.expire_sessions.enqueue().return_value == 0
