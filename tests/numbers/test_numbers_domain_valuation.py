"""Tiers, tier prices and the valuation of a number with its Chinese explanation."""

from __future__ import annotations

import pytest

from haoka.numbers import domain
from haoka.numbers.domain import Tier, TierPrice

# ---------------------------------------------------------------- tiers


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (10_140, Tier.S),
        (1500, Tier.S),
        (1499, Tier.A),
        (500, Tier.A),
        (499, Tier.B),
        (200, Tier.B),
        (199, Tier.C),
        (80, Tier.C),
        (79, Tier.D),
        (30, Tier.D),
        (29, Tier.NORMAL),
        (0, Tier.NORMAL),
        (-30, Tier.NORMAL),
    ],
)
def test_a_score_falls_into_the_tier_of_its_threshold(score, tier):
    assert domain.tier_for_score(score=score) is tier


def test_tiers_rank_from_s_best_to_normal_worst_with_chinese_labels():
    assert [t.rank for t in Tier] == [0, 1, 2, 3, 4, 5]
    assert [t.value for t in Tier] == ["S", "A", "B", "C", "D", "N"]
    assert Tier.A.label == "A 级" and Tier.A.title == "A 级靓号"
    assert Tier.NORMAL.label == "普通" and Tier.NORMAL.title == "普通号"


def test_thresholds_are_strictly_descending_from_s_to_d():
    minimums = [minimum for minimum, _ in domain.TIER_THRESHOLDS]
    assert minimums == sorted(minimums, reverse=True)
    assert len(set(minimums)) == len(minimums)
    assert [tier for _, tier in domain.TIER_THRESHOLDS] == [Tier.S, Tier.A, Tier.B, Tier.C, Tier.D]


@pytest.mark.parametrize(
    ("msisdn", "tier"),
    [
        ("13888888888", Tier.S),  # eight eights
        ("13812341234", Tier.S),  # ABCDABCD
        ("13812398888", Tier.A),  # 8888: four-run + 发发发
        ("13800112233", Tier.A),  # AABBCC
        ("13812392222", Tier.B),  # 2222
        ("13819900520", Tier.B),  # a birthday with 520
        ("13800051212", Tier.B),  # ABAB
        ("13800001888", Tier.B),  # 888: 豹子 + 发发发 + no 4
        ("13800001222", Tier.C),  # a plain 豹子
        ("13800000520", Tier.C),
        ("13800001231", Tier.D),  # a month-day without a 4 anywhere
        ("13912345670", Tier.NORMAL),
    ],
)
def test_typical_numbers_land_in_the_expected_tier(msisdn, tier):
    assert domain.classify(msisdn).tier is tier


# ---------------------------------------------------------------- tier prices


def test_every_carrier_has_a_price_for_every_tier():
    assert set(domain.DEFAULT_TIER_PRICES) == {"CMCC", "CUCC", "CTCC", "CBN", "HAOKA"}
    for carrier, table in domain.DEFAULT_TIER_PRICES.items():
        assert set(table) == set(Tier), carrier
        assert all(price.tier is tier for tier, price in table.items()), carrier


def test_a_better_tier_never_costs_less_and_a_normal_number_is_free():
    for carrier, table in domain.DEFAULT_TIER_PRICES.items():
        prices = [table[tier].price_fen for tier in Tier]
        assert prices == sorted(prices, reverse=True), carrier
        assert table[Tier.NORMAL] == TierPrice(Tier.NORMAL, 0, 0, 0)


def test_carriers_price_the_same_tier_differently():
    a_prices = {table[Tier.A].price_fen for table in domain.DEFAULT_TIER_PRICES.values()}
    assert len(a_prices) == len(domain.DEFAULT_TIER_PRICES)


