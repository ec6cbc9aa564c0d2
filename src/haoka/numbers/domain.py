"""Number pool rules: MSISDN parsing, 归属地, vanity valuation, number states.

Pure: no database, no clock, no I/O. Location and validity come from ``phonenumbers``
(libphonenumber metadata). Vanity rules and search suggestions live in
:mod:`haoka.numbers.vanity` and are re-exported here.

Decisions worth knowing:

- A mainland mobile number's validity, carrier and 归属地 depend only on its first seven
  digits in libphonenumber's metadata, so all three are looked up once per 7-digit prefix.
- ``carrier_code`` is the *host network* phonenumbers reports (中国移动 -> CMCC, ...). Virtual
  operator segments (162, 165, 167, 170, 171) report their host, or nothing (162, 165 -> None).
  Whether a number belongs to the operator's own brand HAOKA is a fact of the number pool,
  not of the digits.
- HAOKA is a resale brand hosted by China Unicom: its numbers are drawn from the
  Unicom-hosted virtual segments (1704, 1707-1709, 167, 171). The four network carriers draw
  from their own segments, never from virtual ones.
- phonenumbers has no 归属地 for some segments (all of 中国广电 192/1610, and 171, 167, ...);
  192 is placed from a table shipped with haoka (:mod:`haoka.numbers.segments`); a carrier
  with no located prefix at all falls back to its unlocated ones (province "").
"""

from __future__ import annotations

import enum
import functools
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType
from phonenumbers import carrier as pn_carrier
from phonenumbers import geocoder as pn_geocoder

from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError
from haoka.core.money import format_fen
from haoka.core.phone import parse_mainland_mobile
from haoka.numbers import segments
from haoka.numbers.vanity import (
    PATTERN_BITS,
    RULES,
    TIER_THRESHOLDS,
    Classification,
    InvalidMsisdn,
    InvalidSuggestionInput,
    PatternMatch,
    Rule,
    SuggestionTail,
    Tier,
    classify,
    explain_match,
    pattern_codes,
    suggestion_tails,
    tier_for_score,
)

__all__ = [  # noqa: RUF022 - grouped by topic
    "PATTERN_BITS", "RULES", "TIER_THRESHOLDS", "Classification", "InvalidMsisdn",
    "PatternMatch", "Rule", "Tier", "classify", "explain_match", "tier_for_score",
    "pattern_codes",
    "CARRIER_CODES", "CARRIER_NAMES", "VIRTUAL_SEGMENTS", "Location", "UnknownCarrier",
    "InvalidSampleRequest", "parse_msisdn", "locate", "carrier_prefixes", "sample_prefixes",
    "generate_msisdns", "TierPrice", "InvalidTierPrice", "MissingTierPrice",
    "DEFAULT_TIER_PRICES", "Valuation", "valuate", "NumberState", "TRANSITIONS",
    "UnknownNumberState", "NumberStateConflict", "MACHINE", "check_transition",
    "COOLING_DAYS", "HOLD_MINUTES",
    "MAX_HOLDS_PER_USER", "SuggestionTail", "InvalidSuggestionInput", "suggestion_tails",
]  # fmt: skip


class UnknownCarrier(ValidationError):
    code = "unknown_carrier"
    message = "未知的运营商"


class InvalidSampleRequest(ValidationError):
    code = "invalid_sample_request"
    message = "号码生成参数有误"


# ---------------------------------------------------------------- MSISDN and 归属地

CARRIER_NAMES: dict[str, str] = {
    "CMCC": "中国移动", "CUCC": "中国联通", "CTCC": "中国电信", "CBN": "中国广电", "HAOKA": "号卡",
}  # fmt: skip
CARRIER_CODES: tuple[str, ...] = tuple(CARRIER_NAMES)
_CODE_BY_PN_NAME = {name: code for code, name in CARRIER_NAMES.items() if code != "HAOKA"}

VIRTUAL_SEGMENTS: frozenset[str] = frozenset({"162", "165", "167", "170", "171"})
_HAOKA_HOST = "CUCC"

_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
_PROVINCES = (
    *_MUNICIPALITIES, "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省",
                      "市")  # fmt: skip
_CITY_SUFFIXES = ("市", "地区")  # 自治州, 盟 and 林区 are part of the name and stay
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


