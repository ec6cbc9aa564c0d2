"""The first month (首月): a line activated mid-month is charged and granted by the Beijing days
left in the month (the plan texts' 首月月租及流量按天折算), unless the plan says otherwise
(月租折算而额度全量, 全月, 首月免月租, 次月生效); from the next month on, in full."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.accounts.models import User
from haoka.catalog import seed_data
from haoka.catalog.domain import FirstMonth
from haoka.catalog.models import Plan
from haoka.charging import bill_pdf, cycles, domain, queries, tariffs
from haoka.charging.models import Bill, Bucket, CycleRun
from haoka.core import clock, ledger
from haoka.lines import operations as line_ops
from haoka.lines.models import Line
from tests.support.charging import GB, make_line, wallet_fen
from tests.support.money import beijing

PLAN = "CM-MANGO-39"  # ¥39, 40 GB, 100 minutes; its text says nothing else: prorated
DEC_7 = beijing(2026, 12, 7, 10, 0)
_serial = itertools.count(1)

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
amounts = st.integers(min_value=0, max_value=10**15)
steps = st.sampled_from(sorted(set(domain.STEP.values())))


# ---------------------------------------------------------------- the rule


@given(on=days, amount=amounts, step=steps)
def test_a_prorated_fee_or_allowance_never_exceeds_the_months(on, amount, step):
    assert 0 <= domain.prorate(amount, activated_on=on, allowance=False) <= amount
    assert 0 <= domain.prorate(amount, activated_on=on, allowance=True, step=step) <= amount


@given(on=days, amount=amounts, step=steps)
def test_a_line_activated_on_the_first_gets_the_full_month(on, amount, step):
    first = on.replace(day=1)
    assert domain.prorate(amount, activated_on=first, allowance=False) == amount
    assert domain.prorate(amount, activated_on=first, allowance=True, step=step) == amount


@given(on=days, amount=amounts, step=steps)
def test_the_share_shrinks_as_the_month_goes_on_and_rounds_in_the_customers_favour(
    on, amount, step
):
    days_left, month_days = domain.days_left_in_month(on)
    fee = domain.prorate(amount, activated_on=on, allowance=False)
    allowance = domain.prorate(amount, activated_on=on, allowance=True, step=step)
    assert fee * month_days <= amount * days_left <= allowance * month_days  # exact between
    assert fee * month_days > amount * days_left - month_days  # less than a fen below
    assert allowance == amount or allowance % step == 0  # whole steps, or the whole month
    assert allowance * month_days < amount * days_left + step * month_days  # under a step above
    if on.day > 1:
        earlier = on - dt.timedelta(days=1)
        assert fee <= domain.prorate(amount, activated_on=earlier, allowance=False)
        assert allowance <= domain.prorate(amount, activated_on=earlier, allowance=True, step=step)


@given(on=days)
def test_the_last_day_of_the_month_is_one_day_of_it(on):
    month_days = domain.days_left_in_month(on.replace(day=1))[1]
    last = on.replace(day=month_days)
    assert domain.days_left_in_month(last) == (1, month_days)
    assert domain.prorate(month_days * 100, activated_on=last, allowance=False) == 100


def test_seven_december_is_25_of_31_days_fee_rounded_down_and_allowance_up():
    on = dt.date(2026, 12, 7)
    assert domain.days_left_in_month(on) == (25, 31)
    assert domain.prorate(3900, activated_on=on, allowance=False) == 3145  # 3145.16
    assert domain.prorate(6000, activated_on=on, allowance=True) == 4839  # 4838.7 seconds
    assert domain.prorate(6000, activated_on=on, allowance=True, step=60) == 4860  # 81 minutes


def test_a_negative_amount_or_a_step_below_one_is_refused():
    on = dt.date(2026, 12, 7)
    with pytest.raises(domain.InvalidChargingData):
        domain.prorate(-1, activated_on=on, allowance=False)
    with pytest.raises(domain.InvalidChargingData):
        domain.prorate(100, activated_on=on, allowance=True, step=0)


@pytest.mark.parametrize(
    ("rule", "fee", "allowance"),
    [
        (FirstMonth.PRORATED, 3145, 4860),
        (FirstMonth.FEE_PRORATED, 3145, 6000),
        (FirstMonth.FULL, 3900, 6000),
        (FirstMonth.FREE, 0, 6000),
        (FirstMonth.NEXT_MONTH, 0, 0),
    ],
)
def test_each_first_month_term_charges_and_grants_its_own_way(rule, fee, allowance):
    on = dt.date(2026, 12, 7)
    share = domain.first_month(rule=rule, fee_fen=3900, activated_on=on)
    assert (share.fee_fen, share.days, share.month_days) == (fee, 25, 31)
    assert share.allowance(6000, unit=domain.Unit.SECONDS, activated_on=on) == allowance


def test_an_unknown_first_month_term_is_refused_by_name():
    with pytest.raises(domain.UnknownFirstMonth) as caught:
        domain.first_month(rule="HALF", fee_fen=3900, activated_on=dt.date(2026, 12, 7))
    assert caught.value.code == "unknown_first_month"


# ---------------------------------------------------------------- activation and the cycle


def activate(*, plan: str, at: dt.datetime, first_topup_fen: int = 5000) -> Line:
    """A line born from an order at ``at`` (its first top-up credited), as activation does."""
    n = next(_serial)
    user = User.objects.create(username=f"137{n:08d}", phone=f"137{n:08d}")
    with clock.frozen(at):
        return line_ops.open_from_order(
            order_ref=f"HKFIRSTMONTH{n:04d}",
            user_id=user.pk,
            msisdn=f"136{n:08d}",
            carrier_code="CMCC",
            plan_code=plan,
            iccid=f"8986000000001{n:07d}",
            imsi=f"46000{n + 5000:010d}",
            opening_balance_fen=first_topup_fen,
            now=at,
        )


def plan_bucket(line: Line, month: str, kind: str) -> Bucket:
    return Bucket.objects.get(origin=f"plan:{line.pk}:{month}:{kind}")


@pytest.mark.django_db
def test_a_line_activated_on_7_december_pays_and_gets_25_of_31_days_then_the_full_month(
    catalog,
):
    line = activate(plan=PLAN, at=DEC_7)
    assert wallet_fen(line) == 5000 - 3145
    assert ledger.balance_fen(account="revenue:monthly_fees") == -3145
    data, voice = plan_bucket(line, "2026-12", "data"), plan_bucket(line, "2026-12", "voice")
    assert data.amount == -(-40 * GB * 25 // (31 * 1024)) * 1024 and data.amount < 40 * GB
    assert voice.amount == 81 * 60  # 100 minutes × 25/31 = 80.6, rounded up to the minute
    assert (data.valid_from, data.valid_to) == (DEC_7, beijing(2027, 1, 1))
    run = CycleRun.objects.get(line=line)
    assert (run.month, run.fee_fen, run.first_month, run.days, run.month_days) == (
        dt.date(2026, 12, 1), 3145, "PRORATED", 25, 31
    )  # fmt: skip
    seen = queries.first_month_of(line_id=line.pk, month=dt.date(2026, 12, 1))
    assert seen.text == "首月按天折算：25 天 / 31 天" and seen.fee_fen == 3145

    january = beijing(2027, 1, 1, 0, 5)
    with clock.frozen(january):
        cycles.run_cycles(now=january)
        cycles.run_cycles(now=january)  # the cycle charges December no second time
    assert wallet_fen(line) == 5000 - 3145 - 3900
    assert plan_bucket(line, "2027-01", "data").amount == 40 * GB
    december = Bill.objects.get(line=line, month=dt.date(2026, 12, 1))
    assert (december.monthly_fee_fen, december.topups_fen) == (3145, 5000)
    printed = bill_pdf.lines_of(december, msisdn=line.msisdn)
    assert any("-¥31.45" in row and "首月按天折算：25 天 / 31 天" in row for row in printed)
    assert queries.first_month_of(line_id=line.pk, month=dt.date(2027, 1, 1)) is None


@pytest.mark.django_db
def test_the_beijing_month_decides_not_the_utc_one(catalog):
    first = activate(plan=PLAN, at=beijing(2026, 12, 1, 0, 30))  # still 30 November in UTC
    assert wallet_fen(first) == 5000 - 3900
    assert plan_bucket(first, "2026-12", "data").amount == 40 * GB
    last = activate(plan=PLAN, at=beijing(2026, 11, 30, 23, 30))
    assert wallet_fen(last) == 5000 - 130  # ¥39 × 1/30
    assert plan_bucket(last, "2026-11", "voice").amount == 4 * 60  # 100 min × 1/30, rounded up


@pytest.mark.django_db
def test_a_plan_whose_first_month_is_free_or_starts_next_month_charges_nothing_now(catalog):
    Plan.objects.filter(code=PLAN).update(first_month=FirstMonth.FREE)
    tariffs.forget_cached()
    free = activate(plan=PLAN, at=DEC_7)
    assert wallet_fen(free) == 5000 and plan_bucket(free, "2026-12", "data").amount == 40 * GB
    Plan.objects.filter(code=PLAN).update(first_month=FirstMonth.NEXT_MONTH)
    later = activate(plan=PLAN, at=DEC_7)
    assert wallet_fen(later) == 5000
    assert not Bucket.objects.filter(line=later).exists()
    assert queries.first_month_of(line_id=later.pk, month=dt.date(2026, 12, 1)).text.startswith(
        "次月生效"
    )


@pytest.mark.django_db
def test_a_line_brought_over_from_another_system_keeps_its_month_as_it_was(catalog):
    line = make_line(plan=PLAN, balance_fen=5000, now=DEC_7)  # staff: charged elsewhere
    assert wallet_fen(line) == 5000
    assert plan_bucket(line, "2026-12", "data").amount == 40 * GB
    assert not CycleRun.objects.filter(line=line).exists()


def test_every_seeded_plan_text_says_what_its_first_month_term_does():
    for plan in seed_data.PLANS:
        text, rule = plan["description"], plan["first_month"]
        if rule == FirstMonth.FREE:
            assert "首月免月租" in text, plan["code"]
        elif rule == FirstMonth.FEE_PRORATED:
            assert "月租按天折算" in text, plan["code"]
        else:
            assert rule == FirstMonth.PRORATED, plan["code"]
            for other in ("首月免月租", "首月套餐全量", "流量首月全量", "流量全量"):
                assert other not in text, plan["code"]


def test_a_seeded_plan_with_an_unknown_first_month_term_is_reported(monkeypatch):
    bad = [{**seed_data.PLANS[0], "first_month": "HALF"}, *seed_data.PLANS[1:]]
    monkeypatch.setattr(seed_data, "PLANS", tuple(bad))
    assert any("unknown first_month 'HALF'" in p for p in seed_data.validate())
