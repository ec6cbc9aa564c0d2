"""Offline usage records: rated by the same engine, idempotent by record id, rejected records
returned with reasons; the CSV import and re-rating a period."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.catalog.models import Plan
from haoka.charging import rerate, tariffs, usage_cli
from haoka.charging.models import Bucket, UsageRecord
from haoka.core import clock, ledger
from tests.support.charging import MB, charging_token, left, make_line, wallet_fen

pytestmark = pytest.mark.django_db
DAILY_PLAN = "CU-MAYI-RIZU"  # no allowance; ¥1 buys 1 GB for the Beijing day; 支付宝 (1013) free
PLAN = "CM-MANGO-39"
ALIPAY = 1013


def _post(client, token, records):
    return client.post(
        "/api/v1/usage-records",
        data=json.dumps({"records": records}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def _rec(record_id, line, amount, at, *, service="data", rg=None):
    return {
        "record_id": record_id,
        "subscriber": f"msisdn-86{line.msisdn}",
        "service": service,
        "amount": amount,
        "started_at": at.isoformat(),
        "rating_group": rg,
    }


def test_a_batch_is_rated_and_sending_it_again_changes_nothing(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan=PLAN, balance_fen=500, now=now)
    records = [
        _rec("cdr-1", line, 3 * MB, now),
        _rec("cdr-2", line, 61, now, service="voice"),
        _rec("cdr-3", line, 2, now, service="sms"),
        _rec("cdr-4", line, 10, now, service="fax"),
        {**_rec("cdr-5", line, 10, now), "subscriber": "msisdn-8613000000000"},
    ]
    first = _post(client, token, records)
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["rated"], body["duplicates"], body["rejected"]) == (3, 0, 2)
    reasons = {r["record_id"]: r["reason"] for r in body["results"] if r["status"] == "REJECTED"}
    assert "fax" in reasons["cdr-4"] and "在网线路" in reasons["cdr-5"]
    assert left(line, "套餐语音") == 100 * 60 - 120  # 61 s is two started minutes
    assert wallet_fen(line) == 500 - 20  # 2 SMS at ¥0.10 (the plan has no SMS allowance)
    again = _post(client, token, records).json()
    assert (again["rated"], again["duplicates"], again["rejected"]) == (0, 3, 2)
    assert wallet_fen(line) == 480 and UsageRecord.objects.filter(line=line).count() == 3
    assert ledger.trial_balance_fen() == 0


def test_a_batch_over_a_thousand_records_is_refused_whole(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)
    records = [_rec(f"big-{i}", line, 1, now) for i in range(1001)]
    response = _post(client, token, records)
    assert response.status_code == 422 and not UsageRecord.objects.exists()


def test_usage_records_need_the_charging_scope(client, catalog, now):
    line = make_line(plan=PLAN, now=now)

    consumer = account_ops._issue_session(user=User.objects.get(pk=line.user_id), now=now).token
    assert _post(client, consumer, [_rec("x", line, 1, now)]).status_code == 403
    assert client.post("/api/v1/usage-records", data="{}", content_type="application/json")\
        .status_code == 401  # fmt: skip


def test_daily_rental_is_bought_once_per_beijing_day_on_first_data_use(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan=DAILY_PLAN, balance_fen=1000, now=now)
    late = now.replace(hour=15, minute=30)  # 23:30 Beijing, same day
    next_day = now + dt.timedelta(days=1)
    with clock.frozen(next_day, all_threads=True):  # sent once all of them have happened
        body = _post(
            client,
            token,
            [
                _rec("d-1", line, 100 * MB, now),
                _rec("d-2", line, 50 * MB, late),
                _rec("d-3", line, 30 * MB, now, rg=ALIPAY),  # zero-rated: no rental needed
                _rec("d-4", line, 10 * MB, next_day),
            ],
        ).json()
    assert body["rated"] == 4
    daily = Bucket.objects.filter(line=line, source="DAILY").order_by("valid_from")
    assert [b.used for b in daily] == [150 * MB, 10 * MB]
    assert daily[0].valid_to == dt.datetime(2026, 5, 10, 16, tzinfo=dt.UTC)  # Beijing midnight
    assert wallet_fen(line) == 1000 - 200  # two days at ¥1
    free = UsageRecord.objects.get(record_id="d-3")
    assert (free.free_amount, free.wallet_fen, free.daily_fee_fen) == (30 * MB, 0, 0)


def test_a_late_record_of_a_day_whose_rental_was_bought_later_that_day_draws_from_it(
    client, catalog, now
):
    token = charging_token(now)
    line = make_line(plan=DAILY_PLAN, balance_fen=1000, now=now)
    first = _post(client, token, [_rec("e-1", line, 100 * MB, now)]).json()
    earlier = now - dt.timedelta(hours=2)  # the same Beijing day, reported after
    second = _post(client, token, [_rec("e-0", line, 40 * MB, earlier)]).json()
    assert first["rated"] == second["rated"] == 1
    (daily,) = Bucket.objects.filter(line=line, source="DAILY")
    assert daily.used == 140 * MB
    assert wallet_fen(line) == 1000 - 100  # one rental, nothing at pay-as-you-go rates
    late = UsageRecord.objects.get(record_id="e-0")
    assert (late.wallet_fen, late.daily_fee_fen) == (0, 0)


def test_the_csv_import_rates_good_rows_and_lists_rejected_ones(tmp_path, catalog, now, capsys):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    path = tmp_path / "cdr.csv"
    path.write_text(
        "record_id,subscriber,service,amount,started_at,rating_group\n"
        f"c-1,{line.msisdn},data,{2 * MB},2026-05-10T12:00:00+08:00,\n"
        f"c-2,{line.msisdn},data,not-a-number,2026-05-10T12:00:00+08:00,\n"
        f"c-3,{line.msisdn},sms,1,2026-05-10T12:01:00+08:00,\n"
        f"c-4,13000000000,sms,1,2026-05-10T12:01:00+08:00,\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    assert usage_cli.cli_import(path=str(path), rejects=str(rejects)) == 1
    out = capsys.readouterr().out
    assert "已计费 2 条" in out and "拒绝 2 条" in out
    assert rejects.read_text(encoding="utf-8").count("\n") == 3  # header + two rows
    assert left(line, "套餐通用流量") == 40 * 1024 * MB - 2 * MB
    assert usage_cli.cli_import(path=str(tmp_path / "missing.csv"), rejects=None) == 2


def test_rerating_a_period_after_a_price_fix_gives_back_the_overcharge(client, catalog, now):
    token = charging_token(now)
    Plan.objects.filter(code=PLAN).update(general_data_bytes=0, payg_data_fen_per_mb=Decimal(10))
    tariffs.forget_cached()
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    _post(client, token, [_rec("r-1", line, 20 * MB, now), _rec("r-2", line, 30 * MB, now)])
    assert wallet_fen(line) == 1000 - 500
    Plan.objects.filter(code=PLAN).update(payg_data_fen_per_mb=Decimal(2))  # the right price
    tariffs.forget_cached()
    day = dt.timedelta(days=1)
    done = rerate.rerate_line(line_id=line.pk, start=now - day, end=now + day, now=now)
    assert (done.records, done.fen_before, done.fen_after) == (2, 500, 100)
    assert wallet_fen(line) == 1000 - 100
    assert set(UsageRecord.objects.values_list("version", flat=True)) == {2}
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
    with pytest.raises(rerate.InvalidPeriod):
        rerate.lines_in(start=now, end=now)
