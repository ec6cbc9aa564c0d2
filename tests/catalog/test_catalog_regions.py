"""Province and city names: every provincial-level division is known in full and short
form, stored in full; cities with or without 市 (地区, 盟, 自治州 as they come)."""

from __future__ import annotations

import pytest

from haoka.catalog import domain

#: The 34 provincial-level divisions (GB/T 2260), written out here independently of the code.
OFFICIAL = [
    ("北京", "北京市"), ("天津", "天津市"), ("上海", "上海市"), ("重庆", "重庆市"),
    ("河北", "河北省"), ("山西", "山西省"), ("辽宁", "辽宁省"), ("吉林", "吉林省"),
    ("黑龙江", "黑龙江省"), ("江苏", "江苏省"), ("浙江", "浙江省"), ("安徽", "安徽省"),
    ("福建", "福建省"), ("江西", "江西省"), ("山东", "山东省"), ("河南", "河南省"),
    ("湖北", "湖北省"), ("湖南", "湖南省"), ("广东", "广东省"), ("海南", "海南省"),
    ("四川", "四川省"), ("贵州", "贵州省"), ("云南", "云南省"), ("陕西", "陕西省"),
    ("甘肃", "甘肃省"), ("青海", "青海省"), ("台湾", "台湾省"),
    ("内蒙古", "内蒙古自治区"), ("广西", "广西壮族自治区"), ("西藏", "西藏自治区"),
    ("宁夏", "宁夏回族自治区"), ("新疆", "新疆维吾尔自治区"),
    ("香港", "香港特别行政区"), ("澳门", "澳门特别行政区"),
]  # fmt: skip
NOT_MAINLAND = {"台湾省", "香港特别行政区", "澳门特别行政区"}


def test_the_table_has_all_34_divisions():
    assert len(OFFICIAL) == 34 == len(domain.PROVINCE_NAMES)
    assert sum(full.endswith("省") for _, full in OFFICIAL) == 23
    assert sum(full.endswith("自治区") for _, full in OFFICIAL) == 5
    assert sum(full.endswith("特别行政区") for _, full in OFFICIAL) == 2


@pytest.mark.parametrize("short, full", OFFICIAL)
def test_every_division_is_known_in_full_and_short_form_and_stored_in_full(short, full):
    assert domain.canonical_province(full) == full
    assert domain.canonical_province(short) == full
    assert domain.canonical_province(f" {full} ") == full
    assert domain.province_key(full) == domain.province_key(short) == short


@pytest.mark.parametrize("short, full", OFFICIAL)
def test_only_the_mainland_is_deliverable(short, full):
    mainland = full not in NOT_MAINLAND
    assert domain.deliverable(full) is mainland
    assert domain.deliverable(short) is mainland
    assert (short in domain.PROVINCES) is mainland


@pytest.mark.parametrize("text", ["", "广东州", "广", "中国", "火星省", "广东省深圳市"])
def test_anything_else_names_no_province(text):
    assert domain.canonical_province(text) == ""
    assert not domain.deliverable(text)


@pytest.mark.parametrize(
    "province, city, full",
    [
        ("广东省", "深圳", "深圳市"),
        ("广东", "深圳市", "深圳市"),
        ("广东省", "广州", "广州市"),  # a 州 that is a city
        ("北京", "北京", "北京市"),
        ("北京市", "北京市", "北京市"),
        ("上海", "浦东新区", "浦东新区"),  # a district written where the city goes
        ("新疆", "喀什", "喀什地区"),
        ("新疆维吾尔自治区", "喀什地区", "喀什地区"),
        ("新疆", "伊犁州", "伊犁哈萨克自治州"),
        ("内蒙古", "锡林郭勒", "锡林郭勒盟"),
        ("吉林", "延边", "延边朝鲜族自治州"),
        ("云南省", "大理白族自治州", "大理白族自治州"),
        ("青海", "海南", "海南藏族自治州"),  # 青海's 海南, not the province
        ("湖北", "神农架", "神农架林区"),
        ("海南", "澄迈县", "澄迈县"),
        ("西藏", "阿里", "阿里地区"),
        ("黑龙江", "大兴安岭", "大兴安岭地区"),
        ("广东", " 深 圳 ", "深圳市"),
        ("广东", "", ""),
    ],
)
def test_cities_are_stored_with_their_ending(province, city, full):
    assert domain.canonical_city(city, province=province) == full


@pytest.mark.parametrize(
    "sale, forbidden, province, city, allowed",
    [
        (["广东"], [], "广东省", "深圳市", True),
        (["广东省"], [], "广东", "深圳", True),
        (["广西"], [], "广西壮族自治区", "南宁市", True),
        (["内蒙古"], [], "内蒙古自治区", "呼和浩特市", True),
        ([], ["新疆"], "新疆维吾尔自治区", "乌鲁木齐市", False),
        ([], ["新疆/喀什"], "新疆维吾尔自治区", "喀什地区", False),
        ([], ["新疆/喀什"], "新疆维吾尔自治区", "和田地区", True),
        ([], ["云南/大理"], "云南省", "大理白族自治州", False),
        ([], ["广东/揭阳"], "广东省", "揭阳市", False),
        ([], ["宁夏"], "宁夏回族自治区", "银川市", False),
        ([], ["西藏"], "西藏自治区", "拉萨市", False),
    ],
)
def test_plan_regions_match_an_address_in_full_names(sale, forbidden, province, city, allowed):
    verdict = domain.region_verdict(
        sale_regions=sale, forbidden_regions=forbidden, province=province, city=city
    )
    assert verdict.allowed is allowed
