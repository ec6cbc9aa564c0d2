"""The hot path of charging: statements sent together (one round trip on PostgreSQL), prepared
only where charging asks, sessions' owners remembered, and the per-record shortcuts of offline
rating (the Beijing day of a record, the revenue account opened on first use) giving the same
results as the long way."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_UP, Decimal, localcontext

import pytest
from django.db import DatabaseError, connection, transaction

from haoka.charging import domain, operations
from haoka.charging import online_store as store
from haoka.charging.models import UsageRecord
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.models import LedgerAccount
from tests.support.charging import BASE, charging_token, data_unit, make_line, post, request_body

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"
VIDEO = 1003


def _pg() -> bool:
    return connection.vendor == "postgresql"


def test_statements_run_together_answer_each_with_its_own_rows_in_order():
    rows = store.run_together(
        [
            ("SELECT 1 + %s", [1]),
            ("UPDATE charging_bucket SET used = used WHERE id = %s", [-1]),
            ("SELECT 'x' WHERE 1 = %s", [0]),
        ]
    )
    assert rows == [[(2,)], None, []]
    assert store.run_together([]) == []


def test_a_failing_statement_run_together_raises_the_error_as_django_names_it():
    with pytest.raises(DatabaseError), transaction.atomic():
        store.run_together([("SELECT 1", []), ("SELECT * FROM no_such_table", [])])


def test_charging_statements_are_prepared_and_other_queries_are_left_as_django_set_them():
    if not _pg():
        pytest.skip("prepared statements are PostgreSQL's")
    raw = connection.connection
    before = raw.prepare_threshold
    statement = ("SELECT count(*) FROM charging_bucket WHERE id = %s", [-7])
    for _ in range(3):
        store.run_together([statement])
    assert raw.prepare_threshold == before  # Django's choice (no preparing) for the rest
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%charging_bucket WHERE id = $1%"],
        )
        assert cur.fetchone()[0] == 1


def test_a_sessions_line_and_caller_are_looked_up_once_and_remembered(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)
    body = request_body(line, seq=0, units=[data_unit(VIDEO, request=1024)], at=now)
    ref = post(client, BASE, body, token)["Location"].rsplit("/", 1)[1]
    store._owners.clear()
    owner = store.session_owner(ref)
    assert owner[0] == line.pk
    assert store._owners[ref] == owner
    assert store.session_owner("0" * 24) is None  # an unknown ref is not remembered
    assert "0" * 24 not in store._owners


def test_a_follow_up_from_another_caller_is_refused_even_when_its_owner_is_remembered(
    client, catalog, now
):
    token, other = charging_token(now), charging_token(now)
    line = make_line(plan=PLAN, now=now)
    body = request_body(line, seq=0, units=[data_unit(VIDEO, request=1024)], at=now)
    ref = post(client, BASE, body, token)["Location"].rsplit("/", 1)[1]
    update = request_body(line, seq=1, units=[data_unit(VIDEO, used=10)], at=now)
    refused = post(client, f"{BASE}/{ref}/update", update, other)
    assert refused.status_code == 404
    assert refused.json()["cause"] == "CHARGING_DATA_REF_NOT_FOUND"
    assert post(client, f"{BASE}/{ref}/update", update, token).status_code == 200


def _voice(record_id: str, line, at: dt.datetime) -> operations.RecordIn:
    return operations.RecordIn(
        record_id=record_id, subscriber=line.msisdn, service="voice", amount=61, started_at=at
    )


def test_wallet_debits_post_to_the_usage_revenue_account_the_migrations_opened(catalog, now):
    assert LedgerAccount.objects.filter(code=chart.USAGE_REVENUE, cached_balance=False).exists()
    line = make_line(plan=PLAN, balance_fen=500, now=now)
    before_plan = now - dt.timedelta(hours=1)  # the plan's allowances start at ``now``
    out = operations.rate_records(records=[_voice("v-1", line, before_plan)], now=now)
    assert [(o.status, o.wallet_fen) for o in out] == [("RATED", 20)]  # 2 minutes at ¥0.10
    out = operations.rate_records(records=[_voice("v-2", line, before_plan)], now=now)
    assert [(o.status, o.wallet_fen) for o in out] == [("RATED", 20)]
    assert ledger.balance_fen(account=chart.USAGE_REVENUE) == -40
    assert ledger.trial_balance_fen() == 0


def test_records_either_side_of_beijing_midnight_count_for_their_own_day(catalog, now):
    line = make_line(plan=PLAN, balance_fen=500, now=now)
    midnight = dt.datetime(2026, 5, 9, 16, 0, tzinfo=dt.UTC)  # 00:00 on 10 May in Beijing
    ats = [midnight - dt.timedelta(seconds=1), midnight, midnight + dt.timedelta(hours=3)]
    records = [_voice(f"m-{i}", line, at) for i, at in enumerate(ats)]
    operations.rate_records(records=records, now=now)
    days = dict(UsageRecord.objects.filter(line=line).values_list("record_id", "beijing_date"))
    assert days == {
        "m-0": dt.date(2026, 5, 9),
        "m-1": dt.date(2026, 5, 10),
        "m-2": dt.date(2026, 5, 10),
    }


def test_money_arithmetic_does_not_depend_on_the_callers_decimal_context():
    price = Decimal("0.4883") / 1024
    expected = (
        domain.split_fen(steps=12345, price=price, carry=Decimal("0.5")),
        domain.affordable_steps(price=price, carry=Decimal("0.25"), available_fen=77, wanted=10**6),
    )
    with localcontext(prec=3, rounding=ROUND_UP):
        assert (
            domain.split_fen(steps=12345, price=price, carry=Decimal("0.5")),
            domain.affordable_steps(
                price=price, carry=Decimal("0.25"), available_fen=77, wanted=10**6
            ),
        ) == expected
    fen, carry = expected[0]
    assert fen + carry == 12345 * price + Decimal("0.5")
