"""MSISDN parsing, 归属地, carrier prefixes and the number state machine (pure, no DB).

Expected provinces and carriers were read from phonenumbers 9.0.43 before being written here.
"""

from __future__ import annotations

import random
from pathlib import Path

import phonenumbers
import pytest

from haoka.core.errors import IllegalTransition
from haoka.core.phone import InvalidMsisdn
from haoka.numbers import domain, segments
from haoka.numbers.domain import NumberState as S

# ---------------------------------------------------------------- parse_msisdn


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "86-13812345678",
        "8613812345678",
        "008613812345678",
        "0086 138 1234 5678",
        "１３８１２３４５６７８",  # full-width digits from a Chinese IME
    ],
)
def test_parse_msisdn_accepts_common_ways_of_writing_a_mobile_number(raw):
    assert domain.parse_msisdn(raw) == "13812345678"


def test_parse_msisdn_takes_its_argument_by_keyword_too():
    assert domain.parse_msisdn(raw="+86 199 0000 1111") == "19900001111"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "1381234567a",  # a letter
        "abcdefghijk",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+86 138 1234 56789",
        "01012345678",  # Beijing landline, 11 digits with the trunk 0
        "+86 10 1234 5678",  # Beijing landline, international form
        "02088888888",  # Guangzhou landline
        "+1 650 253 0000",  # not China
        "+85291234567",  # Hong Kong mobile
        "12345678901",  # no such segment
        "14012345678",  # 140 is not a mobile segment
        "17406123456",  # 1740 only runs 17400..17405
        "++8613812345678",
        "138.1234.5678",  # dots are not a separator we accept
        "8613812345678 ext 1",
    ],
)
def test_parse_msisdn_rejects_anything_but_a_mainland_mobile_number(raw):
    with pytest.raises(domain.InvalidMsisdn) as info:
        domain.parse_msisdn(raw)
    assert info.value.code == "invalid_msisdn"
    assert info.value.status == 422


def test_parse_msisdn_rejects_a_non_string():
    with pytest.raises(domain.InvalidMsisdn):
        domain.parse_msisdn(13812345678)  # type: ignore[arg-type]


def test_invalid_msisdn_is_the_one_shared_core_error_class():
    assert domain.InvalidMsisdn is InvalidMsisdn


# ---------------------------------------------------------------- locate


@pytest.mark.parametrize(
    ("msisdn", "province", "city", "carrier_code", "carrier_name"),
    [
        ("13800138000", "北京", "北京", "CMCC", "中国移动"),
        ("13800210000", "上海", "上海", "CMCC", "中国移动"),
        ("13802200000", "广东", "深圳", "CMCC", "中国移动"),
        ("13804720000", "内蒙古", "包头", "CMCC", "中国移动"),
        ("13847900000", "内蒙古", "锡林郭勒盟", "CMCC", "中国移动"),
        ("13800950000", "宁夏", "银川", "CMCC", "中国移动"),
        ("13889000000", "西藏", "拉萨", "CMCC", "中国移动"),
        ("13899100000", "新疆", "喀什", "CMCC", "中国移动"),  # 新疆喀什地区
        ("13899900000", "新疆", "乌鲁木齐", "CMCC", "中国移动"),
        ("13808760000", "云南", "大理白族自治州", "CMCC", "中国移动"),
        ("13800890000", "海南", "海口", "CMCC", "中国移动"),
        ("18977100000", "广西", "南宁", "CTCC", "中国电信"),
        ("13012345678", "重庆", "重庆", "CUCC", "中国联通"),
        ("18500000000", "北京", "北京", "CUCC", "中国联通"),
    ],
)
def test_locate_splits_the_geocoder_description_into_province_and_city(
    msisdn, province, city, carrier_code, carrier_name
):
    location = domain.locate(msisdn=msisdn)
    assert (location.province, location.city) == (province, city)
    assert (location.carrier_code, location.carrier_name) == (carrier_code, carrier_name)
    assert location.segment == msisdn[:3]
    assert location.prefix7 == msisdn[:7]


def test_location_display_shows_a_municipality_once_and_a_province_with_its_city():
    assert domain.locate(msisdn="13800138000").display == "北京"
    assert domain.locate(msisdn="13802200000").display == "广东 深圳"
    assert domain.locate(msisdn="16101234567").display == ""


