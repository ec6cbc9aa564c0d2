"""The line pages' presenters: the 剩余额度 summary and 本月已产生费用 (no database)."""

from __future__ import annotations

from types import SimpleNamespace

from haoka.web.line import presenters as lp

GB = 1024**3


def bucket(unit: str, amount: int, remaining: int, rating_groups=()) -> SimpleNamespace:
    return SimpleNamespace(
        unit=unit, amount=amount, remaining=remaining, rating_groups=list(rating_groups)
    )


def test_targeted_data_is_its_own_total_and_never_added_into_the_general_data():
    shown = lp.totals(
        [
            bucket("BYTES", 5 * GB, 3 * GB),
            bucket("BYTES", 30 * GB, 30 * GB, rating_groups=[1003, 1004]),
            bucket("BYTES", 10 * GB, 10 * GB),  # a general pack
            bucket("SECONDS", 6000, 3000),
        ]
    )
    assert [(t.unit_label, t.remaining_text, t.total_text) for t in shown] == [
        ("通用流量", "13 GB", "15 GB"),
        ("定向流量", "30 GB", "30 GB"),
        ("语音", "50 分钟", "100 分钟"),
    ]


def test_a_line_without_targeted_data_shows_no_targeted_total():
    shown = lp.totals([bucket("BYTES", 40 * GB, 40 * GB), bucket("SMS", 100, 99)])
    assert [t.unit_label for t in shown] == ["通用流量", "短信"]


def test_the_month_charges_read_as_yuan_with_what_they_are_made_of():
    charges = lp.month_charges(
        {"monthly_fee_fen": 1258, "daily_fees_fen": 100, "packs_fen": 1500, "usage_fen": 52,
         "total_fen": 2910}
    )  # fmt: skip
    assert charges.total_text == "¥29.10"
    assert charges.breakdown == "月租 ¥12.58 · 日租 ¥1.00 · 加油包 ¥15.00 · 套外 ¥0.52"


def test_a_month_without_charges_says_so():
    zero = dict.fromkeys(("monthly_fee_fen", "daily_fees_fen", "packs_fen", "usage_fen"), 0)
    charges = lp.month_charges({**zero, "total_fen": 0})
    assert (charges.total_text, charges.breakdown) == ("¥0.00", "暂无费用")
