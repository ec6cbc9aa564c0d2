"""Shared set-up for the number pool's integration tests."""

from __future__ import annotations

from haoka.accounts.models import User
from haoka.catalog import operations as catalog_ops
from haoka.numbers import importer
from haoka.numbers import operations as number_ops

#: Real CMCC/CTCC/CUCC prefixes (checked against phonenumbers) with hand-picked tails.
VANITY = {
    "13912348888": "CMCC",  # four of a kind + lucky 888
    "13912345678": "CMCC",  # ascending run of 8? (12345678)
    "13912340520": "CMCC",
    "13912341314": "CMCC",
    "13912357788": "CMCC",  # AABB
    "18912345200": "CTCC",
    "18611112222": "CUCC",
}


def seed_catalog() -> None:
    catalog_ops.load_seed_catalog()
    number_ops.ensure_default_tier_prices()


def seed_numbers(*, generated: int = 300) -> importer.ImportReport:
    rows = [importer.Row(line=i, msisdn=m, carrier=c) for i, (m, c) in enumerate(VANITY.items(), 2)]
    start = len(rows) + 2
    for i, m in enumerate(importer.generated_msisdns(carrier="CMCC", count=generated, seed=7)):
        rows.append(importer.Row(line=start + i, msisdn=m, carrier="CMCC"))
    return importer.import_rows(rows=rows, source="test")


def make_user(name: str) -> User:
    return User.objects.create(username=name)