@dataclass(frozen=True, slots=True)
class Location:
    """Segment, carrier and 归属地 of a 7-digit prefix ("" where phonenumbers has no data)."""

    segment: str
    prefix7: str
    carrier_code: str | None
    carrier_name: str
    province: str
    city: str
    is_virtual: bool

    @property
    def display(self) -> str:
        """Where to show it: "广东 深圳", "北京", or "" when unknown."""
        if self.city in ("", self.province):
            return self.province
        return f"{self.province} {self.city}"


@functools.lru_cache(maxsize=4096)
def _split_description(description: str) -> tuple[str, str]:
    """Province and city: "广东省深圳市" -> ("广东", "深圳"), "北京市" -> ("北京", "北京"),
    "新疆喀什地区" -> ("新疆", "喀什"), "中国" -> ("", "")."""
    province = next((p for p in _PROVINCES if description.startswith(p)), "")
    if not province:
        return "", ""
    rest = description[len(province) :]
    for suffix in _PROVINCE_SUFFIXES:
        if rest.startswith(suffix):
            rest = rest[len(suffix) :]
            break
    for suffix in _CITY_SUFFIXES:
        if rest.endswith(suffix) and len(rest) > len(suffix):
            rest = rest[: -len(suffix)]
            break
    if not rest and province in _MUNICIPALITIES:
        rest = province
    return province, rest


def _number_for(prefix7: str) -> PhoneNumber:
    return PhoneNumber(country_code=86, national_number=int(prefix7 + "0000"))


@functools.lru_cache(maxsize=1 << 18)  # ~240 bytes a prefix; holds every prefix of a carrier
def _prefix_location(prefix7: str) -> Location | None:
    """The Location of a 7-digit prefix, or None when it is not a mainland mobile prefix."""
    number = _number_for(prefix7)
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "CN"
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        return None
    carrier_name = pn_carrier.name_for_valid_number(number, "zh")
    province, city = _split_description(pn_geocoder.description_for_valid_number(number, "zh"))
    if not province:
        province, city = segments.location_of(prefix7)
    segment = sys.intern(prefix7[:3])
    return Location(
        segment=segment,
        prefix7=prefix7,
        carrier_code=_CODE_BY_PN_NAME.get(carrier_name),
        carrier_name=carrier_name,
        province=province,
        city=city,
        is_virtual=segment in VIRTUAL_SEGMENTS,
    )


def parse_msisdn(raw: str) -> str:
    """The 11-digit national number of a valid mainland mobile number (see
    :func:`haoka.core.phone.parse_mainland_mobile`). Raises InvalidMsisdn."""
    return parse_mainland_mobile(raw)


def locate(*, msisdn: str) -> Location:
    """Carrier and 归属地 of an 11-digit national number (as :func:`parse_msisdn` returns).

    Raises InvalidMsisdn when it is not one.
    """
    if len(msisdn) != 11 or msisdn[0] != "1" or not msisdn.isascii() or not msisdn.isdigit():
        raise InvalidMsisdn(reason="not_11_digits")
    location = _prefix_location(msisdn[:7])
    if location is None:
        raise InvalidMsisdn(reason="not_mobile")
    return location


def _block_belongs(block5: str, carrier_code: str) -> bool:
    # Validity and carrier are decided by at most five digits in the metadata, so one probe
    # per 5-digit block finds the blocks worth scanning.
    location = _prefix_location(block5 + "00")
    if location is None:
        return False
    if carrier_code == "HAOKA":
        return location.is_virtual and location.carrier_code == _HAOKA_HOST
    return not location.is_virtual and location.carrier_code == carrier_code


@functools.cache
def _scan_prefixes(carrier_code: str) -> tuple[str, ...]:
    located: list[str] = []
    unlocated: list[str] = []
    for block in range(10000, 20000):
        block5 = str(block)
        if not _block_belongs(block5, carrier_code):
            continue
        for tail in range(100):
            prefix7 = f"{block5}{tail:02d}"
            description = pn_geocoder.description_for_valid_number(_number_for(prefix7), "zh")
            province = _split_description(description)[0] or segments.location_of(prefix7)[0]
            (located if province else unlocated).append(prefix7)
    return tuple(located or unlocated)


def carrier_prefixes(*, carrier_code: str) -> tuple[str, ...]:
    """Every real 7-digit prefix a carrier's new numbers come from, located ones only when
    the carrier has any. Computed once per carrier (about a second), then cached.

    Raises UnknownCarrier.
    """
    if carrier_code not in CARRIER_NAMES:
        raise UnknownCarrier(carrier_code=carrier_code)
    return _scan_prefixes(carrier_code)


