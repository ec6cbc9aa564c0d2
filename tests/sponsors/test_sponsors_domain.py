"""Pure rules of campaigns and slices, without a database: the state machines, eligibility,
the Beijing month and a slice's size."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from haoka.sponsors import domain
from haoka.sponsors.domain import (
    CAMPAIGN_MACHINE,
    MB,
    SLICE_BYTES,
    SPONSOR_MACHINE,
    CampaignStateConflict,
    InvalidCampaign,
)


def test_an_ended_campaign_is_final_and_an_exhausted_one_may_come_back():
    assert CAMPAIGN_MACHINE.final == {domain.CampaignStatus.ENDED}
    CAMPAIGN_MACHINE.check(current="EXHAUSTED", target="ACTIVE")
    with pytest.raises(CampaignStateConflict):
        CAMPAIGN_MACHINE.check(current="ENDED", target="ACTIVE")
    with pytest.raises(CampaignStateConflict):
        CAMPAIGN_MACHINE.check(current="PAUSED", target="EXHAUSTED")


def test_an_approved_sponsor_is_final_and_a_rejected_one_may_apply_again():
    assert SPONSOR_MACHINE.final == {domain.SponsorStatus.APPROVED}
    SPONSOR_MACHINE.check(current="REJECTED", target="PENDING")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ({"all": True}, {"all": True}),
        ({"opted_in": True}, {"opted_in": True}),
        ({"plans": ["B", "A", "A "]}, {"plans": ["A", "B"]}),
        ({"provinces": ["广东"]}, {"provinces": ["广东"]}),
    ],
)
def test_eligibility_is_one_rule_normalized(raw, normal):
    assert domain.check_eligibility(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [{}, {"all": False}, {"all": 1}, {"plans": []}, {"plans": "A"}, {"plans": [1]},
     {"all": True, "plans": ["A"]}, {"vip": True}, [], None],
)  # fmt: skip
def test_malformed_eligibility_is_refused(raw):
    with pytest.raises(InvalidCampaign):
        domain.check_eligibility(raw)


def test_eligibility_decides_by_plan_province_or_opt_in():
    assert domain.eligible({"plans": ["P"]}, plan_code="P", province="", opted_in=False)
    assert not domain.eligible({"plans": ["P"]}, plan_code="Q", province="", opted_in=True)
    assert domain.eligible({"provinces": ["广东"]}, plan_code="Q", province="广东", opted_in=False)
    assert not domain.eligible({"provinces": ["广东"]}, plan_code="Q", province="", opted_in=False)
    assert not domain.eligible({"opted_in": True}, plan_code="Q", province="", opted_in=False)


def test_the_month_ends_at_midnight_beijing():
    late = dt.datetime(2026, 3, 31, 15, 59, tzinfo=dt.UTC)  # 23:59 Beijing, 31 March
    assert domain.month_of(late) == "2026-03"
    assert domain.month_end(late) == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    december = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    assert domain.month_end(december) == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)


def test_a_slice_is_the_least_of_want_a_hundred_megabytes_cap_and_money():
    assert domain.slice_size(want=10**12, cap_left=10**12, affordable=10**12) == SLICE_BYTES
    assert domain.slice_size(want=5 * MB, cap_left=10**12, affordable=10**12) == 5 * MB
    assert domain.slice_size(want=10**12, cap_left=3 * MB, affordable=10**12) == 3 * MB
    assert domain.slice_size(want=10**12, cap_left=10**12, affordable=7) == 7
    assert domain.slice_size(want=10, cap_left=-1, affordable=10) == 0


def test_consecutive_lines_spread_over_every_shard():
    homes = Counter(domain.home_shard(line_id, 16) for line_id in range(1, 1601))
    assert set(homes) == set(range(16)) and max(homes.values()) <= 2 * min(homes.values())


def test_thresholds_at_eighty_and_a_hundred_percent():
    assert domain.thresholds_crossed(budget_fen=1000, available_fen=201) == []
    assert domain.thresholds_crossed(budget_fen=1000, available_fen=200) == ["THRESHOLD_80"]
    assert domain.thresholds_crossed(budget_fen=1000, available_fen=0) == [
        "THRESHOLD_80", "THRESHOLD_100",
    ]  # fmt: skip
