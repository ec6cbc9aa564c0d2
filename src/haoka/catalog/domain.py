"""Pure rules of the catalog: where and to whom a plan may be sold, and how it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

#: Mainland provincial divisions, short names as used in addresses and 归属地.
PROVINCES = (
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
)


def _norm(region: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
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
    """May a plan be shipped to (province, city)? Forbidden entries are "省" or "省/市"."""
    p, c = _norm(province.strip()), _norm(city.strip())
    for entry in forbidden_regions:
        fp, _, fc = entry.partition("/")
        if _norm(fp) == p and (not fc or _norm(fc) == c):
            return RegionVerdict(False, f"该套餐不向{entry}发货（禁发区）")
    if sale_regions and p not in {_norm(r) for r in sale_regions}:
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