@pytest.mark.parametrize(
    ("msisdn", "carrier_code", "carrier_name", "is_virtual"),
    [
        ("19212345678", "CBN", "中国广电", False),
        ("16101234567", "CBN", "中国广电", False),
        ("13312345678", "CTCC", "中国电信", False),
        ("17001234567", "CTCC", "中国电信", True),  # 1700-1702: telecom-hosted virtual
        ("17031234567", "CMCC", "中国移动", True),  # 1703/1705/1706: mobile-hosted virtual
        ("17041234567", "CUCC", "中国联通", True),  # 1704/1707-1709: unicom-hosted virtual
        ("17112345678", "CUCC", "中国联通", True),
        ("16712345678", "CUCC", "中国联通", True),
        ("16212345678", None, "", True),  # phonenumbers names no carrier for 162 and 165
        ("16512345678", None, "", True),
        ("13491234567", None, "", False),  # 1349 was satellite, no carrier either
    ],
)
def test_locate_maps_phonenumbers_carrier_names_to_codes(
    msisdn, carrier_code, carrier_name, is_virtual
):
    location = domain.locate(msisdn=msisdn)
    assert location.carrier_code == carrier_code
    assert location.carrier_name == carrier_name
    assert location.is_virtual is is_virtual


def test_locate_leaves_province_and_city_empty_where_phonenumbers_only_knows_the_country():
    location = domain.locate(msisdn="16101234567")  # 中国广电 1610: in no table
    assert (location.province, location.city) == ("", "")


@pytest.mark.parametrize(
    ("msisdn", "province", "city", "display"),
    [
        ("19200001234", "广东", "佛山", "广东 佛山"),
        ("19212345678", "重庆", "重庆", "重庆"),
        ("19298620000", "浙江", "杭州", "浙江 杭州"),
    ],
)
def test_broadnet_192_numbers_are_placed_from_the_shipped_segment_table(
    msisdn, province, city, display
):
    location = domain.locate(msisdn=msisdn)
    assert (location.province, location.city, location.display) == (province, city, display)
    assert location.carrier_code == "CBN"


def test_the_192_segment_table_names_its_source_and_only_known_provinces():
    text = (Path(domain.__file__).parent / segments.TABLE).read_text(encoding="utf-8")
    assert text.startswith("# 中国广电 192 号段归属地, from phone.dat 2312")
    table = segments._table()
    assert len(table) > 4000 and all(p.startswith("192") and len(p) == 7 for p in table)
    assert {province for province, _ in table.values()} <= set(domain._PROVINCES)
    assert all(city for _, city in table.values())
    assert segments.location_of("1929999") == ("", "")  # not listed: stays unknown


@pytest.mark.parametrize("msisdn", ["1381234567", "+8613812345678", "01012345678", "14012345678"])
def test_locate_refuses_anything_but_a_valid_11_digit_national_number(msisdn):
    with pytest.raises(domain.InvalidMsisdn):
        domain.locate(msisdn=msisdn)


def test_locate_returns_the_same_cached_location_for_one_prefix():
    assert domain.locate(msisdn="13800138000") is domain.locate(msisdn="13800139999")


# ---------------------------------------------------------------- carrier prefixes


