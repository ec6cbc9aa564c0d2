"""The contract's plan clause reads naturally whatever the plan leaves at zero or out."""

from __future__ import annotations

from types import SimpleNamespace

from haoka.orders import contract

GB = 1024**3


def order_with(plan: dict) -> SimpleNamespace:
    return SimpleNamespace(
        ref="HKTEST",
        msisdn="13812345678",
        plan_snapshot={"carrier_name": "中国移动", "name": "测试卡", **plan},
        number_price_fen=0,
        first_topup_fen=0,
        amount_due_fen=0,
        min_monthly_fen=0,
        contract_months=0,
    )


def render(plan: dict) -> str:
    return contract.render(order=order_with(plan), customer_name_masked="张*", id_masked="440***")


def test_a_plan_with_data_voice_and_sms_lists_them():
    text = render(
        {
            "monthly_fee_fen": 3900,
            "general_data_bytes": 40 * GB,
            "voice_seconds": 6000,
            "sms_count": 10,
        }
    )
    assert "套餐月租 ¥39.00，含国内通用流量 40G、国内通话 100分钟、短信 10 条。" in text


def test_a_zero_fee_plan_without_data_says_so_instead_of_data_zero():
    text = render({"monthly_fee_fen": 0, "general_data_bytes": 0})
    assert "套餐免月租，不含通用流量。" in text
    assert "流量 0" not in text and "¥0.00，含" not in text


def test_a_plan_with_only_targeted_data_and_voice_reads_naturally():
    assert (
        contract.plan_terms(
            {"monthly_fee_fen": 900, "targeted_data_bytes": 30 * GB, "voice_seconds": 0}
        )
        == "套餐月租 ¥9.00，不含通用流量；含定向流量 30G。"
    )


def test_a_plan_missing_its_terms_entirely_still_reads():
    assert contract.plan_terms({}) == "套餐免月租，不含通用流量。"


def test_a_daily_plan_without_a_daily_allowance_names_no_zero_allowance():
    text = render({"monthly_fee_fen": 0, "daily_fee_fen": 100, "daily_data_bytes": 0})
    assert "日租规则：当日首次使用流量时收取 ¥1.00。" in text and "可用 0" not in text
    text = render({"monthly_fee_fen": 0, "daily_fee_fen": 100, "daily_data_bytes": GB})
    assert "当日（北京时间 24:00 前）可用 1G。" in text
