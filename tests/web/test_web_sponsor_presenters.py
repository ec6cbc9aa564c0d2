"""The sponsor console's presenters, without a database: the budget gauge, the chart's
series, the campaign form parsed into the use case's arguments, form yuan and months."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core.clock import BEIJING
from haoka.core.errors import HaokaError
from haoka.sponsors.report import Day
from haoka.web.sponsor import presenters as sp


def test_the_gauge_splits_the_budget_into_spent_held_and_free():
    g = sp.gauge(budget_fen=200_00, available_fen=100_00, held_fen=50_00, spent_fen=50_00)
    assert (g.spent_pct, g.held_pct, g.used_pct) == (25.0, 25.0, 50)
    assert (g.spent, g.held, g.available, g.budget) == ("¥50.00", "¥50.00", "¥100.00", "¥200.00")


@given(budget=st.integers(0, 10**9), spent=st.integers(0, 10**9), held=st.integers(-10, 10**9))
def test_the_gauge_never_draws_past_its_end(budget, spent, held):
    g = sp.gauge(budget_fen=budget, available_fen=0, held_fen=held, spent_fen=spent)
    assert 0 <= g.spent_pct <= 100
    assert g.held_pct >= 0
    assert g.spent_pct + g.held_pct <= 100.05


def test_the_chart_has_a_series_per_campaign_with_zero_on_quiet_days():
    days = sp.days_back(dt.date(2026, 3, 10), 3)
    assert days == [dt.date(2026, 3, 8), dt.date(2026, 3, 9), dt.date(2026, 3, 10)]
    row = Day(dt.date(2026, 3, 9), 2, 2, 200 * 2**20, 150 * 2**20, 75)
    chart = sp.chart({"抖音免流 · 抖音": [row], "快手 · 快手": []}, days=days)
    assert chart["days"] == ["03-08", "03-09", "03-10"]
    first, second = chart["campaigns"]
    assert (first["mb"], first["lines"], first["spend_fen"]) == (
        [0, 150.0, 0],
        [0, 2, 0],
        [0, 75, 0],
    )
    assert second["spend_fen"] == [0, 0, 0] and not chart["empty"]
    assert (chart["total_data"], chart["total_spend"]) == ("150M", "¥0.75")


def test_the_campaign_form_becomes_fen_and_beijing_instants():
    args = sp.campaign_args({
        "name": " 抖音免流 ", "budget": "1000.5", "price": "4.5",
        "valid_from": "2026-03-10", "valid_to": "2026-03-31", "apps": ["1006", "1007"],
        "cap_mb": "1024", "eligibility": "provinces", "eligibility_list": "广东，浙江",
    })  # fmt: skip
    assert args["name"] == "抖音免流" and args["kind"] == "APP_FREE_FLOW"
    assert (args["budget_fen"], args["price_fen_per_gb"]) == (1000_50, 450)
    assert args["valid_from"] == dt.datetime(2026, 3, 10, tzinfo=BEIJING)
    assert args["valid_to"] == dt.datetime(2026, 4, 1, tzinfo=BEIJING)  # the last day included
    assert args["rating_groups"] == [1006, 1007] and args["per_line_cap_mb"] == 1024
    assert args["eligibility"] == {"provinces": ["广东", "浙江"]}


@pytest.mark.parametrize(
    "change",
    [{"valid_from": "3/10"}, {"cap_mb": "-1"}, {"budget": "abc"}, {"apps": ["抖音"]},
     {"price": "1e3"}],
)  # fmt: skip
def test_a_bad_campaign_form_is_a_named_error(change):
    form = {"name": "x", "budget": "10", "price": "5", "valid_from": "2026-03-10",
            "valid_to": "2026-03-31", "apps": ["1006"], "cap_mb": "1", "eligibility": "all",
            **change}  # fmt: skip
    with pytest.raises(HaokaError):
        sp.campaign_args(form)


def test_form_yuan_and_months():
    assert [sp.plain_yuan(f) for f in (150000, 12345, 5)] == ["1500", "123.45", "0.05"]
    assert sp.month_of("2026-03") == dt.date(2026, 3, 1)
    assert [sp.month_of(t) for t in ("2026-3", "2026-13", "1999-01", "x")] == [None] * 4
    assert sp.eligibility_text({"plans": ["A", "B"]}) == "套餐：A、B"


def test_the_last_day_typed_is_the_last_day_shown():
    end = sp.end_of("2026-03-31")
    assert end == dt.datetime(2026, 4, 1, tzinfo=BEIJING)
    assert sp.last_day(end) == dt.date(2026, 3, 31)
