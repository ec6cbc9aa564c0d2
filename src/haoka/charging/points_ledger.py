"""An owner's points: lots earned, spent oldest first, expired 12 months after they were
earned, each change posted on the ledger in POINTS (``points_user:<user id>``, a liability:
its balance is minus the points the owner has), never mixed with fen.

One owner's points change one at a time: every change first locks the owner's lots with
something left (``SELECT ... FOR UPDATE``, in id order), so two redemptions racing for the
last points see each other's spending; the CHECK ``0 <= remaining <= amount`` of a lot is the
last guard (points never below zero). Call these inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from haoka.charging import points
from haoka.charging.models import PointsLot
from haoka.core import accounts_chart as chart
from haoka.core import ledger


def account(user_id: int) -> str:
    code = chart.user_points(user_id=user_id)
    ledger.open_account(code=code, name=f"用户 {user_id} 积分", kind="LIABILITY")
    return code


def _locked_lots(user_id: int) -> list[PointsLot]:
    rows = PointsLot.objects.select_for_update().filter(user_id=user_id, remaining__gt=0)
    return list(rows.order_by("id"))


def earn(*, user_id: int, points: int, origin: str, now: dt.datetime) -> PointsLot:
    """A new lot of ``points`` for the owner, expiring 12 months from ``now``; posted
    ``points_issued:conversions`` -> the owner's account."""
    lot = PointsLot.objects.create(
        user_id=user_id, amount=points, remaining=points, earned_at=now,
        expires_at=_expiry(now), origin=origin,
    )  # fmt: skip
    ledger.post(
        legs=[ledger.Leg(chart.POINTS_ISSUED, points), ledger.Leg(account(user_id), -points)],
        kind="charging.points_earned", memo="流量兑换积分", key=f"points:lot:{lot.pk}",
    )  # fmt: skip
    return lot


def _expiry(now: dt.datetime) -> dt.datetime:
    return points.expiry(earned_at=now)


def spend(*, user_id: int, points_: int, key: str, now: dt.datetime) -> list[list[int]]:
    """Take ``points_`` from the owner's lots, soonest-expiring first, and post them to
    ``points_redeemed:shop``. Returns [[lot id, points], ...]. Raises NotEnoughPoints."""
    lots = _locked_lots(user_id)
    taken = points.spend(
        lots=[points.Lot(lot.pk, lot.remaining, lot.expires_at) for lot in lots],
        points=points_, at=now,
    )  # fmt: skip
    for lot_id, n in taken:
        PointsLot.objects.filter(pk=lot_id).update(remaining=F("remaining") - n)
    ledger.post(
        legs=[ledger.Leg(account(user_id), points_), ledger.Leg(chart.POINTS_REDEEMED, -points_)],
        kind="charging.points_redeemed", memo="积分兑换商品", key=key,
    )  # fmt: skip
    return [[int(lot_id), n] for lot_id, n in taken]


def take_back(*, lot_id: int, now: dt.datetime) -> None:
    """A reversed conversion's lot leaves the owner's account, whole (back to
    ``points_issued:conversions``). Raises ConversionPointsSpent when some of it was spent
    or has expired."""
    found = PointsLot.objects.filter(pk=lot_id).values_list("user_id", flat=True).first()
    _locked_lots(found)
    lot = PointsLot.objects.get(pk=lot_id)
    if lot.remaining != lot.amount or lot.expires_at <= now:
        raise points.ConversionPointsSpent(lot_id=lot_id, remaining=lot.remaining)
    PointsLot.objects.filter(pk=lot_id).update(remaining=0)
    ledger.post(
        legs=[
            ledger.Leg(account(lot.user_id), lot.amount),
            ledger.Leg(chart.POINTS_ISSUED, -lot.amount),
        ],
        kind="charging.points_taken_back", memo="积分兑换撤回", key=f"points:lot:{lot_id}:back",
    )  # fmt: skip


def expire_lots(*, now: dt.datetime, limit: int = 500) -> int:
    """What is left of lots past their expiry leaves the owners' accounts (to
    ``points_expired:lots``), one owner at a time under the lock of its lots. Safe to run
    twice. How many lots expired."""
    due = (
        PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()[:limit]
    )
    done = 0
    for user_id in list(due):
        with transaction.atomic():
            for lot in _locked_lots(user_id):
                if lot.expires_at <= now:
                    _expire(lot)
                    done += 1
    return done


def _expire(lot: PointsLot) -> None:
    PointsLot.objects.filter(pk=lot.pk).update(remaining=0)
    ledger.post(
        legs=[
            ledger.Leg(account(lot.user_id), lot.remaining),
            ledger.Leg(chart.POINTS_EXPIRED, -lot.remaining),
        ],
        kind="charging.points_expired", memo="积分到期", key=f"points:lot:{lot.pk}:expiry",
    )  # fmt: skip


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Statement:
    #: Points the owner can spend now (lots not expired).
    usable: int
    #: The ledger's balance: also what expired but the worker has not yet taken out.
    balance: int
    lots: list[PointsLot]  # usable ones, soonest expiry first


def balance(*, user_id: int) -> int:
    """The owner's points from the ledger (0 for one who never earned any)."""
    try:
        return -ledger.balance_fen(account=chart.user_points(user_id=user_id))
    except ledger.UnknownAccount:
        return 0


def statement(*, user_id: int, now: dt.datetime) -> Statement:
    """The owner's points now: usable, on the ledger, and the lots they are made of."""
    lots = PointsLot.objects.filter(user_id=user_id, remaining__gt=0, expires_at__gt=now)
    live = list(lots.order_by("expires_at", "id"))
    return Statement(sum(lot.remaining for lot in live), balance(user_id=user_id), live)
