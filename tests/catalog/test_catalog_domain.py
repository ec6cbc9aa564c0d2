"""Pure catalog rules: where a plan may ship, to whom, and how it reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.catalog import domain
from haoka.catalog.domain import GB, MB


@pytest.mark.parametrize(
    "forbidden, sale, province, city, allowed",
    [
        ([], [], "广东", "深圳", True),
        (["新疆"], [], "新疆维吾尔自治区", "乌鲁木齐", False),
        (["新疆"], [], "广东省", "深圳市", True),
        (["广东/揭阳"], [], "广东", "揭阳市", False),
        (["广东/揭阳"], [], "广东", "深圳", True),
        ([], ["浙江", "江苏"], "浙江省", "杭州", True),
        ([], ["浙江", "江苏"], "广东", "广州", False),
        (["浙江/温州"], ["浙江"], "浙江", "温州", False),
    ],
)
def test_a_plan_ships_only_inside_its_sale_regions_and_never_to_forbidden_ones(
    forbidden, sale, province, city, allowed
):
    verdict = domain.region_verdict(
        sale_regions=sale, forbidden_regions=forbidden, province=province, city=city
    )
    assert verdict.allowed is allowed
    assert (verdict.reason == "") is allowed


def test_a_refusal_names_the_forbidden_region():
    verdict = domain.region_verdict(
        sale_regions=[], forbidden_regions=["西藏"], province="西藏自治区", city="拉萨"
    )
    assert "西藏" in verdict.reason and "禁发区" in verdict.reason


@pytest.mark.parametrize("age, allowed", [(15, False), (16, True), (60, True), (61, False)])
def test_age_limits_are_inclusive(age, allowed):
    assert domain.age_allowed(age=age, min_age=16, max_age=60) is allowed


@pytest.mark.parametrize(
    "num_bytes, text",
    [(0, "0"), (100 * GB, "100G"), (int(1.5 * GB), "1.5G"), (500 * MB, "500M"), (30 * GB, "30G")],
)
def test_data_sizes_read_the_way_plans_are_written(num_bytes, text):
    assert domain.format_data(num_bytes) == text


def test_a_compare_row_marks_the_best_value_and_nothing_when_all_are_equal():
    assert domain.compare_row([1900, 2900, 1900], higher_is_better=False) == [True, False, True]
    assert domain.compare_row([70, 125, 30], higher_is_better=True) == [False, True, False]
    assert domain.compare_row([5, 5, 5], higher_is_better=True) == [False, False, False]


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=3))
def test_the_marked_value_is_never_beaten(values):
    marks = domain.compare_row(values, higher_is_better=True)
    for value, best in zip(values, marks, strict=True):
        if best:
            assert value == max(values)


def test_there_are_31_mainland_provinces_without_suffixes():
    assert len(domain.PROVINCES) == 31 == len(set(domain.PROVINCES))
    assert not any(p.endswith(("省", "市", "自治区")) for p in domain.PROVINCES)