def sample_prefixes(*, carrier_code: str, rng: random.Random, count: int) -> list[str]:
    """``count`` prefixes of the carrier drawn uniformly (with repeats) using ``rng``.

    Raises UnknownCarrier, InvalidSampleRequest (negative count).
    """
    if count < 0:
        raise InvalidSampleRequest(count=count)
    return rng.choices(carrier_prefixes(carrier_code=carrier_code), k=count)


def generate_msisdns(*, carrier_code: str, rng: random.Random, count: int) -> list[str]:
    """``count`` distinct, valid, realistic numbers of the carrier, spread over its prefixes.

    Raises UnknownCarrier, InvalidSampleRequest (negative count, or more than the carrier has).
    """
    prefixes = carrier_prefixes(carrier_code=carrier_code)
    if count < 0 or count > len(prefixes) * 10_000 // 2:
        raise InvalidSampleRequest(count=count)
    seen: set[str] = set()
    result: list[str] = []
    while len(result) < count:
        for prefix in rng.choices(prefixes, k=count - len(result)):
            msisdn = f"{prefix}{rng.randrange(10_000):04d}"
            if msisdn not in seen:
                seen.add(msisdn)
                result.append(msisdn)
    return result


# ---------------------------------------------------------------- valuation


class InvalidTierPrice(ValidationError):
    code = "invalid_tier_price"
    message = "靓号价格配置有误"


class MissingTierPrice(ValidationError):
    code = "missing_tier_price"
    message = "该等级没有配置价格"


@dataclass(frozen=True, slots=True)
class TierPrice:
    """What a tier costs: price once, a monthly minimum spend (最低消费) for a contract term.

    Raises InvalidTierPrice on negative amounts or a minimum spend without a contract.
    """

    tier: Tier
    price_fen: int
    min_monthly_fen: int
    contract_months: int

    def __post_init__(self) -> None:
        values = (self.price_fen, self.min_monthly_fen, self.contract_months)
        if any(type(v) is not int or v < 0 for v in values):
            raise InvalidTierPrice(tier=str(self.tier))
        if self.min_monthly_fen and not self.contract_months:
            raise InvalidTierPrice("有月最低消费时必须有合约期", tier=str(self.tier))


def _price_table(rows: dict[Tier, tuple[int, int, int]]) -> dict[Tier, TierPrice]:
    return {tier: TierPrice(tier, *row) for tier, row in rows.items()}


