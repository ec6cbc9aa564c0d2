"""Pure rules of the catalog: where and to whom a plan may be sold, and how it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

GB = 1024**3
MB = 1024**2
MAX_COMPARE = 3
#: The kinds of add-on packs and their Chinese names (the pack model's choices).
PACK_KIND_LABELS = {
    "DATA": "流量包",
    "VOICE": "语音包",
    "NIGHT": "夜间包",
    "TARGETED": "定向包",
    "MEMBERSHIP": "会员包",
}


class FirstMonth(StrEnum):
    """How a plan treats the month a line is activated in (a plan term, shown in its text;
    the arithmetic is ``charging.domain.first_month``). From the next month on every plan is
    charged and granted in full."""

    PRORATED = "PRORATED"  # fee and allowances by the days left (the default)
    FEE_PRORATED = "FEE_PRORATED"  # fee by the days left, allowances in full
    FULL = "FULL"  # 全月: full fee, full allowances
    FREE = "FREE"  # 首月免月租: no fee, full allowances
    NEXT_MONTH = "NEXT_MONTH"  # 次月生效: no fee, no allowances (usage at the plan's rates)


#: The plan-text wording of each first-month term (the plan model's choices).
FIRST_MONTH_LABELS = {
    FirstMonth.PRORATED: "首月月租及流量按天折算",
    FirstMonth.FEE_PRORATED: "首月月租按天折算，套餐额度全量",
    FirstMonth.FULL: "首月全月计费，套餐额度全量",
    FirstMonth.FREE: "首月免月租，套餐额度全量",
    FirstMonth.NEXT_MONTH: "次月生效：首月不收月租、不含套餐额度，用量按套外资费计费",
}

# ---------------------------------------------------------------- provinces and cities

#: Every provincial-level division (GB/T 2260): short name -> full official name, the form
#: addresses and couriers print. 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs.
PROVINCE_NAMES: dict[str, str] = {
    "北京": "北京市", "天津": "天津市", "河北": "河北省", "山西": "山西省",
    "内蒙古": "内蒙古自治区", "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省",
    "上海": "上海市", "江苏": "江苏省", "浙江": "浙江省", "安徽": "安徽省", "福建": "福建省",
    "江西": "江西省", "山东": "山东省", "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省",
    "广东": "广东省", "广西": "广西壮族自治区", "海南": "海南省", "重庆": "重庆市",
    "四川": "四川省", "贵州": "贵州省", "云南": "云南省", "西藏": "西藏自治区",
    "陕西": "陕西省", "甘肃": "甘肃省", "青海": "青海省", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区", "台湾": "台湾省", "香港": "香港特别行政区",
    "澳门": "澳门特别行政区",
}  # fmt: skip
#: Where a mainland SIM is not delivered: the divisions outside the mainland's carriers.
UNDELIVERABLE_PROVINCES = frozenset({"台湾省", "香港特别行政区", "澳门特别行政区"})
#: Mainland provincial divisions, short names as used in plan regions and 归属地.
PROVINCES = tuple(s for s, full in PROVINCE_NAMES.items() if full not in UNDELIVERABLE_PROVINCES)
#: The same in full, as address forms list them.
MAINLAND_PROVINCE_NAMES = tuple(PROVINCE_NAMES[s] for s in PROVINCES)
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})
_PROVINCE_BY_NAME = {**{f: f for f in PROVINCE_NAMES.values()}, **PROVINCE_NAMES}
_SHORT_BY_FULL = {full: short for short, full in PROVINCE_NAMES.items()}

#: Prefecture-level divisions not named 市 (地区, 盟, 自治州; and the 林区 ruled directly by
#: its province): province -> (short name, full name). Any other city is "<name>市".
_NOT_CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "黑龙江省": (("大兴安岭", "大兴安岭地区"),),
    "内蒙古自治区": (("兴安", "兴安盟"), ("锡林郭勒", "锡林郭勒盟"), ("阿拉善", "阿拉善盟")),
    "吉林省": (("延边", "延边朝鲜族自治州"),),
    "湖北省": (("恩施", "恩施土家族苗族自治州"), ("神农架", "神农架林区")),
    "湖南省": (("湘西", "湘西土家族苗族自治州"),),
    "四川省": (("阿坝", "阿坝藏族羌族自治州"), ("甘孜", "甘孜藏族自治州"),
               ("凉山", "凉山彝族自治州")),
    "贵州省": (("黔西南", "黔西南布依族苗族自治州"), ("黔东南", "黔东南苗族侗族自治州"),
               ("黔南", "黔南布依族苗族自治州")),
    "云南省": (("楚雄", "楚雄彝族自治州"), ("红河", "红河哈尼族彝族自治州"),
               ("文山", "文山壮族苗族自治州"), ("西双版纳", "西双版纳傣族自治州"),
               ("大理", "大理白族自治州"), ("德宏", "德宏傣族景颇族自治州"),
               ("怒江", "怒江傈僳族自治州"), ("迪庆", "迪庆藏族自治州")),
    "西藏自治区": (("阿里", "阿里地区"),),
    "甘肃省": (("临夏", "临夏回族自治州"), ("甘南", "甘南藏族自治州")),
    "青海省": (("海北", "海北藏族自治州"), ("黄南", "黄南藏族自治州"),
               ("海南", "海南藏族自治州"), ("果洛", "果洛藏族自治州"),
               ("玉树", "玉树藏族自治州"), ("海西", "海西蒙古族藏族自治州")),
    "新疆维吾尔自治区": (("昌吉", "昌吉回族自治州"), ("博尔塔拉", "博尔塔拉蒙古自治州"),
                         ("巴音郭楞", "巴音郭楞蒙古自治州"),
                         ("克孜勒苏", "克孜勒苏柯尔克孜自治州"), ("伊犁", "伊犁哈萨克自治州"),
                         ("阿克苏", "阿克苏地区"), ("喀什", "喀什地区"), ("和田", "和田地区"),
                         ("塔城", "塔城地区"), ("阿勒泰", "阿勒泰地区")),
}  # fmt: skip
_SHORT_STYLE = {"自治州": "州"}  # "大理州", "恩施州": how people shorten an autonomous prefecture
#: Endings that already name a level (a city, a prefecture, or a district or county written
#: where the city goes); anything else is a city's short name ("深圳", "广州").
_NAMED_LEVELS = ("市", "地区", "自治州", "盟", "林区", "区", "县", "旗")


def _variants(short: str, full: str) -> dict[str, str]:
    written = {short: full, full: full}
    if full.endswith("自治州"):
        written[short + _SHORT_STYLE["自治州"]] = full
    return written


_CITY_BY_NAME: dict[str, dict[str, str]] = {
    province: {k: v for short, full in pairs for k, v in _variants(short, full).items()}
    for province, pairs in _NOT_CITIES.items()
}
_CITY_SHORT: dict[str, str] = {
    written: short
    for pairs in _NOT_CITIES.values()
    for short, full in pairs
    for written in _variants(short, full)
}


def _squeeze(text: str) -> str:
    return "".join((text or "").split())


def canonical_province(text: str) -> str:
    """The full official name of a provincial-level division, written in full or short:
    "广东省" and "广东" -> "广东省", "广西" -> "广西壮族自治区", "北京" -> "北京市".
    "" when ``text`` names none."""
    return _PROVINCE_BY_NAME.get(_squeeze(text), "")


def deliverable(province: str) -> bool:
    """Is an address in ``province`` (any form) one a mainland SIM is delivered to?"""
    full = canonical_province(province)
    return bool(full) and full not in UNDELIVERABLE_PROVINCES


def canonical_city(text: str, *, province: str) -> str:
    """The full name of a prefecture-level city of ``province`` written with or without its
    ending: "深圳" and "深圳市" -> "深圳市", "喀什" -> "喀什地区", "延边"/"延边州" ->
    "延边朝鲜族自治州", "北京" (in 北京市) -> "北京市". A name that already ends in a level
    (市, 地区, 自治州, 盟, 区, 县...) is kept as written; "" stays ""."""
    city = _squeeze(text)
    if not city:
        return ""
    full_province = canonical_province(province)
    if full_province in MUNICIPALITIES and city in (full_province, _SHORT_BY_FULL[full_province]):
        return full_province
    named = _CITY_BY_NAME.get(full_province, {}).get(city)
    if named:
        return named
    return city if city.endswith(_NAMED_LEVELS) else city + "市"


def province_key(text: str) -> str:
    """The short name of a province in any form, for comparisons ("广东省" -> "广东"); an
    unknown name loses the usual endings only."""
    full = canonical_province(text)
    return _SHORT_BY_FULL[full] if full else _strip(_squeeze(text), _PROVINCE_ENDINGS)


def city_key(text: str) -> str:
    """The short name of a city in any form, for comparisons ("揭阳市" -> "揭阳", "喀什地区"
    -> "喀什", "大理州" -> "大理")."""
    city = _squeeze(text)
    return _CITY_SHORT.get(city) or _strip(city, ("市", "地区"))


_PROVINCE_ENDINGS = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")


def _strip(region: str, endings: Sequence[str]) -> str:
    for suffix in endings:
        if region.endswith(suffix) and len(region) > len(suffix):
            return region[: -len(suffix)]
    return region


@dataclass(frozen=True)
class RegionVerdict:
    allowed: bool
    reason: str = ""


def region_verdict(
    *, sale_regions: Sequence[str], forbidden_regions: Sequence[str], province: str, city: str
) -> RegionVerdict:
    """May a plan be shipped to (province, city)? Forbidden entries are "省" or "省/市";
    names match in full or short form on either side ("广东" matches "广东省")."""
    p, c = province_key(province), city_key(city)
    for entry in forbidden_regions:
        fp, _, fc = entry.partition("/")
        if province_key(fp) == p and (not fc or city_key(fc) == c):
            return RegionVerdict(False, f"该套餐不向{entry}发货（禁发区）")
    if sale_regions and p not in {province_key(r) for r in sale_regions}:
        return RegionVerdict(False, f"该套餐仅在{'、'.join(sale_regions)}销售")
    return RegionVerdict(True)


def age_allowed(*, age: int, min_age: int, max_age: int) -> bool:
    return min_age <= age <= max_age


def format_data(num_bytes: int) -> str:
    """Human data size in the way Chinese plans are written: 70G, 500M, 1.5G."""
    if num_bytes <= 0:
        return "0"
    if num_bytes >= GB:
        value = num_bytes / GB
        return f"{value:.0f}G" if value == int(value) else f"{value:.1f}G"
    value = num_bytes / MB
    return f"{value:.0f}M"


def format_minutes(seconds: int) -> str:
    return f"{seconds // 60}分钟"


@dataclass(frozen=True)
class CompareCell:
    text: str
    best: bool = False


def compare_row(values: Sequence[int], *, higher_is_better: bool) -> list[bool]:
    """Which of the values is the best in a compare row (ties all marked; none if all equal)."""
    if len(set(values)) <= 1:
        return [False] * len(values)
    target = max(values) if higher_is_better else min(values)
    return [v == target for v in values]
