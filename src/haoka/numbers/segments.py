"""归属地 of prefixes phonenumbers cannot geocode: 中国广电's 192 segment (phonenumbers knows it
as 中国广电 but places it only in 中国). Read once from ``cbn_segments.csv``, shipped with the
package; its source and how to regenerate it are in ``scripts/cbn_segments.py`` (a community
table, phone.dat 2312: a prefix it does not list stays 归属地未知)."""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources

TABLE = "cbn_segments.csv"


@functools.cache
def _table() -> dict[str, tuple[str, str]]:
    text = resources.files("haoka.numbers").joinpath(TABLE).read_text(encoding="utf-8")
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    return {row["prefix7"]: (row["province"], row["city"]) for row in csv.DictReader(lines)}


def location_of(prefix7: str) -> tuple[str, str]:
    """Province and city of a 7-digit prefix in the table ("广东", "佛山"), or ("", "")."""
    return _table().get(prefix7, ("", ""))