_T = Tier
#: Default price list per carrier code, in fen: (price, monthly minimum spend, contract months).
DEFAULT_TIER_PRICES: dict[str, dict[Tier, TierPrice]] = {
    "CMCC": _price_table({_T.S: (888_800, 28_800, 24), _T.A: (188_800, 12_800, 24),
                          _T.B: (38_800, 5_800, 12), _T.C: (8_800, 0, 0),
                          _T.D: (2_000, 0, 0), _T.NORMAL: (0, 0, 0)}),
    "CUCC": _price_table({_T.S: (666_600, 19_900, 24), _T.A: (128_800, 9_900, 24),
                          _T.B: (29_900, 3_900, 12), _T.C: (6_800, 0, 0),
                          _T.D: (1_000, 0, 0), _T.NORMAL: (0, 0, 0)}),
    "CTCC": _price_table({_T.S: (799_900, 23_900, 24), _T.A: (158_800, 12_900, 24),
                          _T.B: (35_800, 5_900, 12), _T.C: (7_800, 0, 0),
                          _T.D: (1_500, 0, 0), _T.NORMAL: (0, 0, 0)}),
    "CBN": _price_table({_T.S: (520_000, 19_200, 24), _T.A: (99_900, 5_900, 24),
                         _T.B: (19_900, 2_900, 12), _T.C: (5_800, 0, 0),
                         _T.D: (1_000, 0, 0), _T.NORMAL: (0, 0, 0)}),
    "HAOKA": _price_table({_T.S: (388_800, 9_900, 24), _T.A: (88_800, 5_900, 12),
                           _T.B: (16_800, 2_900, 12), _T.C: (3_800, 0, 0),
                           _T.D: (900, 0, 0), _T.NORMAL: (0, 0, 0)}),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Valuation:
    """A priced number with the reasons, in Chinese, for its price."""

    msisdn: str
    location: Location
    classification: Classification
    price_fen: int
    min_monthly_fen: int
    contract_months: int
    explanation: tuple[str, ...]

    @property
    def tier(self) -> Tier:
        return self.classification.tier


def _price_sentence(price: TierPrice, price_source: str) -> str:
    title = price.tier.title
    text = f"{title}免费" if price.price_fen == 0 else f"{title}售价 {format_fen(price.price_fen)}"
    if price.contract_months:
        text += (
            f"，月最低消费 {format_fen(price.min_monthly_fen)}，合约期 {price.contract_months} 个月"
        )
    else:
        text += "，无最低消费和合约期要求"
    return f"{text}（价格来源：{price_source}）" if price_source else text


def valuate(*, msisdn: str, prices: Mapping[Tier, TierPrice], price_source: str = "") -> Valuation:
    """Locate, classify and price an 11-digit national number with a tier price table
    (e.g. ``DEFAULT_TIER_PRICES["CMCC"]``); ``price_source`` names that table in the text.

    Raises InvalidMsisdn, MissingTierPrice (no row, or a row for another tier).
    """
    location = locate(msisdn=msisdn)
    classification = classify(msisdn)
    tier = classification.tier
    price = prices.get(tier)
    if price is None or price.tier != tier:
        raise MissingTierPrice(tier=str(tier))
    reasons = [explain_match(match=m, msisdn=msisdn) for m in classification.matches]
    return Valuation(
        msisdn=msisdn,
        location=location,
        classification=classification,
        price_fen=price.price_fen,
        min_monthly_fen=price.min_monthly_fen,
        contract_months=price.contract_months,
        explanation=(
            *(reasons or ["未匹配任何靓号规则"]),
            f"总分 {classification.score}，评级 {tier.label}",
            _price_sentence(price, price_source),
        ),
    )


# ---------------------------------------------------------------- number states


class NumberState(enum.StrEnum):
    AVAILABLE = "AVAILABLE"
    RESERVED = "RESERVED"
    ASSIGNED = "ASSIGNED"
    IN_USE = "IN_USE"
    COOLING = "COOLING"
    PORTED_OUT = "PORTED_OUT"


_S = NumberState
#: Allowed moves of a pool number. RESERVED -> AVAILABLE is release or hold expiry;
#: ASSIGNED -> AVAILABLE is an order cancelled or rejected before activation.
TRANSITIONS: dict[NumberState, frozenset[NumberState]] = {
    _S.AVAILABLE: frozenset({_S.RESERVED}),
    _S.RESERVED: frozenset({_S.AVAILABLE, _S.ASSIGNED}),
    _S.ASSIGNED: frozenset({_S.IN_USE, _S.AVAILABLE}),
    _S.IN_USE: frozenset({_S.COOLING, _S.PORTED_OUT}),
    _S.COOLING: frozenset({_S.AVAILABLE}),
    _S.PORTED_OUT: frozenset(),
}

COOLING_DAYS = 90  # a closed number rests this long before it is sold again
HOLD_MINUTES = 15  # a reservation lapses after this long
MAX_HOLDS_PER_USER = 3


class UnknownNumberState(ValidationError):
    code = "unknown_number_state"
    message = "未知的号码状态"


class NumberStateConflict(IllegalTransition):
    """A pool number's move not in ``TRANSITIONS`` (code ``illegal_transition``, as before)."""

    message = "号码状态不允许此变更"


MACHINE = states.Machine(
    NumberState,
    TRANSITIONS,
    error=NumberStateConflict,
    labels={
        _S.AVAILABLE: "可选",
        _S.RESERVED: "已预占",
        _S.ASSIGNED: "已分配",
        _S.IN_USE: "使用中",
        _S.COOLING: "冷冻期",
        _S.PORTED_OUT: "已携出",
    },
)


def check_transition(*, current: NumberState | str, target: NumberState | str) -> None:
    """Allow ``current -> target`` or raise; staying in the same state is not a transition.

    Raises UnknownNumberState, NumberStateConflict (details: current, target, allowed).
    """
    try:
        NumberState(current), NumberState(target)
    except ValueError:
        raise UnknownNumberState(current=str(current), target=str(target)) from None
    MACHINE.check(current=current, target=target)
