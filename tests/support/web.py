"""Page test helpers: seed data (catalog, tier prices, a small number pool), users, OTP codes."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

from haoka.accounts.models import SandboxSms
from haoka.catalog.operations import load_seed_catalog
from haoka.core import clock
from haoka.numbers import operations
from haoka.numbers.importer import Row, generated_msisdns, import_rows
from haoka.numbers.operations import ensure_default_tier_prices

#: Hand-picked vanity numbers on real prefixes: msisdn -> carrier.
VANITY = {
    "13912348888": "CMCC",  # A: 四连 + 888
    "13812341234": "CMCC",  # S: ABCDABCD
    "13900001314": "CMCC",  # C: 1314
    "13800138000": "CMCC",  # C: 豹子
    "13811115200": "CMCC",  # 普通
    "18612345678": "CUCC",  # S: 八位顺子
    "18988886666": "CTCC",  # A: 四连 + 666
}
GENERATED = 200
#: Request headers of an htmx fragment request.
HTMX = {"HTTP_HX_REQUEST": "true"}


def seed_catalog() -> None:
    load_seed_catalog()
    ensure_default_tier_prices()


def seed_numbers() -> None:
    rows = [Row(line=i, msisdn=m, carrier=c) for i, (m, c) in enumerate(VANITY.items(), start=1)]
    generated = generated_msisdns(carrier="CMCC", count=GENERATED, seed=1)
    rows += [Row(line=100 + i, msisdn=m, carrier="CMCC") for i, m in enumerate(generated)]
    report = import_rows(rows=rows, source="test")
    assert report.imported == len(VANITY) + GENERATED, report.errors[:3]


def make_user(phone: str):
    return get_user_model().objects.create(username=phone, phone=phone)


def latest_otp(phone: str) -> str:
    """The code in the newest sandbox SMS to ``phone``."""

    text = (
        SandboxSms.objects.filter(phone=phone)
        .order_by("-sent_at", "-id")
        .values_list("text", flat=True)
        .first()
    )
    assert text, f"no SMS to {phone}"
    return re.search(r"\d{6}", text).group(0)


def hold_for(*, user, msisdn: str):
    """Reserve ``msisdn`` for ``user`` now (through the numbers operations)."""

    return operations.reserve(user_id=user.pk, msisdn=msisdn, now=clock.now())
