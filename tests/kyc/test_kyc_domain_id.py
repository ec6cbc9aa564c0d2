"""GB 11643-1999 ID numbers, names and age — pure rules, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.catalog.domain import PROVINCES
from haoka.kyc import domain
from haoka.kyc.domain import InvalidIdNumber, InvalidName
from tests.support.kyc import make_id

TODAY = dt.date(2026, 3, 1)

#: Computed by hand with the MOD 11-2 weights (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2).
VALID_IDS = [
    ("110101199003071233", "北京", dt.date(1990, 3, 7)),
    ("310104200002294568", "上海", dt.date(2000, 2, 29)),
    ("440305198512310018", "广东", dt.date(1985, 12, 31)),
    ("110105200808150028", "北京", dt.date(2008, 8, 15)),
    ("650102197001010034", "新疆", dt.date(1970, 1, 1)),
    ("51010719930811222X", "四川", dt.date(1993, 8, 11)),
    ("310104198806067897", "上海", dt.date(1988, 6, 6)),
]


@pytest.mark.parametrize(("value", "province", "birth"), VALID_IDS)
def test_a_table_of_valid_id_numbers_parses_with_province_and_birth_date(value, province, birth):
    ident = domain.parse_id_number(value, today=TODAY)
    assert ident.value == value
    assert ident.province == province
    assert ident.birth_date == birth
    assert ident.area_code == value[:6]


def test_the_test_helper_and_the_table_agree_on_check_digits():
    for value, _, _ in VALID_IDS:
        assert make_id(value[:6], value[6:14], value[14:17]) == value
        assert domain.check_digit(value[:17]) == value[17]


def test_a_lower_case_x_check_digit_is_accepted_and_made_upper_case():
    assert domain.parse_id_number("51010719930811222x", today=TODAY).value == "51010719930811222X"


def test_full_width_digits_and_spaces_are_folded():
    assert domain.parse_id_number(" １１０１０１ 19900307 1233 ", today=TODAY).value == (
        "110101199003071233"
    )


def _reason(value: str) -> str:
    with pytest.raises(InvalidIdNumber) as caught:
        domain.parse_id_number(value, today=TODAY)
    return caught.value.details["reason"]


def test_a_wrong_check_digit_is_refused():
    assert _reason("110101199003071234") == "check_digit"


@pytest.mark.parametrize(
    "value", ["11010119900307123", "1101011990030712333", "", "11010119900307123A"]
)
def test_wrong_length_or_letters_are_refused_as_format(value):
    assert _reason(value) == "format"


def test_february_thirtieth_is_not_a_birth_date():
    assert _reason(make_id("110101", "19900230", "123")) == "birth_date"


def test_a_birth_date_in_the_future_is_refused():
    assert _reason(make_id("110101", "20260302", "123")) == "birth_date"


def test_a_birth_date_today_is_accepted():
    assert domain.parse_id_number(make_id("110101", "20260301", "123"), today=TODAY)


def test_a_birth_date_before_1900_is_refused():
    assert _reason(make_id("110101", "18991231", "123")) == "birth_date"


@pytest.mark.parametrize("area", ["990101", "000101", "710101", "810000", "110001", "110100"])
def test_unknown_provinces_and_zero_city_or_county_parts_are_refused(area):
    assert _reason(make_id(area, "19900307", "123")) == "area"


def test_the_error_never_carries_the_number_itself():
    value = "110101199003071234"
    with pytest.raises(InvalidIdNumber) as caught:
        domain.parse_id_number(value, today=TODAY)
    assert value not in str(caught.value.as_dict())


def test_the_repr_of_a_parsed_number_hides_it():
    ident = domain.parse_id_number(VALID_IDS[0][0], today=TODAY)
    assert VALID_IDS[0][0] not in repr(ident)
    assert "1990" not in repr(ident)


def test_all_thirty_one_province_prefixes_map_to_the_catalog_provinces():
    assert len(domain.PROVINCE_CODES) == 31
    assert set(domain.PROVINCE_CODES.values()) == set(PROVINCES)


@pytest.mark.parametrize("prefix", sorted(domain.PROVINCE_CODES))
def test_every_province_prefix_is_recognised(prefix):
    ident = domain.parse_id_number(make_id(prefix + "0102", "19900307", "123"), today=TODAY)
    assert ident.province == domain.PROVINCE_CODES[prefix]


_bodies = st.builds(
    lambda prefix, city, county, birth, seq: (
        f"{prefix}{city:02d}{county:02d}{birth:%Y%m%d}{seq:03d}"
    ),
    st.sampled_from(sorted(domain.PROVINCE_CODES)),
    st.integers(1, 99),
    st.integers(1, 99),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


@given(_bodies)
def test_for_any_valid_body_the_computed_check_digit_validates_and_no_other_does(body):
    right = domain.check_digit(body)
    assert domain.parse_id_number(body + right, today=TODAY).value == body + right
    for wrong in set("0123456789X") - {right}:
        with pytest.raises(InvalidIdNumber):
            domain.parse_id_number(body + wrong, today=TODAY)


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "阿依古丽·买买提", "刘䶮", "王" * 20])
def test_chinese_names_with_the_middle_dot_are_accepted(name):
    assert domain.parse_name(name) == name


@pytest.mark.parametrize("typed", ["阿依古丽•买买提", "阿依古丽・买买提", "阿依古丽.买买提"])
def test_look_alike_dots_are_folded_into_the_middle_dot(typed):
    assert domain.parse_name(typed) == "阿依古丽·买买提"


@pytest.mark.parametrize(
    "name", ["张", "王" * 21, "John Smith", "张 三", "·张三", "张三·", "张··三", "张3", ""]
)
def test_short_long_latin_spaced_or_badly_dotted_names_are_refused(name):
    with pytest.raises(InvalidName):
        domain.parse_name(name)


# --- age -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (dt.date(2010, 3, 2), dt.date(2026, 3, 1), 15),  # the day before the 16th birthday
        (dt.date(2010, 3, 2), dt.date(2026, 3, 2), 16),  # the birthday
        (dt.date(2010, 3, 2), dt.date(2026, 3, 3), 16),  # the day after
        (dt.date(2008, 2, 29), dt.date(2024, 2, 28), 15),
        (dt.date(2008, 2, 29), dt.date(2024, 2, 29), 16),  # leap year: the day itself
        (dt.date(2008, 2, 29), dt.date(2025, 2, 28), 16),
        (dt.date(2008, 2, 29), dt.date(2025, 3, 1), 17),  # common year: reached on 1 March
    ],
)
def test_age_in_completed_years_at_birthday_boundaries(birth, today, age):
    assert domain.age_on(birth_date=birth, today=today) == age
