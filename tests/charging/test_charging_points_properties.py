"""Property tests (hypothesis) of points on the database: whatever sequence of conversions,
redemptions, usage, reversals, repeats and expiry an owner goes through, bytes are conserved
(buckets + converted + lapsed = what the plan and packs granted), points are conserved
(earned = left + spent + expired + taken back), no lot and no balance goes below zero, a
repeated request changes nothing, a refusal changes nothing, and every unit's ledger balances.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging import conversions, movements, packs, points, points_ledger, points_shop
from haoka.charging.models import (
    Bucket,
    CouponCode,
    DataMovement,
    PointsConversion,
    PointsLot,
    PointsRedemption,
    ShopItem,
)
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.errors import HaokaError
from tests.support.charging import GB, MB, make_line
from tests.support.money import use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
PACK = "PK-DATA-10G-7D"
#: Steps of ~2 days from 10 May: the later ones fall in the month's last 3 days.
STEP = dt.timedelta(hours=47)
REFUSALS = (
    movements.NotEnoughData,
    points.NotEnoughPoints,
    points.CouponsSoldOut,
    points.ConversionPointsSpent,
    points.ConversionStateConflict,
)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("convert"), st.integers(100, 6000)),
        st.tuples(st.just("redeem"), st.sampled_from(["pack", "coupon"])),
        st.tuples(st.just("use"), st.integers(1, 20_000)),
        st.tuples(st.just("reverse")),
        st.tuples(st.just("repeat")),
    ),
    max_size=10,
)


def _snapshot(line) -> tuple:
    return (
        list(
            Bucket.objects.filter(line=line, unit="BYTES")
            .order_by("id")
            .values_list("id", "amount", "moved_out", "used")
        ),
        list(PointsLot.objects.order_by("id").values_list("id", "remaining")),
        DataMovement.objects.count(),
        PointsRedemption.objects.count(),
        list(PointsConversion.objects.order_by("id").values_list("id", "state")),
        points_ledger.balance(user_id=line.user_id),
    )


def _bytes(line) -> int:
    on_buckets = Bucket.objects.filter(line=line, unit="BYTES").aggregate(s=Sum("amount"))["s"]
    lapsed = DataMovement.objects.aggregate(s=Sum("lapsed"))["s"] or 0
    converted = -ledger.balance_fen(account=chart.DATA_CONVERTED)
    return on_buckets + converted + lapsed


def _sum(rows, field) -> int:
    return rows.aggregate(s=Sum(field))["s"] or 0


def _check(line, granted: int) -> None:
    assert _bytes(line) == granted
    assert not Bucket.objects.filter(amount__lt=F("used") + F("reserved")).exists()
    lots = PointsLot.objects.filter(user_id=line.user_id)
    left = _sum(lots, "remaining")
    assert points_ledger.balance(user_id=line.user_id) == left >= 0
    assert not lots.filter(remaining__lt=0).exists()
    spent = _sum(PointsRedemption.objects.filter(user_id=line.user_id), "points")
    expired = -ledger.balance_fen(account=chart.POINTS_EXPIRED)
    taken_back = _sum(PointsConversion.objects.filter(state="REVERSED"), "points")
    assert _sum(lots, "amount") == left + spent + expired + taken_back
    assert set(ledger.trial_balances().values()) <= {0}
    assert ledger.unbalanced_transactions() == []


def _run(step, line, at, last: dict) -> int:
    """Do the step; what it granted (bytes of a pack bought with points)."""
    kind, key = step[0], f"k-{at.timestamp()}"
    if kind == "convert":
        last["repeat"] = lambda: conversions.convert(
            line_id=line.pk, megabytes=step[1], now=at, request_key=key
        )
    elif kind == "redeem":
        item = "pack-10g" if step[1] == "pack" else "coffee"
        last["repeat"] = lambda: points_shop.redeem(
            user_id=line.user_id, item_code=item, line_id=line.pk, request_key=key, now=at
        )
        last["repeat"]()
        return 10 * GB if item == "pack-10g" else 0
    elif kind == "use":
        use_data(line, step[1] * MB, at=at)
        return 0
    elif kind == "reverse":
        done = PointsConversion.objects.filter(state="DONE").order_by("-id").first()
        if done is not None:
            conversions.reverse(conversion_id=done.pk, actor="staff:test", now=at)
        return 0
    elif kind == "repeat" and "repeat" in last:
        before = _snapshot(line)
        with contextlib.suppress(REFUSALS):
            last["repeat"]()
        assert _snapshot(line) == before  # a repeated request changes nothing
        return 0
    if kind == "convert":
        last["repeat"]()
    return 0


def _shop() -> None:
    ShopItem.objects.create(code="pack-10g", name="10G", kind="PACK", pack_code=PACK,
                            price_points=300)  # fmt: skip
    coupon = ShopItem.objects.create(code="coffee", name="咖啡券", kind="COUPON", price_points=50)
    points_shop.add_codes(item_id=coupon.pk, codes=["A1", "A2", "A3"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps, expire=st.booleans())
def test_bytes_and_points_are_conserved_and_never_negative_whatever_the_owner_does(
    catalog, now, sequence, expire
):
    with transaction.atomic():
        line = make_line(plan=PLAN, balance_fen=10_000, now=now)
        conversions.set_rate(points_per_gb=100, valid_from=now, actor="test", now=now)
        _shop()
        for _ in range(3):
            packs.buy(line_id=line.pk, pack_code=PACK, now=now)
        granted = _bytes(line)
        last: dict = {}
        for i, step in enumerate(sequence):
            at = now + STEP * (i + 1)
            before = _snapshot(line)
            with clock.frozen(at):
                try:
                    granted += _run(step, line, at, last)
                except REFUSALS:
                    assert _snapshot(line) == before  # a refusal changes nothing
                except HaokaError as refused:  # anything else refused is a bug here
                    raise AssertionError(refused.code) from refused
            _check(line, granted)
        if expire:
            points_ledger.expire_lots(now=now.replace(year=2028))
            assert points_ledger.balance(user_id=line.user_id) == 0
            _check(line, granted)
        assert CouponCode.objects.filter(redemption__isnull=False).count() == (
            PointsRedemption.objects.filter(item__code="coffee").count()
        )
        transaction.set_rollback(True)
