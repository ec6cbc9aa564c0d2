"""On PostgreSQL, redemptions racing: two for the owner's last points (one wins, the other
finds too few: points never below zero) and two owners for a coupon's last code (one gets
it, the other is told it is sold out and keeps its points; no code is given twice)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.charging import conversions, movements, packs, points, points_ledger, points_shop
from haoka.charging.models import (
    Bucket,
    CouponCode,
    PackPurchase,
    PointsLot,
    PointsRedemption,
    ShopItem,
)
from haoka.core import clock, ledger
from tests.support.charging import BASE, GB, MB, charging_token, data_unit, make_line, post
from tests.support.charging import request_body as nchf_body
from tests.support.clients import ProductionClient
from tests.support.money import beijing, use_data

PLAN = "CM-MANGO-39"
PACK = "PK-DATA-10G-7D"
RACERS = 2


def _owner_with_points(now, megabytes: int):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    conversions.convert(line_id=line.pk, megabytes=megabytes, now=now,
                        request_key="earn")  # fmt: skip
    return line


def _race(redeem) -> list:
    """Run ``redeem(i)`` in RACERS threads released at once; each result or refusal."""
    barrier = threading.Barrier(RACERS)

    def one(i: int):
        try:
            barrier.wait(timeout=30)
            return redeem(i)
        except (points.NotEnoughPoints, points.CouponsSoldOut) as refused:
            return refused
        finally:
            connections.close_all()

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_racing_for_the_last_points_never_take_them_below_zero(postgres, catalog):
    now = clock.now()
    conversions.set_rate(points_per_gb=100, valid_from=now, actor="test", now=now)
    line = _owner_with_points(now, 3072)  # 300 points
    item = ShopItem.objects.create(code="all", name="全部积分", kind="COUPON", price_points=300)
    points_shop.add_codes(item_id=item.pk, codes=["X1", "X2"])
    results = _race(lambda i: points_shop.redeem(
        user_id=line.user_id, item_code="all", line_id=None, request_key=f"r{i}", now=now,
    ))  # fmt: skip
    won = [r for r in results if isinstance(r, PointsRedemption)]
    lost = [r for r in results if isinstance(r, points.NotEnoughPoints)]
    assert (len(won), len(lost)) == (1, 1), results
    assert PointsLot.objects.get().remaining == 0
    assert points_ledger.balance(user_id=line.user_id) == 0
    assert PointsRedemption.objects.count() == 1
    assert CouponCode.objects.filter(redemption__isnull=False).count() == 1
    assert set(ledger.trial_balances().values()) <= {0}


@pytest.mark.django_db(transaction=True)
def test_two_pack_redemptions_racing_on_one_line_activate_one_pack(postgres, catalog):
    now = clock.now()
    conversions.set_rate(points_per_gb=100, valid_from=now, actor="test", now=now)
    line = _owner_with_points(now, 3072)  # 300 points
    ShopItem.objects.create(code="pack", name="10G", kind="PACK", pack_code=PACK, price_points=200)
    results = _race(lambda i: points_shop.redeem(
        user_id=line.user_id, item_code="pack", line_id=line.pk, request_key=f"r{i}", now=now,
    ))  # fmt: skip
    won = [r for r in results if isinstance(r, PointsRedemption)]
    assert len(won) == 1 and isinstance(next(r for r in results if r not in won),
                                        points.NotEnoughPoints), results  # fmt: skip
    assert points_ledger.balance(user_id=line.user_id) == 100
    assert PackPurchase.objects.filter(line=line, price_fen=0).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_owners_racing_for_the_last_coupon_code_never_get_the_same_one(postgres, catalog):
    now = clock.now()
    conversions.set_rate(points_per_gb=100, valid_from=now, actor="test", now=now)
    owners = [_owner_with_points(now, 1024) for _ in range(RACERS)]  # 100 points each
    item = ShopItem.objects.create(code="last", name="最后一张", kind="COUPON", price_points=60)
    points_shop.add_codes(item_id=item.pk, codes=["ONLY-ONE"])
    results = _race(lambda i: points_shop.redeem(
        user_id=owners[i].user_id, item_code="last", line_id=None, request_key="r", now=now,
    ))  # fmt: skip
    won = [r for r in results if isinstance(r, PointsRedemption)]
    lost = [r for r in results if isinstance(r, points.CouponsSoldOut)]
    assert (len(won), len(lost)) == (1, 1), results
    assert won[0].coupon_code == "ONLY-ONE"
    left = sorted(points_ledger.balance(user_id=o.user_id) for o in owners)
    assert left == [40, 100]  # the loser spent nothing
    assert CouponCode.objects.get().redemption_id == won[0].pk


SESSIONS = 6


@pytest.mark.django_db(transaction=True)
def test_a_conversion_racing_the_lines_sessions_never_lets_both_spend_the_same_bytes(
    postgres, catalog
):
    at = beijing(2026, 5, 30, 12)  # the month's last days: plan data converts
    with clock.frozen(at, all_threads=True):
        conversions.set_rate(points_per_gb=100, valid_from=at, actor="test", now=at)
        line = make_line(plan=PLAN, now=at)
        use_data(line, 37 * GB, at=at)  # 3 GB left; six sessions may ask for 6 GB
        token = charging_token(at)
        barrier = threading.Barrier(SESSIONS + 1)

        def session(i: int) -> int:
            try:
                body = nchf_body(line, seq=0, units=[data_unit(1003, request=GB)], at=at)
                body["nfConsumerIdentification"]["nFName"] = f"smf-{i}"
                barrier.wait(timeout=30)
                created = post(ProductionClient(), BASE, body, token)
                assert created.status_code == 201, created.content
                unit = created.json()["multipleUnitInformation"][0]
                return unit.get("grantedUnit", {}).get("totalVolume", 0)
            finally:
                connections.close_all()

        def convert() -> int:
            try:
                barrier.wait(timeout=30)
                with contextlib.suppress(movements.NotEnoughData):  # the sessions were first
                    done = conversions.convert(line_id=line.pk, megabytes=2560, now=at,
                                               request_key="race")  # fmt: skip
                    return done.amount
                return 0
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=SESSIONS + 1) as pool:
            converting = pool.submit(convert)
            granted = list(pool.map(session, range(SESSIONS)))
            converted = converting.result()
    assert converted in (0, 2560 * MB)
    assert sum(granted) + converted <= 3 * GB
    plan = Bucket.objects.get(line=line, origin__endswith=":data", source="PLAN")
    assert plan.amount + plan.moved_out == 40 * GB and plan.moved_out == converted
    assert plan.used + plan.reserved <= plan.amount and plan.reserved == sum(granted)
    assert -ledger.balance_fen(account="data_converted:points") == converted
