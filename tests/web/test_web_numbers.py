"""选号 pages through Django's test client: search, filters, paging, valuation, suggestions."""

from __future__ import annotations

import re

import pytest

from haoka.numbers.models import PhoneNumber
from tests.support.web import GENERATED, HTMX, VANITY, hold_for

pytestmark = pytest.mark.django_db


def shown_numbers(html: str) -> list[str]:
    return re.findall(r'data-msisdn="(\d{11})"', html)


def more_url(html: str) -> str | None:
    found = re.search(r'class="load-more btn" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_number_page_renders_filters_digit_pad_and_results(client, pool):
    response = client.get("/numbers/?view=all")
    html = response.content.decode()
    assert response.status_code == 200
    assert "选号" in html and "尾号" in html and "不含4" in html
    assert "退格" in html and "清空" in html
    assert "号码估价" in html and "生日选号" in html
    assert "尾号四连 AAAA" in html  # pattern labels in Chinese
    assert "新疆" in html  # province list
    assert "¥" in html
    assert len(shown_numbers(html)) == 20
    assert "加载更多" in html
    assert re.search(r'class="active" aria-current="page">全部号码<', html)


def next_batch_url(html: str) -> str:
    found = re.search(r'href="([^"]+)" hx-get="[^"]+"[^>]*data-next-batch>换一批<', html)
    assert found, "no 换一批"
    return found.group(1).replace("&amp;", "&")


def tiers_of(msisdns: list[str]) -> list[str]:
    tiers = dict(PhoneNumber.objects.filter(msisdn__in=msisdns).values_list("msisdn", "tier"))
    return [tiers[m] for m in msisdns]


def test_the_picker_opens_on_recommended_affordable_numbers_with_vanity_ones_mixed_in(client, pool):
    html = client.get("/numbers/").content.decode()
    assert re.search(r'class="active" aria-current="page">推荐<', html)
    assert 'data-view="rec"' in html and "加载更多" not in html
    cards = shown_numbers(html)
    assert len(cards) == 12
    tiers = tiers_of(cards)
    assert all(t in ("N", "D") for i, t in enumerate(tiers) if (i + 1) % 4)  # affordable first
    assert all(t not in ("N", "D") for i, t in enumerate(tiers) if (i + 1) % 4 == 0)  # vanity


def test_another_batch_comes_as_a_fragment_and_repeats_nothing_for_several_rounds(client, pool):
    first = client.get("/numbers/?seed=1234").content.decode()
    assert shown_numbers(first) == shown_numbers(
        client.get("/numbers/?seed=1234").content.decode()
    )  # a seed always shows the same batch
    seen, url = shown_numbers(first), next_batch_url(first)
    for n in range(1, 4):
        assert f"batch={n}" in url and "seed=1234" in url
        response = client.get(url, **HTMX)
        html = response.content.decode()
        assert response.status_code == 200 and "<html" not in html
        assert 'id="number-results"' in html and 'hx-swap-oob="true"' in html  # tabs kept
        batch = shown_numbers(html)
        assert len(batch) == 12 and not set(batch) & set(seen)
        seen += batch
        url = next_batch_url(html)


def test_recommended_numbers_keep_the_carrier_and_plan_and_never_show_held_ones(
    client, pool, rival
):
    html = client.get("/numbers/?carrier=CTCC&plan=CT-XINGKA-19").content.decode()
    assert shown_numbers(html) == ["18988886666"]  # the pool's one CTCC number
    assert "carrier=CTCC" in next_batch_url(html) and "plan=CT-XINGKA-19" in next_batch_url(html)
    hold_for(user=rival, msisdn="18988886666")
    html = client.get("/numbers/?carrier=CTCC").content.decode()
    assert shown_numbers(html) == [] and "号码池暂时没有可选号码" in html


def test_a_narrowing_filter_switches_to_all_numbers_and_bad_batch_input_is_ignored(client, pool):
    html = client.get("/numbers/?tail=8888", **HTMX).content.decode()
    assert 'data-view="all"' in html
    assert re.search(r'name="view" value="all"', html)  # the form stays on 全部号码
    for query in ("seed=abc&batch=-1", "seed=99999999999&batch=x", "batch=100000"):
        response = client.get(f"/numbers/?{query}")
        assert response.status_code == 200 and len(shown_numbers(response.content.decode())) == 12
    bad = client.get("/numbers/?carrier=XX", **HTMX)
    assert bad.status_code == 422 and "alert-error" in bad.content.decode()


def test_search_fragment_respects_the_tail_filter_and_highlights_it(client, pool):
    response = client.get("/numbers/?tail=8888", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "13912348888" in shown_numbers(html)
    assert all(n.endswith("8888") for n in shown_numbers(html))
    assert "139 1234 <mark>8888</mark>" in html
    assert "¥1,888.00" in html  # A-class price of CMCC


def test_search_fragment_respects_carrier_and_tier_filters(client, pool):
    html = client.get("/numbers/?carrier=CUCC&tier=S", **HTMX).content.decode()
    assert shown_numbers(html) == ["18612345678"]
    shown = shown_numbers(client.get("/numbers/?carrier=CMCC&tier=S", **HTMX).content.decode())
    assert "13812341234" in shown
    rows = set(PhoneNumber.objects.filter(msisdn__in=shown).values_list("carrier_id", "tier"))
    assert rows == {("CMCC", "S")}


def test_search_fragment_respects_pattern_contains_and_no_four(client, pool):
    shown = shown_numbers(client.get("/numbers/?pattern=LUCKY_1314", **HTMX).content.decode())
    assert "13900001314" in shown and all(n.endswith("1314") for n in shown)
    html = client.get("/numbers/?contains=1234&exclude_four=1", **HTMX).content.decode()
    assert shown_numbers(html) == []
    assert "暂无符合条件的号码" in html
    shown = shown_numbers(client.get("/numbers/?contains=0013&tail=8000", **HTMX).content.decode())
    assert "13800138000" in shown and all(n.endswith("8000") and "0013" in n for n in shown)
    shown = shown_numbers(client.get("/numbers/?exclude_four=1", **HTMX).content.decode())
    assert shown and all("4" not in n for n in shown)


def test_search_fragment_respects_price_range_and_sort(client, pool):
    html = client.get("/numbers/?min_price=1000&sort=-price", **HTMX).content.decode()
    numbers = shown_numbers(html)
    prices = dict(PhoneNumber.objects.filter(msisdn__in=numbers).values_list("msisdn", "price_fen"))
    assert {"13812341234", "18612345678", "13912348888", "18988886666"} <= set(numbers)
    assert all(prices[n] >= 100_000 for n in numbers)
    assert [prices[n] for n in numbers] == sorted(prices.values(), reverse=True)
    html = client.get("/numbers/?max_price=0", **HTMX).content.decode()
    assert "13912348888" not in shown_numbers(html) and "免费" in html


def test_reserved_numbers_never_show(client, pool, rival):
    hold_for(user=rival, msisdn="13912348888")
    html = client.get("/numbers/?tail=888", **HTMX).content.decode()
    assert "18988886666" not in shown_numbers(html)
    assert "13912348888" not in shown_numbers(html)
    assert "暂无符合条件的号码" in html or shown_numbers(html)
    everything = []
    url = "/numbers/?view=all"
    while url:
        page = client.get(url, **HTMX).content.decode()
        everything += shown_numbers(page)
        url = more_url(page)
    assert "13912348888" not in everything
    assert len(everything) == len(set(everything)) == len(VANITY) + GENERATED - 1


def test_load_more_returns_the_next_page_of_cards_only(client, pool):
    first = client.get("/numbers/?carrier=CMCC&view=all").content.decode()
    url = more_url(first)
    assert url and "after=" in url and "carrier=CMCC" in url and "view=all" in url
    response = client.get(url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "number-results" not in html  # items only, appended in place of the button
    assert not set(shown_numbers(html)) & set(shown_numbers(first))
    assert len(shown_numbers(html)) == 20


def test_bad_tail_shows_a_friendly_message_not_a_500(client, pool):
    response = client.get("/numbers/?tail=12a", **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "尾号只能是 1-8 位数字" in html
    page = client.get("/numbers/?tail=12a")
    assert page.status_code == 422 and "尾号只能是 1-8 位数字" in page.content.decode()


def test_bad_price_shows_a_friendly_message(client, pool):
    response = client.get("/numbers/?max_price=lots", **HTMX)
    assert response.status_code == 422
    assert "金额格式不正确" in response.content.decode()


def test_plan_link_preselects_the_carrier_and_names_the_plan(client, pool):
    html = client.get("/numbers/?carrier=CUCC&plan=CU-DAWANG-19").content.decode()
    assert "正在为" in html and "联通大王卡19元版" in html
    assert shown_numbers(html) == ["18612345678"]
    assert 'name="plan" value="CU-DAWANG-19"' in html


def test_valuation_fragment_explains_a_pool_number_and_offers_a_hold(client, pool):
    response = client.get("/numbers/valuation/?msisdn=13912348888", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "139 1234 8888" in html
    assert "A 级靓号" in html and "评分 520" in html
    assert "尾号四连 AAAA" in html and "+400 分" in html
    assert "尾号888（发发发）" in html
    assert "总分 520，评级 A 级" in html
    assert "¥1,888.00" in html and "¥128.00" in html and "24个月" in html
    assert "预占此号 15 分钟" in html
    assert "江苏 常州" in html


def test_valuation_of_a_number_not_in_the_pool(client, pool):
    response = client.get("/numbers/valuation/?msisdn=13566668888")
    html = response.content.decode()
    assert response.status_code == 200
    assert "135 6666 8888" in html
    assert "不在号码池中" in html
    assert "预占此号" not in html
    assert "¥" in html


def test_valuation_of_a_reserved_number_says_it_is_taken(client, pool, rival):
    hold_for(user=rival, msisdn="13912348888")
    html = client.get("/numbers/valuation/?msisdn=13912348888", **HTMX).content.decode()
    assert "已被他人选走" in html
    assert "预占此号" not in html


def test_valuation_of_an_invalid_number_shows_a_chinese_message(client, pool):
    response = client.get("/numbers/valuation/?msisdn=12345", **HTMX)
    assert response.status_code == 422
    assert "不是有效的中国大陆手机号码" in response.content.decode()


def test_suggestions_from_favourite_digits(client, pool):
    response = client.get("/numbers/suggestions/?digits=8888", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "13912348888" in html
    assert "尾号为喜欢的数字 8888" in html


def test_valuation_tool_opens_as_a_form_in_the_sheet(client, pool):
    response = client.get("/numbers/valuation/?tool=1", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="sheet-panel"' in html and 'name="msisdn"' in html and "估价" in html
    assert "alert-error" not in html
    html = client.get("/numbers/valuation/?tool=1&msisdn=13566668888", **HTMX).content.decode()
    assert 'name="msisdn"' in html and "135 6666 8888" in html


def test_valuation_page_without_a_number_shows_the_form_and_with_an_empty_one_asks(client, pool):
    response = client.get("/numbers/valuation/")
    assert response.status_code == 200 and 'name="msisdn"' in response.content.decode()
    response = client.get("/numbers/valuation/?msisdn=")
    assert response.status_code == 422 and "请输入 11 位手机号码" in response.content.decode()


def test_suggestions_tool_opens_as_a_form_and_answers_in_the_sheet(client, pool):
    html = client.get("/numbers/suggestions/", **HTMX).content.decode()
    assert 'name="birthday"' in html and 'name="digits"' in html and "帮我挑号" in html
    assert "alert-error" not in html
    html = client.get("/numbers/suggestions/?birthday=&digits=1314", **HTMX).content.decode()
    assert 'class="sheet-panel"' in html and "13900001314" in html
    page = client.get("/numbers/suggestions/?digits=1314").content.decode()
    assert "<html" in page and "13900001314" in page


def test_suggestions_need_a_birthday_or_digits(client, pool):
    response = client.get("/numbers/suggestions/?birthday=&digits=", **HTMX)
    assert response.status_code == 422
    assert "请填写生日或喜欢的数字" in response.content.decode()
    response = client.get("/numbers/suggestions/?birthday=1990-13-40")
    assert response.status_code == 422
    assert "生日格式应为" in response.content.decode()
    response = client.get("/numbers/suggestions/?digits=abc", **HTMX)
    assert "喜欢的数字须为 1 到 6 位数字" in response.content.decode()