@pytest.mark.parametrize(
    "fields",
    [
        {"price_fen": -1, "min_monthly_fen": 0, "contract_months": 0},
        {"price_fen": 100, "min_monthly_fen": -1, "contract_months": 12},
        {"price_fen": 10.5, "min_monthly_fen": 0, "contract_months": 0},  # never a float
        {"price_fen": True, "min_monthly_fen": 0, "contract_months": 0},
        {"price_fen": 100, "min_monthly_fen": 5800, "contract_months": 0},  # spend, no term
    ],
)
def test_a_malformed_tier_price_is_refused(fields):
    with pytest.raises(domain.InvalidTierPrice) as info:
        TierPrice(tier=Tier.B, **fields)
    assert info.value.code == "invalid_tier_price"


# ---------------------------------------------------------------- valuation


def test_valuation_explains_rules_total_tier_and_price():
    valuation = domain.valuate(
        msisdn="13841238888",  # the 4 keeps NO_FOUR out of this example
        prices=domain.DEFAULT_TIER_PRICES["CMCC"],
        price_source="中国移动靓号价格表",
    )
    assert valuation.explanation == (
        "尾号 8888 为四连号（AAAA），+400 分",
        "尾号 888 谐音“发发发”，+120 分",
        "总分 520，评级 A 级",
        "A 级靓号售价 ¥1,888.00，月最低消费 ¥128.00，合约期 24 个月"
        "（价格来源：中国移动靓号价格表）",
    )
    assert valuation.tier is Tier.A
    assert (valuation.price_fen, valuation.min_monthly_fen, valuation.contract_months) == (
        188_800, 12_800, 24,
    )  # fmt: skip
    assert valuation.location.carrier_code == "CMCC"
    assert valuation.msisdn == "13841238888"


def test_valuation_of_a_penalised_number_shows_the_negative_score():
    valuation = domain.valuate(msisdn="13800005148", prices=domain.DEFAULT_TIER_PRICES["CMCC"])
    assert "尾号 5148 含数字 4，-30 分" in valuation.explanation
    assert "总分 -30，评级 普通" in valuation.explanation


def test_valuation_of_an_ordinary_number_says_so_and_costs_nothing():
    valuation = domain.valuate(msisdn="13912345670", prices=domain.DEFAULT_TIER_PRICES["CUCC"])
    assert valuation.explanation == (
        "未匹配任何靓号规则",
        "总分 0，评级 普通",
        "普通号免费，无最低消费和合约期要求",
    )
    assert valuation.price_fen == 0


def test_valuation_of_a_cheap_tier_has_no_contract_sentence_numbers():
    valuation = domain.valuate(msisdn="13800001222", prices=domain.DEFAULT_TIER_PRICES["CMCC"])
    assert valuation.tier is Tier.C
    assert valuation.explanation[-1] == "C 级靓号售价 ¥88.00，无最低消费和合约期要求"


@pytest.mark.parametrize("carrier", ["CMCC", "CUCC", "CTCC", "CBN", "HAOKA"])
def test_the_price_comes_from_the_table_passed_in(carrier):
    table = domain.DEFAULT_TIER_PRICES[carrier]
    valuation = domain.valuate(msisdn="13812398888", prices=table)
    assert valuation.price_fen == table[Tier.A].price_fen
    assert valuation.min_monthly_fen == table[Tier.A].min_monthly_fen
    assert valuation.contract_months == table[Tier.A].contract_months


def test_a_price_table_without_the_tier_is_refused():
    table = {t: p for t, p in domain.DEFAULT_TIER_PRICES["CMCC"].items() if t is not Tier.A}
    with pytest.raises(domain.MissingTierPrice) as info:
        domain.valuate(msisdn="13812398888", prices=table)
    assert info.value.details == {"tier": "A"}


def test_a_price_row_filed_under_the_wrong_tier_is_refused():
    table = dict(domain.DEFAULT_TIER_PRICES["CMCC"])
    table[Tier.A] = table[Tier.S]
    with pytest.raises(domain.MissingTierPrice):
        domain.valuate(msisdn="13812398888", prices=table)


def test_valuating_an_invalid_number_is_refused():
    with pytest.raises(domain.InvalidMsisdn):
        domain.valuate(msisdn="12345678888", prices=domain.DEFAULT_TIER_PRICES["CMCC"])
