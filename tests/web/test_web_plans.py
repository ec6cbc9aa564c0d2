"""套餐 pages through Django's test client: list, filters, detail, compare, 404."""

from __future__ import annotations

import re

import pytest

from haoka.catalog.models import Plan
from tests.support.web import HTMX

pytestmark = pytest.mark.django_db


def plan_names(html: str) -> list[str]:
    return re.findall(r'<h2 class="plan-name"><a [^>]*>([^<]+)</a>', html)


def test_home_redirects_to_the_plan_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/plans/"


def test_healthz_answers_ok(client):
    assert client.get("/healthz").json() == {"ok": True}


def test_plan_list_shows_on_sale_plans_with_yuan_fees_and_chinese_text(client, catalog):
    response = client.get("/plans/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-CN"' in html
    assert "选套餐" in html and "月租上限" in html
    assert "联通大王卡19元版" in html
    assert "¥19.00" in html
    assert "100G" in html  # 70G general + 30G targeted
    assert "对比" in html and "查看详情" in html


def test_plan_list_hides_draft_and_retired_plans(client, catalog):
    hidden = list(Plan.objects.exclude(status="ON_SALE").values_list("name", flat=True))
    assert hidden
    names = plan_names(client.get("/plans/").content.decode())
    assert names
    assert not set(hidden) & set(names)


def test_carrier_filter_shows_only_that_carriers_plans(client, catalog):
    cucc = set(
        Plan.objects.filter(status="ON_SALE", carrier__code="CUCC").values_list("name", flat=True)
    )
    names = plan_names(client.get("/plans/?carrier=CUCC").content.decode())
    assert names and set(names) == cucc


def test_max_fee_filter_keeps_plans_at_or_under_the_limit(client, catalog):
    html = client.get("/plans/?max_fee=10").content.decode()
    fees = dict(Plan.objects.values_list("name", "monthly_fee_fen"))
    names = plan_names(html)
    assert names
    assert all(fees[name] <= 1000 for name in names)


def test_tag_filter_keeps_plans_with_the_tag(client, catalog):
    student = set(
        Plan.objects.filter(status="ON_SALE", tags__code="student").values_list("name", flat=True)
    )
    assert set(plan_names(client.get("/plans/?tag=student").content.decode())) == student


def test_htmx_filter_returns_only_the_list_fragment(client, catalog):
    response = client.get("/plans/?carrier=CTCC", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="plan-list"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_unknown_carrier_filter_shows_a_chinese_message(client, catalog):
    response = client.get("/plans/?carrier=NOPE")
    assert response.status_code == 422
    assert "未知的运营商" in response.content.decode()


def test_bad_max_fee_shows_a_chinese_message(client, catalog):
    response = client.get("/plans/?max_fee=abc")
    assert response.status_code == 422
    assert "金额格式不正确" in response.content.decode()


def test_plan_detail_shows_every_term_of_the_plan(client, catalog):
    html = client.get("/plans/CU-DAWANG-29/").content.decode()
    assert "联通大王卡29元版" in html
    assert "¥29.00" in html
    assert "125G" in html and "30G" in html  # 通用, 定向
    assert "微信" in html and "腾讯视频" in html  # 定向 apps
    assert "100分钟" in html
    assert "超出后 ¥0.004883/MB（约 ¥5.00/GB）" in html
    assert "超出后 ¥0.10/分钟" in html
    assert "广东/揭阳" in html  # 禁发区
    assert "16-60周岁" in html
    assert "选择号码" in html
    assert 'href="/numbers/?carrier=CUCC&amp;plan=CU-DAWANG-29"' in html


def test_plan_detail_shows_daily_rental_terms(client, catalog):
    plan = Plan.objects.filter(status="ON_SALE", daily_fee_fen__gt=0).order_by("id").first()
    html = client.get(f"/plans/{plan.code}/").content.decode()
    assert "日租" in html and "/天" in html
    assert "当天首次使用流量时扣费" in html


def test_a_plan_without_general_data_says_none_instead_of_zero(client, catalog):
    plan = Plan.objects.filter(status="ON_SALE").order_by("id").first()
    plan.general_data_bytes = 0
    plan.save(update_fields=["general_data_bytes"])
    html = client.get(f"/plans/{plan.code}/").content.decode()
    facts = re.search(r"<dt>通用流量</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert "<b>无</b>" in facts
    assert "全国通用" not in facts and "0" not in facts


def test_plan_detail_shows_contract_first_topup_and_benefit_values(client, catalog):
    html = client.get("/plans/CM-SHANGLV-58/").content.decode()
    assert "24个月" in html
    assert "¥100.00" in html  # 首充
    html = client.get("/plans/CM-MANGO-39/").content.decode()
    assert "价值 ¥" in html
    assert "芒果TV" in html and "免流应用" in html


def test_unknown_plan_is_a_chinese_404(client, catalog):
    response = client.get("/plans/NO-SUCH-PLAN/")
    assert response.status_code == 404
    assert "套餐不存在或未上架" in response.content.decode()


def test_draft_plan_is_a_404(client, catalog):
    draft = Plan.objects.filter(status="DRAFT").first()
    assert client.get(f"/plans/{draft.code}/").status_code == 404


def test_unknown_url_gets_the_chinese_404_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_compare_puts_plans_side_by_side_and_marks_the_best_values(client, catalog):
    response = client.get("/plans/compare/?codes=CU-DAWANG-19,CU-DAWANG-29")
    html = response.content.decode()
    assert response.status_code == 200
    assert "套餐对比" in html
    assert "联通大王卡19元版" in html and "联通大王卡29元版" in html
    fee_row = re.search(r"<th scope=\"row\">月租</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r'<td class="([^"]*)">([^<]*)', fee_row)
    assert cells == [("best", "¥19.00/月"), ("", "¥29.00/月")]
    data_row = re.search(r"<th scope=\"row\">通用流量</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="([^"]*)">([^<]*)', data_row) == [("", "70G"), ("best", "125G")]


def test_compare_keeps_three_plans_and_names_the_ignored_ones(client, catalog):
    codes = "CU-DAWANG-19,CU-DAWANG-29,CM-HUAKA-19,CM-MANGO-39"
    html = client.get(f"/plans/compare/?codes={codes}").content.decode()
    assert "最多对比 3 个套餐，已忽略：移动芒果卡39元" in html
    assert "CM-MANGO-39" not in html
    assert html.count('<th scope="col" style=') == 3
    assert "移动花卡宝藏版19元" in html


def test_compare_accepts_repeated_codes_from_the_no_js_form(client, catalog):
    html = client.get("/plans/compare/?codes=CU-DAWANG-19&codes=CM-HUAKA-19").content.decode()
    assert "联通大王卡19元版" in html and "移动花卡宝藏版19元" in html


def test_compare_names_unknown_codes(client, catalog):
    html = client.get("/plans/compare/?codes=CU-DAWANG-19,NOPE").content.decode()
    assert "以下套餐不存在或已下架：NOPE" in html


def test_compare_without_codes_invites_to_pick_plans(client, catalog):
    html = client.get("/plans/compare/").content.decode()
    assert "还没有选择套餐" in html