def _full_check(msisdn: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.parse(msisdn, "CN")
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    return number


@pytest.mark.parametrize("carrier_code", ["CMCC", "CUCC", "CTCC"])
def test_generated_numbers_of_a_network_carrier_are_valid_its_own_and_across_provinces(
    carrier_code,
):
    numbers = domain.generate_msisdns(carrier_code=carrier_code, rng=random.Random(1), count=3000)
    locations = [domain.locate(msisdn=m) for m in numbers]
    for msisdn in numbers[:300]:
        _full_check(msisdn)
    assert {loc.carrier_code for loc in locations} == {carrier_code}
    assert not any(loc.is_virtual for loc in locations)
    assert all(loc.province and loc.city for loc in locations)
    assert len({loc.province for loc in locations}) >= 28


def test_haoka_numbers_come_from_unicom_hosted_virtual_segments_across_provinces():
    numbers = domain.generate_msisdns(carrier_code="HAOKA", rng=random.Random(2), count=2000)
    locations = [domain.locate(msisdn=m) for m in numbers]
    assert {loc.segment for loc in locations} <= domain.VIRTUAL_SEGMENTS
    assert {loc.carrier_code for loc in locations} == {"CUCC"}
    assert all(loc.is_virtual and loc.province for loc in locations)
    assert len({loc.province for loc in locations}) >= 20


def test_broadnet_numbers_come_from_its_placed_192_prefixes_across_provinces():
    numbers = domain.generate_msisdns(carrier_code="CBN", rng=random.Random(3), count=500)
    for msisdn in numbers[:100]:
        _full_check(msisdn)
    locations = [domain.locate(msisdn=m) for m in numbers]
    assert {loc.carrier_code for loc in locations} == {"CBN"}
    assert {loc.segment for loc in locations} == {"192"}
    assert all(loc.province and loc.city for loc in locations)
    assert len({loc.province for loc in locations}) >= 20


def test_generated_numbers_are_distinct_and_repeatable_for_a_seed():
    first = domain.generate_msisdns(carrier_code="CUCC", rng=random.Random(9), count=5000)
    again = domain.generate_msisdns(carrier_code="CUCC", rng=random.Random(9), count=5000)
    assert first == again
    assert len(set(first)) == 5000


def test_sample_prefixes_draws_known_prefixes_of_the_carrier():
    prefixes = domain.sample_prefixes(carrier_code="CTCC", rng=random.Random(4), count=50)
    assert len(prefixes) == 50
    assert set(prefixes) <= set(domain.carrier_prefixes(carrier_code="CTCC"))


def test_an_unknown_carrier_code_is_refused():
    with pytest.raises(domain.UnknownCarrier) as info:
        domain.sample_prefixes(carrier_code="ATT", rng=random.Random(), count=1)
    assert info.value.code == "unknown_carrier"


def test_a_negative_count_is_refused():
    with pytest.raises(domain.InvalidSampleRequest):
        domain.sample_prefixes(carrier_code="CMCC", rng=random.Random(), count=-1)
    with pytest.raises(domain.InvalidSampleRequest):
        domain.generate_msisdns(carrier_code="CMCC", rng=random.Random(), count=-1)


# ---------------------------------------------------------------- number state machine

ALLOWED = [
    (S.AVAILABLE, S.RESERVED),
    (S.RESERVED, S.AVAILABLE),
    (S.RESERVED, S.ASSIGNED),
    (S.ASSIGNED, S.IN_USE),
    (S.ASSIGNED, S.AVAILABLE),
    (S.IN_USE, S.COOLING),
    (S.IN_USE, S.PORTED_OUT),
    (S.COOLING, S.AVAILABLE),
]


def test_the_transition_table_is_exactly_the_designed_one():
    table = {
        (current, target) for current, targets in domain.TRANSITIONS.items() for target in targets
    }
    assert table == set(ALLOWED)
    assert set(domain.TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_every_allowed_number_transition_passes(current, target):
    domain.check_transition(current=current, target=target)
    domain.check_transition(current=str(current), target=str(target))


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.AVAILABLE, S.ASSIGNED),  # must be reserved first
        (S.AVAILABLE, S.IN_USE),
        (S.AVAILABLE, S.AVAILABLE),  # staying put is not a transition
        (S.RESERVED, S.IN_USE),
        (S.IN_USE, S.AVAILABLE),  # must cool first
        (S.COOLING, S.RESERVED),
        (S.PORTED_OUT, S.AVAILABLE),  # gone for good
        (S.PORTED_OUT, S.COOLING),
    ],
)
def test_a_disallowed_number_transition_raises_with_details(current, target):
    with pytest.raises(IllegalTransition) as info:
        domain.check_transition(current=current, target=target)
    assert info.value.code == "illegal_transition"
    assert info.value.status == 409
    assert info.value.details["current"] == current.value
    assert info.value.details["target"] == target.value
    assert info.value.details["allowed"] == sorted(t.value for t in domain.TRANSITIONS[current])


def test_an_unknown_state_name_is_refused():
    with pytest.raises(domain.UnknownNumberState):
        domain.check_transition(current="SOLD", target="AVAILABLE")


def test_number_pool_timings_match_the_design():
    assert domain.COOLING_DAYS == 90
    assert domain.HOLD_MINUTES == 15
    assert domain.MAX_HOLDS_PER_USER == 3
