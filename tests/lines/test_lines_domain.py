"""Pure rules of a line's self-service: no database, no clock."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.lines import domain
from haoka.lines.domain import LineStateConflict, NotAnUpgrade, PlanTiming, ResumeNotAllowed

D = dt.date
GB = 1024**3


# ---------------------------------------------------------------- plan change


def test_a_plan_change_takes_effect_next_cycle_unless_asked_otherwise():
    timing = domain.plan_change_timing(current_fee_fen=1900, new_fee_fen=3900, now_wanted=False)
    assert timing == PlanTiming.NEXT_CYCLE


def test_an_upgrade_may_take_effect_at_once():
    timing = domain.plan_change_timing(current_fee_fen=1900, new_fee_fen=3900, now_wanted=True)
    assert timing == PlanTiming.NOW


@pytest.mark.parametrize("new_fee", [800, 1900])
def test_a_downgrade_or_a_same_priced_plan_cannot_take_effect_at_once(new_fee):
    with pytest.raises(NotAnUpgrade) as refused:
        domain.plan_change_timing(current_fee_fen=1900, new_fee_fen=new_fee, now_wanted=True)
    assert refused.value.code == "not_an_upgrade" and refused.value.status == 409


def test_an_upgrade_grants_the_growth_of_each_allowance_for_the_days_left():
    granted = domain.prorated_allowances(
        current={"data": 5 * GB, "targeted": 30 * GB, "voice": 0, "sms": 0},
        new={"data": 40 * GB, "targeted": 0, "voice": 6000, "sms": 0},
        days_left=22,
        days_in_month=31,
    )
    assert granted == {"data": 35 * GB * 22 // 31, "voice": 6000 * 22 // 31}


def test_prorated_allowances_round_down_so_nothing_is_granted_twice():
    assert (
        domain.prorated_allowances(
            current={"sms": 0}, new={"sms": 10}, days_left=1, days_in_month=31
        )
        == {}
    )
    assert domain.prorated_allowances(
        current={"sms": 0}, new={"sms": 31}, days_left=1, days_in_month=31
    ) == {"sms": 1}


def test_on_the_first_day_of_the_month_an_upgrade_grants_the_whole_difference():
    granted = domain.prorated_allowances(
        current={"data": GB}, new={"data": 3 * GB}, days_left=30, days_in_month=30
    )
    assert granted == {"data": 2 * GB}


@pytest.mark.parametrize("days_left", [0, 32])
def test_days_left_must_lie_within_the_month(days_left):
    with pytest.raises(ValueError):
        domain.prorated_allowances(current={}, new={}, days_left=days_left, days_in_month=31)


@given(
    current=st.integers(0, 10**12),
    new=st.integers(0, 10**12),
    days_in_month=st.integers(28, 31),
    data=st.data(),
)
def test_a_prorated_grant_never_exceeds_the_full_difference(current, new, days_in_month, data):
    days_left = data.draw(st.integers(1, days_in_month))
    granted = domain.prorated_allowances(
        current={"data": current},
        new={"data": new},
        days_left=days_left,
        days_in_month=days_in_month,
    ).get("data", 0)
    assert 0 <= granted <= max(new - current, 0)


# ---------------------------------------------------------------- suspension


def test_the_owner_lifts_their_own_suspension_but_not_one_for_arrears_or_policy():
    domain.check_resume(status="SUSPENDED", suspend_reason="USER_REQUEST", staff=False)
    for reason in ("ARREARS", "POLICY"):
        with pytest.raises(ResumeNotAllowed) as refused:
            domain.check_resume(status="SUSPENDED", suspend_reason=reason, staff=False)
        assert refused.value.code == "resume_not_allowed"


def test_staff_lift_a_policy_suspension_but_only_a_top_up_lifts_arrears():
    domain.check_resume(status="SUSPENDED", suspend_reason="POLICY", staff=True)
    with pytest.raises(ResumeNotAllowed) as refused:
        domain.check_resume(status="SUSPENDED", suspend_reason="ARREARS", staff=True)
    assert "充值" in refused.value.message


def test_a_line_that_is_not_suspended_cannot_be_resumed():
    with pytest.raises(LineStateConflict):
        domain.check_resume(status="ACTIVE", suspend_reason="", staff=True)


# ---------------------------------------------------------------- contract lock


def test_months_are_added_on_the_same_day_or_the_last_day_of_a_shorter_month():
    assert domain.add_months(D(2026, 3, 1), 12) == D(2027, 3, 1)
    assert domain.add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert domain.add_months(D(2027, 11, 30), 3) == D(2028, 2, 29)
    assert domain.add_months(D(2026, 12, 15), 1) == D(2027, 1, 15)


def test_a_contract_runs_its_months_from_activation_and_ends_on_that_day():
    end = domain.contract_end(activated_on=D(2026, 3, 1), months=24)
    assert end == D(2028, 3, 1)
    assert domain.contract_locked(end=end, today=D(2028, 2, 29))
    assert not domain.contract_locked(end=end, today=D(2028, 3, 1))


def test_without_contract_months_or_activation_nothing_is_locked():
    assert domain.contract_end(activated_on=D(2026, 3, 1), months=0) is None
    assert domain.contract_end(activated_on=None, months=12) is None
    assert not domain.contract_locked(end=None, today=D(2026, 3, 1))


# ---------------------------------------------------------------- porting eligibility


def _checks(**overrides):
    fields = {
        "status": "ACTIVE",
        "verified": True,
        "activated_on": D(2026, 1, 1),
        "today": D(2026, 5, 1),  # 120 days later
        "wallet_fen": 0,
        "contract_end_on": None,
    }
    return domain.porting_checks(**{**fields, **overrides})


def test_a_verified_active_line_of_120_days_without_debt_or_contract_may_port_out():
    checks = _checks()
    assert [c.code for c in checks] == [
        "active",
        "real_name",
        "tenure",
        "no_arrears",
        "no_contract",
    ]
    assert domain.failing(checks) == []


def test_one_day_short_of_120_days_is_too_early():
    failed = domain.failing(_checks(today=D(2026, 4, 30)))
    assert [c.code for c in failed] == ["tenure"] and "已入网 119 天" in failed[0].reason


def test_every_failing_rule_is_listed_with_a_chinese_reason():
    failed = domain.failing(
        _checks(
            status="SUSPENDED",
            verified=False,
            activated_on=D(2026, 4, 1),
            wallet_fen=-1,
            contract_end_on=D(2027, 4, 1),
        )
    )
    assert [c.code for c in failed] == [
        "active",
        "real_name",
        "tenure",
        "no_arrears",
        "no_contract",
    ]
    assert all(c.reason for c in failed) and "2027-04-01" in failed[-1].reason


# ---------------------------------------------------------------- SIM cards


def test_the_luhn_check_digit_matches_the_textbook_example():
    assert domain.luhn_check_digit("7992739871") == "3"
    assert domain.luhn_valid("79927398713")
    assert not domain.luhn_valid("79927398710")


def test_an_iccid_is_20_digits_of_china_the_carriers_network_and_a_luhn_digit():
    iccid = domain.iccid(carrier="CTCC", serial=1234567890123)
    assert len(iccid) == 20 and iccid.startswith("898603") and domain.luhn_valid(iccid)


def test_an_imsi_is_460_the_network_and_ten_digits():
    assert domain.imsi(carrier="CMCC", serial=42) == "460000000000042"


def test_a_carrier_without_a_network_gets_no_card():
    with pytest.raises(domain.UnknownNetwork):
        domain.iccid(carrier="XX", serial=1)


@given(serial=st.integers(0, 10**13 - 1), position=st.integers(0, 19), bump=st.integers(1, 9))
def test_any_single_mistyped_digit_of_an_iccid_is_caught(serial, position, bump):
    iccid = domain.iccid(carrier="CMCC", serial=serial)
    assert domain.luhn_valid(iccid)
    typo = iccid[:position] + str((int(iccid[position]) + bump) % 10) + iccid[position + 1 :]
    assert not domain.luhn_valid(typo)
