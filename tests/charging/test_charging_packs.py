"""Add-on packs: the catalog a line's carrier offers, buying from the wallet (never money
that open sessions hold), and the buckets each kind of pack grants."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.catalog import operations as catalog_ops
from haoka.charging import packs, tariffs
from haoka.charging.models import Bucket, ChargingAccount, PackPurchase
from haoka.core import clock, ledger
from haoka.core.models import LedgerTransaction
from haoka.lines.models import Line
from tests.support.charging import (
    BASE,
    GB,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
    wallet_fen,
)
from tests.support.money import beijing, set_plan, use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"
MIN = 60


def _bucket(purchase: PackPurchase) -> Bucket:
    return Bucket.objects.get(origin=f"pack:{purchase.pk}")


def test_a_line_is_offered_the_on_sale_packs_of_its_carrier(catalog, now):
    codes = [o.code for o in packs.offers(carrier_code="CMCC")]
    assert codes[:3] == ["PK-DATA-1G-1D", "PK-DATA-10G-7D", "PK-DATA-5G-M"]  # catalog order
    assert "PK-VOICE-500-30D" in codes  # CMCC is among its carriers
    assert "PK-DATA-100G-M" not in codes and "PK-MEM-BILI-30D" not in codes  # CUCC/HAOKA only
    assert "PK-TGT-GAME-M" not in codes and "PK-DATA-2G-1D-OLD" not in codes  # draft, retired
    assert "PK-DATA-100G-M" in [o.code for o in packs.offers(carrier_code="CUCC")]


def test_buying_a_month_pack_debits_the_wallet_and_grants_data_to_the_end_of_the_month(
    catalog, now
):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    purchase = packs.buy(line_id=line.pk, pack_code="PK-DATA-5G-M", now=now)
    assert wallet_fen(line) == 4000
    assert ledger.balance_fen(account="revenue:packs") == -1000
    posting = LedgerTransaction.objects.get(key=f"pack:{purchase.pk}")
    assert posting.kind == "charging.pack"
    bucket = _bucket(purchase)
    assert (bucket.unit, bucket.source, bucket.amount, bucket.label) == (
        "BYTES", "PACK", 5 * GB, "10元5G月包"
    )  # fmt: skip
    assert (bucket.valid_from, bucket.valid_to) == (now, beijing(2026, 6, 1))
    assert bucket.rating_groups == [] and bucket.window_start is None
    assert ledger.trial_balance_fen() == 0


def test_a_pack_is_drawn_before_the_plan_allowance(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    purchase = packs.buy(line_id=line.pk, pack_code="PK-DATA-1G-1D", now=now)
    use_data(line, 300 * MB, at=now)
    assert _bucket(purchase).used == 300 * MB
    assert Bucket.objects.get(line=line, label="套餐通用流量").used == 0
    assert _bucket(purchase).valid_to == beijing(2026, 5, 11)  # a day pack: to midnight


def test_night_targeted_voice_and_membership_packs_grant_their_own_kind_of_bucket(catalog, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    night = _bucket(packs.buy(line_id=line.pk, pack_code="PK-NIGHT-10G-M", now=now))
    assert (night.window_start, night.window_end) == (dt.time(23), dt.time(7))
    targeted = _bucket(packs.buy(line_id=line.pk, pack_code="PK-TGT-TENCENT-M", now=now))
    assert targeted.rating_groups and targeted.window_start is None
    voice = _bucket(packs.buy(line_id=line.pk, pack_code="PK-VOICE-500-30D", now=now))
    assert (voice.unit, voice.amount, voice.rating_groups) == ("SECONDS", 500 * MIN, [])
    assert voice.valid_to == beijing(2026, 6, 9)  # 30 days, the day of purchase is day 1
    member = packs.buy(line_id=line.pk, pack_code="PK-MEM-TXV-30D", now=now)
    assert re.fullmatch(r"([2-9A-HJKMNP-Z]{4}-){3}[2-9A-HJKMNP-Z]{4}", member.redeem_code)
    assert member.benefit_name and _bucket(member).rating_groups
    assert wallet_fen(line) == 10_000 - 500 - 900 - 3000 - 2000
    plain = packs.buy(line_id=line.pk, pack_code="PK-DATA-5G-M", now=now)
    assert (plain.redeem_code, plain.benefit_name) == ("", "")


def test_a_pack_the_wallet_cannot_cover_is_refused_and_changes_nothing(catalog, now):
    line = make_line(plan=PLAN, balance_fen=999, now=now)
    postings = LedgerTransaction.objects.count()
    with pytest.raises(packs.InsufficientBalance) as refused:
        packs.buy(line_id=line.pk, pack_code="PK-DATA-5G-M", now=now)
    assert refused.value.status == 409 and refused.value.code == "insufficient_balance"
    assert refused.value.details["available_fen"] == 999
    assert not PackPurchase.objects.exists() and not Bucket.objects.filter(source="PACK")
    assert LedgerTransaction.objects.count() == postings and wallet_fen(line) == 999


def test_money_held_by_an_open_session_cannot_also_buy_a_pack(client, catalog, now):
    set_plan(PLAN, general_data_bytes=0, payg_data_fen_per_mb=1)
    line = make_line(plan=PLAN, balance_fen=1000, now=now)
    token = charging_token(now)
    body = request_body(line, seq=0, units=[data_unit(1003, request=300 * MB)], at=now)
    assert post(client, BASE, body, token).status_code == 201
    assert ChargingAccount.objects.get(line=line).reserved_fen == 300  # ¥3 held
    with pytest.raises(packs.InsufficientBalance):
        packs.buy(line_id=line.pk, pack_code="PK-DATA-5G-M", now=now)  # ¥10 > ¥7 free
    assert packs.buy(line_id=line.pk, pack_code="PK-NIGHT-10G-M", now=now)  # ¥5 fits
    assert wallet_fen(line) == 500


def test_unknown_off_catalog_and_other_carriers_packs_cannot_be_bought(catalog, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    for code in ("PK-NOPE", "PK-TGT-GAME-M", "PK-DATA-100G-M"):
        with pytest.raises(packs.PackNotFound):
            packs.buy(line_id=line.pk, pack_code=code, now=now)
    assert wallet_fen(line) == 10_000


def test_a_suspended_line_cannot_buy_packs(catalog, now):
    line = make_line(plan=PLAN, balance_fen=10_000, now=now)
    Line.objects.filter(pk=line.pk).update(status="SUSPENDED", suspend_reason="ARREARS")
    with pytest.raises(packs.LineNotActive):
        packs.buy(line_id=line.pk, pack_code="PK-DATA-5G-M", now=now)


@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_never_spend_more_than_the_wallet_holds():
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    now = clock.now()
    line = make_line(plan=PLAN, balance_fen=2000, now=now)  # four ¥5 packs
    barrier = threading.Barrier(10)

    def buy(i: int):
        try:
            barrier.wait(timeout=30)
            return packs.buy(line_id=line.pk, pack_code="PK-NIGHT-10G-M", now=now)
        except Exception as exc:  # the test counts what each thread met
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(buy, range(10)))
    bought = [r for r in results if isinstance(r, PackPurchase)]
    refused = [r for r in results if isinstance(r, packs.InsufficientBalance)]
    assert (len(bought), len(refused)) == (4, 6)
    assert wallet_fen(line) == 0 and Bucket.objects.filter(source="PACK").count() == 4
    assert ledger.trial_balance_fen() == 0
