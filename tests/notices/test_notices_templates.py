"""Every message kind renders from its template alone: no missing value, ¥ amounts, SMS
only where a person expects one. Pure: no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.core.money import format_fen
from haoka.notices import templates
from haoka.notices.templates import Kind

#: A plausible value for every name a template may use (the longest they get).
SAMPLE = {
    "agent_code": "AK7M2Q9X",
    "note": "资料不完整，请补充身份证照片后重新申请" * 2,
    "order_ref": "HK20260301ABCDEFGH",
    "msisdn": "18912340001",
    "courier": "顺丰速运（国际件）",
    "tracking_no": "SF1234567890123456789",
    "withdrawal_ref": "WD20260301ABCDEFGH",
    "amount_fen": 5_000_00,
    "fee_fen": 30_00,
    "net_fen": 4_970_00,
    "counterpart": "138****0002",
    "data": "1023.99MB",
    "cap": "1023.99GB",
    "company_name": "深圳市某某互联网信息技术服务集团股份有限公司华南区域分公司",
    "sponsor_id": "SP7K2M9Q4X8A",
    "reason": "营业执照信息与统一社会信用代码不一致，请核对后重新提交" * 2,
    "balance_fen": 499_99,
    "threshold_fen": 500_00,
    "megabytes": 102400,
    "scope": "通用流量",
    "valid_to": "2026-12-31 23:59",
    "campaign_name": "华南区域全体员工流量池（2026 年度）",
}


def values_for(kind: Kind) -> dict:
    wanted = templates.fields(templates.TEMPLATES[kind])
    return {
        name: value
        for name, value in SAMPLE.items()
        if name in wanted or name.removesuffix("_fen") in wanted
    }


def test_every_kind_has_a_template_and_a_chinese_label():
    assert set(templates.TEMPLATES) == set(Kind)
    assert all(templates.LABELS[k.value] for k in Kind)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_from_the_values_its_template_names_and_fits_its_columns(kind):
    message = templates.render(kind, values_for(kind))
    assert message.title and len(message.title) <= 60
    assert message.body and len(message.body) <= 300
    assert message.link.startswith("/") and len(message.link) <= 200
    for text in (message.title, message.body, message.link, message.sms or ""):
        assert "{" not in text and "}" not in text
    if message.sms is not None:
        assert message.sms.startswith("【号卡】") and len(message.sms) <= 140


@pytest.mark.parametrize("kind", [k for k in Kind if templates.fields(templates.TEMPLATES[k])])
def test_a_value_left_out_is_a_named_error_not_a_half_filled_message(kind):
    values = values_for(kind)
    values.pop(sorted(values)[0])
    with pytest.raises(templates.MissingValue):
        templates.render(kind, values)


def test_sms_goes_out_where_a_person_waits_for_news_and_not_for_what_they_see_anyway():
    texted = {k for k in Kind if templates.TEMPLATES[k].sms is not None}
    assert texted == {
        Kind.AGENT_APPROVED,
        Kind.AGENT_REJECTED,
        Kind.KYC_APPROVED,
        Kind.KYC_REJECTED,
        Kind.ORDER_SHIPPED,
        Kind.ORDER_ACTIVATED,
        Kind.WITHDRAWAL_PAID,
        Kind.DATA_GIFT_RECEIVED,  # data arrived on a number that did nothing to get it
        Kind.SPONSOR_APPROVED,  # a company waits days for its review, away from the app
        Kind.SPONSOR_REJECTED,
        Kind.SPONSOR_DATA_GRANTED,  # data arrived on a number that did nothing to get it
    }


def test_money_values_show_as_yuan_under_their_name_without_the_suffix():
    message = templates.render(
        Kind.WITHDRAWAL_PAID,
        {"withdrawal_ref": "WD1", "amount_fen": 500_00, "fee_fen": 3_00, "net_fen": 497_00},
    )
    assert message.body == "提现 WD1 已打款 ¥497.00（申请 ¥500.00，手续费 ¥3.00），请查收。"
    assert message.sms == "【号卡】您的佣金提现 ¥497.00 已打款，提现单号 WD1，请查收。"


def test_links_carry_the_order_or_number_they_are_about():
    assert templates.render(Kind.ORDER_DELIVERED, SAMPLE).link == "/orders/HK20260301ABCDEFGH/"
    assert templates.render(Kind.TOPUP_CREDITED, SAMPLE).link == "/lines/18912340001"


def test_a_staff_rejection_does_not_tell_which_fraud_rule_caught_the_order():
    message = templates.render(Kind.KYC_REJECTED, SAMPLE)
    assert "黑名单" not in message.body and "黑名单" not in (message.sms or "")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        templates.render("NOT_A_KIND", SAMPLE)


@given(st.integers(min_value=0, max_value=10**12))
def test_a_top_up_of_any_amount_reads_as_its_yuan(amount_fen):
    body = templates.render(Kind.TOPUP_CREDITED, {"msisdn": "1", "amount_fen": amount_fen}).body
    assert body == f"号码 1 充值 {format_fen(amount_fen)} 已到账。"
