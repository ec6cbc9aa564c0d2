"""The data bank (流量银行) over the API: deposits of this month's unused plan data and
rollover as lots on the BYTES ledger, withdrawals into a BANK bucket to the end of the month
(oldest lots first), expiry 12 months after a deposit, limits, idempotency."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import databank
from haoka.charging.models import Bucket, DataBankLot, DataMovement
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.lines.models import Line
from tests.support.charging import BASE, GB, MB, charging_token, data_unit, make_line, post
from tests.support.charging import request_body as nchf_body
from tests.support.money import beijing, call, session_token, use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month


@pytest.fixture
def owned(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    return line, session_token(line, now)


def _plan_data(line) -> Bucket:
    return Bucket.objects.get(line=line, origin__endswith=":data", source="PLAN")


def _deposit(client, token, line, megabytes, **headers):
    path = f"/lines/{line.msisdn}/data-bank/deposits"
    return call(client, token, "post", path, {"megabytes": megabytes}, **headers)


def _withdraw(client, token, line, megabytes, **headers):
    path = f"/lines/{line.msisdn}/data-bank/withdrawals"
    return call(client, token, "post", path, {"megabytes": megabytes}, **headers)


def _bank(line) -> int:
    return -ledger.balance_fen(account=chart.data_bank(line_id=line.pk))


def test_a_deposit_moves_plan_data_into_a_lot_and_the_bytes_ledger(client, owned, now):
    line, token = owned
    done = _deposit(client, token, line, 2048)
    assert done.status_code == 201, done.content
    lot = DataBankLot.objects.get(pk=done.json()["id"])
    assert (lot.amount, lot.remaining, lot.expires_at) == (2 * GB, 2 * GB, now.replace(year=2027))
    assert (_plan_data(line).amount, _plan_data(line).moved_out) == (38 * GB, 2 * GB)
    assert _bank(line) == 2 * GB
    assert ledger.trial_balance(unit="BYTES") == 0 and ledger.trial_balance_fen() == 0


def test_a_withdrawal_takes_the_oldest_lot_first_into_a_bank_bucket_to_the_month_end(
    client, owned, now
):
    line, token = owned
    first = _deposit(client, token, line, 1024).json()["id"]
    later = beijing(2026, 5, 13, 12)
    with clock.frozen(later, all_threads=True):
        second = _deposit(client, session_token(line, later), line, 1024)
    taken = _withdraw(client, token, line, 1536)
    assert taken.status_code == 201, taken.content
    remaining = dict(DataBankLot.objects.values_list("pk", "remaining"))
    assert remaining == {first: 0, second.json()["id"]: 512 * MB}
    bucket = Bucket.objects.get(pk=taken.json()["bucket_id"])
    assert (bucket.source, bucket.amount, bucket.valid_to) == (
        "BANK",
        1536 * MB,
        beijing(2026, 6, 1),
    )
    assert _bank(line) == 512 * MB
    use_data(line, 100 * MB, at=now)
    bucket.refresh_from_db()
    assert bucket.used == 100 * MB and _plan_data(line).used == 0  # before plan data


def test_the_statement_shows_balance_lots_and_history(client, owned):
    line, token = owned
    _deposit(client, token, line, 1024)
    _withdraw(client, token, line, 200)
    body = call(client, token, "get", f"/lines/{line.msisdn}/data-bank").json()
    assert (body["balance_bytes"], body["balance"]) == (824 * MB, "824MB")
    assert [lot["remaining_bytes"] for lot in body["lots"]] == [824 * MB]
    assert [m["kind"] for m in body["history"]] == ["WITHDRAWAL", "DEPOSIT"]


def test_a_repeated_key_deposits_and_withdraws_once(client, owned):
    line, token = owned
    first = _deposit(client, token, line, 1024, **{"Idempotency-Key": "d-1"})
    again = _deposit(client, token, line, 1024, **{"Idempotency-Key": "d-1"})
    assert first.json()["id"] == again.json()["id"] and DataBankLot.objects.count() == 1
    lot = databank.deposit(line_id=line.pk, megabytes=1024, now=clock.now(), request_key="d-1")
    assert lot.pk == first.json()["id"]  # also past the API's replay window
    out = _withdraw(client, token, line, 500, **{"Idempotency-Key": "w-1"})
    repeat = databank.withdraw(line_id=line.pk, megabytes=500, now=clock.now(), request_key="w-1")
    assert repeat.pk == out.json()["id"] and Bucket.objects.filter(source="BANK").count() == 1
    assert _bank(line) == 524 * MB


def test_deposits_take_neither_packs_nor_what_sessions_hold(client, owned, now):
    line, token = owned
    use_data(line, 39 * GB, at=now)  # 1 GB of plan data left
    opened = post(
        client, BASE, nchf_body(line, seq=0, units=[data_unit(1003, request=GB)], at=now),
        charging_token(now),
    )  # fmt: skip
    assert opened.status_code == 201, opened.content
    assert _plan_data(line).reserved == GB  # all of it held by the session
    Bucket.objects.create(
        line=line, unit="BYTES", source="PACK", label="包", amount=5 * GB, valid_from=now,
        valid_to=beijing(2026, 6, 1), origin="test:pack",
    )  # fmt: skip
    refused = _deposit(client, token, line, 100)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "data_not_enough"


def test_limits_and_an_empty_bank_answer_stable_codes(client, owned, settings):
    line, token = owned
    settings.DATA_BANK_DEPOSIT_MONTHLY_MAX_MB = 1024
    assert _deposit(client, token, line, 99).json()["error"]["code"] == "data_amount_out_of_range"
    assert _deposit(client, token, line, 1024).status_code == 201
    over = _deposit(client, token, line, 100)
    assert over.status_code == 409 and over.json()["error"]["code"] == "data_monthly_limit"
    empty = _withdraw(client, token, line, 2048)
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "data_bank_not_enough"


def test_a_suspended_line_neither_deposits_nor_withdraws(client, owned):
    line, token = owned
    _deposit(client, token, line, 500)
    Line.objects.filter(pk=line.pk).update(status="SUSPENDED", suspend_reason="ARREARS")
    for answer in (_deposit(client, token, line, 100), _withdraw(client, token, line, 100)):
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "line_not_active"


def test_what_is_left_of_a_lot_expires_twelve_months_after_its_deposit(client, owned, now):
    line, token = owned
    _deposit(client, token, line, 1024)
    _withdraw(client, token, line, 424)
    assert databank.expire_lots(now=now.replace(year=2027) - dt.timedelta(seconds=1)) == 0
    assert databank.expire_lots(now=now.replace(year=2027)) == 1
    assert databank.expire_lots(now=now.replace(year=2027)) == 0  # twice is once
    assert _bank(line) == 0
    assert -ledger.balance_fen(account=chart.DATA_BANK_EXPIRED) == 600 * MB
    expiry = DataMovement.objects.get(kind="BANK_EXPIRY")
    assert (expiry.line_id, expiry.amount) == (line.pk, 600 * MB)
    assert ledger.trial_balance(unit="BYTES") == 0
