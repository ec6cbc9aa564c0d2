"""Helpers for kyc tests. Every ID number here is made up (area codes of real districts, made-up
dates and sequences) and gets its check digit from :func:`make_id`, which implements
GB 11643-1999 independently of the code under test."""

from __future__ import annotations

import datetime as dt
import itertools

from haoka.accounts.models import User
from haoka.kyc import operations
from haoka.kyc.domain import Address, PlanTerms
from haoka.kyc.providers import VerifierAnswer, VerifierUnavailable

#: Beijing noon on 2026-03-01.
NOW = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def make_id(area: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    body = area + birth + seq
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


ID_A = make_id("110101", "19900307", "123")  # 110101199003071233
ID_B = make_id("310104", "19880606", "789")
ID_C = make_id("440305", "19851231", "001")
NAME = "李小龙"
PHONE = "13912345678"

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
GIF = b"GIF89a" + bytes(100)


def address(**overrides) -> Address:
    fields = {
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "detail": "科技园科苑路 8 号 1201 室",
        "receiver": NAME,
        "phone": PHONE,
    }
    return Address(**{**fields, **overrides})


def plan(**overrides) -> PlanTerms:
    fields = {
        "code": "CMCC-39",
        "min_age": 16,
        "max_age": 65,
        "sale_regions": (),
        "forbidden_regions": (),
        "requires_photos": False,
    }
    return PlanTerms(**{**fields, **overrides})


_refs = itertools.count(1)


def new_ref() -> str:
    return f"HKTEST{next(_refs):010d}"


def make_user(username: str = "buyer"):
    return User.objects.get_or_create(username=username)[0]


def check(*, user=None, order_ref: str | None = None, **overrides):
    """check_identity with sensible defaults; any argument may be overridden."""
    user = user or make_user()
    kwargs = {
        "order_ref": new_ref() if order_ref is None else order_ref,
        "user_id": user.pk,
        "carrier": "CMCC",
        "name": NAME,
        "id_number": ID_A,
        "phone": PHONE,
        "address": address(),
        "plan": plan(),
        "photos": None,
        "now": NOW,
    }
    kwargs.update(overrides)
    return operations.check_identity(**kwargs)


class CountingVerifier:
    """A provider that remembers how often it was asked (selected through settings)."""

    calls = 0

    def verify(self, *, name: str, id_number: str):
        type(self).calls += 1
        return VerifierAnswer(True)


class BrokenVerifier:
    def verify(self, *, name: str, id_number: str):
        raise VerifierUnavailable()
