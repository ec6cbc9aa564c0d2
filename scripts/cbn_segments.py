"""Regenerate src/haoka/numbers/cbn_segments.csv, the 归属地 of 中国广电's 192 segment.

phonenumbers (libphonenumber) knows 192 as 中国广电 but has no geocoding for it, so haoka ships
this table. Its source is ``phone.dat`` version 2312 (December 2023), the community-maintained
prefix database shipped in the PyPI package ``phone`` 0.4.5 (ls0f/phone, MIT; the same file
xluohome/phonedata reads). It is not an official MIIT allocation list: a prefix it does not
list stays 归属地未知.

    pip download phone==0.4.5 --no-deps && tar xzf phone-0.4.5.tar.gz
    python scripts/cbn_segments.py phone-0.4.5/phone/phone.dat > src/haoka/numbers/cbn_segments.csv

phone.dat: an 8-byte header ``<4si`` (version, offset of the index), records
``province|city|zip|area code\\0``, then 9-byte index entries ``<iiB`` (7-digit prefix, record
offset, card type).
"""

from __future__ import annotations

import struct
import sys

FIRST, LAST = 1920000, 1929999


def rows(data: bytes):
    version, index = struct.unpack("<4si", data[:8])
    source = f"phone.dat {version.decode()} (see scripts/cbn_segments.py)"
    yield f"# 中国广电 192 号段归属地, from {source}"
    yield "prefix7,province,city"
    for at in range(index, len(data) - 8, 9):
        prefix, offset, _card_type = struct.unpack("<iiB", data[at : at + 9])
        if FIRST <= prefix <= LAST:
            end = data.index(b"\0", offset)
            province, city, *_ = data[offset:end].decode().split("|")
            yield f"{prefix},{province},{city}"


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as source:
        for line in rows(source.read()):
            print(line)
