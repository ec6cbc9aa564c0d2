"""Usage is rated only when it can be the line's: not before the line opened (less a day) nor
after now (plus a few minutes); amounts, rating groups and dates no column or conversion
holds are refused (422 over the API, INVALID_MSG_FORMAT over Nchf), never a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.charging import domain, usage_cli
from haoka.charging.models import UsageRecord
from haoka.core import clock, schema_types
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
    wallet_fen,
)

PLAN = "CM-MANGO-39"
OPENED = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)
HUGE = 2**63


# ---------------------------------------------------------------- the rule (no database)


@pytest.mark.parametrize(
    "started_at",
    [
        OPENED,
        OPENED - dt.timedelta(hours=23),  # the carrier saw the card before we recorded it
        NOW,
        NOW + dt.timedelta(minutes=4),  # the carrier's clock is a little ahead
        dt.datetime(2026, 5, 5, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    ],
)
def test_usage_within_the_lines_life_is_in_the_window(started_at):
    domain.check_usage_window(started_at=started_at, opened_at=OPENED, now=NOW)


@pytest.mark.parametrize(
    "started_at",
    [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        OPENED - dt.timedelta(days=1, seconds=1),
        NOW + dt.timedelta(minutes=5, seconds=1),
    ],
)
def test_usage_before_the_line_opened_or_in_the_future_is_out_of_the_window(started_at):
    with pytest.raises(domain.UsageOutOfWindow) as refused:
        domain.check_usage_window(started_at=started_at, opened_at=OPENED, now=NOW)
    assert refused.value.code == "usage_out_of_window" and refused.value.status == 422
    assert refused.value.details["started_at"] == started_at.isoformat()


def test_a_naive_start_is_refused_by_the_window_rule():
    with pytest.raises(domain.NaiveDatetime):
        domain.check_usage_window(started_at=dt.datetime(2026, 5, 5), opened_at=OPENED, now=NOW)


# ---------------------------------------------------------------- over the API


def _post(client, token, records):
    return client.post(
        "/api/v1/usage-records",
        data=json.dumps({"records": records}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def _rec(record_id, line, **changes):
    return {
        "record_id": record_id,
        "subscriber": f"msisdn-86{line.msisdn}",
        "service": "data",
        "amount": MB,
        "started_at": NOW.isoformat(),
        **changes,
    }


@pytest.mark.django_db
def test_a_record_dated_2100_is_rejected_as_out_of_window_and_costs_nothing(client, catalog):
    with clock.frozen(NOW, all_threads=True):
        token = charging_token(NOW)
        line = make_line(plan=PLAN, balance_fen=500, now=OPENED)
        records = [
            _rec("w-2100", line, started_at="2100-01-01T00:00:00+08:00"),
            _rec("w-early", line, started_at=(OPENED - dt.timedelta(days=2)).isoformat()),
            _rec("w-ok", line),
        ]
        answer = _post(client, token, records)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["rated"], body["rejected"]) == (1, 2)
    outcomes = {r["record_id"]: (r["status"], r["code"]) for r in body["results"]}
    assert outcomes == {
        "w-2100": ("REJECTED", "usage_out_of_window"),
        "w-early": ("REJECTED", "usage_out_of_window"),
        "w-ok": ("RATED", ""),
    }
    assert list(UsageRecord.objects.values_list("record_id", flat=True)) == ["w-ok"]
    assert wallet_fen(line) == 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", HUGE),
        ("amount", "1000"),
        ("amount", 1000.0),
        ("rating_group", HUGE),
        ("rating_group", 2**32),
        ("started_at", "1970-01-01T00:00:00Z"),
        ("started_at", "0001-01-01T00:00:00+08:00"),
        ("started_at", "9999-12-31T23:59:59-08:00"),
    ],
)
def test_a_record_no_column_or_clock_holds_is_refused_as_invalid_input(
    client, catalog, now, field, value
):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)
    answer = _post(client, token, [_rec("bad", line, **{field: value})])
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["message"]) == ("validation_error", "输入有误")
    assert error["details"]["errors"][0]["loc"][-1] == field
    assert not UsageRecord.objects.exists()


@pytest.mark.django_db
def test_the_csv_feed_rejects_records_of_1970_of_the_year_9999_and_of_huge_amounts(
    tmp_path, catalog, now, capsys
):
    line = make_line(plan=PLAN, now=now)
    path = tmp_path / "cdr.csv"
    path.write_text(
        "record_id,subscriber,service,amount,started_at,rating_group\n"
        f"old,{line.msisdn},data,1,1970-01-01T00:00:00+00:00,\n"
        f"far,{line.msisdn},data,1,9999-12-31T23:59:59-08:00,\n"
        f"big,{line.msisdn},data,{HUGE},2026-05-10T12:00:00+08:00,\n"
        f"rg,{line.msisdn},data,1,2026-05-10T12:00:00+08:00,{HUGE}\n"
        f"ok,{line.msisdn},data,1,2026-05-10T12:00:00+08:00,\n",
        encoding="utf-8",
    )
    assert usage_cli.cli_import(path=str(path), rejects=None) == 1
    assert "已计费 1 条，重复 0 条，拒绝 4 条" in capsys.readouterr().out
    assert list(UsageRecord.objects.values_list("record_id", flat=True)) == ["ok"]


@pytest.mark.django_db
def test_money_given_as_text_or_out_of_range_is_refused_for_a_top_up(client, catalog, now):
    line = make_line(plan=PLAN, now=now)
    from_owner = account_ops._issue_session(user=User.objects.get(pk=line.user_id), now=now).token
    for amount in ("1000", 1000.0, HUGE):
        answer = client.post(
            f"/api/v1/lines/{line.msisdn}/topups",
            data=json.dumps({"amount_fen": amount, "method": "wechat"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {from_owner}"},
        )
        assert answer.status_code == 422, answer.content
        assert answer.json()["error"]["details"]["errors"][0]["loc"][-1] == "amount_fen"


@pytest.mark.django_db
def test_nchf_usage_up_to_uint64_is_accepted_and_capped_and_beyond_it_is_an_invalid_message(
    client, catalog, now
):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)
    unit = data_unit(1003, used=2**64 - 1)  # TS 29.571 Uint64: its largest value is valid
    unit["usedUnitContainer"] *= 3  # each within Uint64, their sum beyond any column
    answer = post(client, BASE, request_body(line, seq=0, units=[unit], at=now), token)
    assert answer.status_code == 201, answer.content
    record = UsageRecord.objects.get(line=line)
    assert record.raw_amount == schema_types.MAX_UNITS  # capped: 8 PiB is no real usage
    beyond = request_body(line, seq=1, units=[data_unit(1003, used=2**64)], at=now)
    answer = post(client, BASE, beyond, token)
    assert answer.status_code == 400 and answer.json()["cause"] == "INVALID_MSG_FORMAT"
    assert UsageRecord.objects.count() == 1
