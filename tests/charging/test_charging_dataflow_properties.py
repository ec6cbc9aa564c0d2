"""Property tests (hypothesis) of 流量控 on the database: whatever sequence of gifts (either
way), deposits, withdrawals, usage, reversals, repeats and expiry two lines go through, bytes
are conserved (buckets + banks + expired + lapsed = what the plans granted), a repeated request
changes nothing, a refusal changes nothing, no bucket goes below zero, each bank's ledger
balance is what its lots hold and the BYTES ledger balances."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging import databank, gifts, movements
from haoka.charging.models import Bucket, DataBankLot, DataGift, DataMovement
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.errors import HaokaError
from tests.support.charging import MB, make_line
from tests.support.money import use_data
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
#: Apart enough that the step-up limits (one code a minute, five an hour) never refuse a gift.
STEP = dt.timedelta(minutes=13)
REFUSALS = (
    movements.NotEnoughData,
    movements.MonthlyLimitReached,
    movements.BankEmpty,
    movements.GiftStateConflict,
)

who = st.integers(0, 1)
mb = st.integers(100, 8000)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("gift"), who, mb),
        st.tuples(st.just("deposit"), who, mb),
        st.tuples(st.just("withdraw"), who, mb),
        st.tuples(st.just("use"), who, st.integers(1, 30_000)),
        st.tuples(st.just("reverse")),
        st.tuples(st.just("repeat")),
    ),
    max_size=10,
)


def _snapshot(lines) -> tuple:
    ids = [line.pk for line in lines]
    buckets = Bucket.objects.filter(line_id__in=ids, unit="BYTES").order_by("id")
    return (
        list(buckets.values_list("id", "amount", "moved_out", "used", "reserved")),
        list(DataBankLot.objects.order_by("id").values_list("id", "remaining")),
        DataMovement.objects.count(),
        list(DataGift.objects.order_by("id").values_list("id", "state")),
    )


def _bank(line) -> int:
    return databank.balance_bytes(line_id=line.pk)


def _conserved(lines) -> int:
    ids = [line.pk for line in lines]
    on_buckets = Bucket.objects.filter(line_id__in=ids, unit="BYTES").aggregate(s=Sum("amount"))
    lapsed = DataMovement.objects.aggregate(s=Sum("lapsed"))["s"] or 0
    expired = -ledger.balance_fen(account=chart.DATA_BANK_EXPIRED)
    return on_buckets["s"] + sum(_bank(line) for line in lines) + expired + lapsed


def _check(lines, granted: int) -> None:
    assert _conserved(lines) == granted
    assert not Bucket.objects.filter(amount__lt=F("used") + F("reserved")).exists()
    assert not Bucket.objects.filter(used__lt=0).exists()
    for line in lines:
        left = DataBankLot.objects.filter(line_id=line.pk).aggregate(s=Sum("remaining"))["s"]
        assert _bank(line) == (left or 0)
    assert ledger.trial_balance(unit="BYTES") == 0 and ledger.unbalanced_transactions() == []


def _run(step, lines, at, last: dict) -> None:
    kind = step[0]
    if kind == "gift":
        giver, receiver = lines[step[1]], lines[1 - step[1]]
        gift = gifts.ask(
            line_id=giver.pk, user_id=giver.user_id, to_msisdn=receiver.msisdn,
            megabytes=step[2], client_ip="test", now=at,
        )  # fmt: skip
        code = latest_otp(giver.msisdn)
        last["repeat"] = lambda: gifts.confirm(
            gift_id=gift.pk, line_id=giver.pk, user_id=giver.user_id, code=code, now=at
        )
        last["repeat"]()
    elif kind in ("deposit", "withdraw"):
        call = databank.deposit if kind == "deposit" else databank.withdraw
        key = f"k-{at.timestamp()}"
        line_id = lines[step[1]].pk
        last["repeat"] = lambda: call(line_id=line_id, megabytes=step[2], now=at, request_key=key)
        last["repeat"]()
    elif kind == "use":
        use_data(lines[step[1]], step[2] * MB, at=at)
    elif kind == "reverse":
        done = DataGift.objects.filter(state="DONE").order_by("-id").first()
        if done is not None:
            gifts.reverse(gift_id=done.pk, actor="staff:test", now=at)
    elif kind == "repeat" and "repeat" in last:
        before = _snapshot(lines)
        with contextlib.suppress(REFUSALS):
            last["repeat"]()
        assert _snapshot(lines) == before  # a repeated request changes nothing


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps, expire=st.booleans())
def test_bytes_are_conserved_and_every_ledger_balances_whatever_the_owners_do(
    catalog, now, sequence, expire
):
    with transaction.atomic():
        lines = [make_line(plan=PLAN, now=now), make_line(plan=PLAN, now=now)]
        granted = _conserved(lines)
        last: dict = {}
        for i, step in enumerate(sequence):
            at = now + STEP * (i + 1)
            before = _snapshot(lines)
            with clock.frozen(at):
                try:
                    _run(step, lines, at, last)
                except REFUSALS:
                    assert _snapshot(lines) == before  # a refusal changes nothing
                except HaokaError as refused:  # anything else refused is a bug here
                    raise AssertionError(refused.code) from refused
            _check(lines, granted)
        if expire:
            databank.expire_lots(now=now.replace(year=2027, month=6))
            assert sum(_bank(line) for line in lines) == 0
            _check(lines, granted)
        transaction.set_rollback(True)
