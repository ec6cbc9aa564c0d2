"""The points shop (积分商城): items staff put on sale, bought with points.

A redemption spends the owner's points oldest lot first (``points_ledger.spend``: never below
zero) and delivers in the same transaction: a PACK or MEMBERSHIP item is activated on the
owner's line by the pack operation (``packs.give``: the catalog pack's buckets, a membership's
redeem code); a COUPON item hands out one unissued code of its stock, locked with ``SKIP
LOCKED`` so two redemptions racing for the last code never get the same one (the loser finds
none: CouponsSoldOut, and its points are not spent: the whole transaction rolls back).

Locks, in this order (the order a conversion's reversal takes them): the line's charging
lock (when a line receives the item), then the owner's lots, then a coupon code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import structlog
from django.db import IntegrityError, transaction

from haoka.charging import dataflow, packs, points, points_ledger
from haoka.charging.models import CouponCode, PointsRedemption, ShopItem
from haoka.charging.points import ShopItemKind
from haoka.core import accounts_chart as chart
from haoka.core import ledger

log = structlog.get_logger(__name__)


def items() -> list[ShopItem]:
    """Items on sale, in shop order (a coupon only while its stock lasts)."""
    on_sale = ShopItem.objects.filter(active=True).order_by("sort", "price_points", "id")
    stocked = set(
        CouponCode.objects.filter(redemption__isnull=True).values_list("item_id", flat=True)
    )
    return [i for i in on_sale if i.kind != ShopItemKind.COUPON or i.pk in stocked]


def add_codes(*, item_id: int, codes: Iterable[str]) -> int:
    """Add coupon codes to an item's stock (codes already there are skipped). How many new."""
    wanted = {c.strip() for c in codes if c.strip()}
    rows = [CouponCode(item_id=item_id, code=c[:60]) for c in sorted(wanted)]
    return len(CouponCode.objects.bulk_create(rows, ignore_conflicts=True))


def redeem(
    *, user_id: int, item_code: str, line_id: int | None, request_key: str, now: dt.datetime
) -> PointsRedemption:
    """Spend the item's price in points and deliver it (onto ``line_id`` for a pack or a
    membership: a line of the owner's, checked by the caller). The same ``request_key`` again
    returns the first redemption. Raises RedemptionKeyRequired, ShopItemNotFound,
    LineRequired, NotEnoughPoints, CouponsSoldOut, RedemptionKeyReused, PackNotFound,
    LineNotActive."""
    if not request_key:  # UNIQUE (owner, key): an empty one would allow one redemption ever
        raise points.RedemptionKeyRequired()
    item = ShopItem.objects.filter(code=str(item_code)[:40], active=True).first()
    if item is None:
        raise points.ShopItemNotFound(item=str(item_code)[:40])
    if (first := _first(user_id, request_key, item)) is not None:
        return first
    if item.kind != ShopItemKind.COUPON and line_id is None:
        raise points.LineRequired()
    try:
        with transaction.atomic():
            return _redeem(item, user_id=user_id, line_id=line_id, key=request_key, now=now)
    except IntegrityError:  # the same key, concurrently: the other one won
        if (first := _first(user_id, request_key, item)) is not None:
            return first
        raise


def _first(user_id: int, request_key: str, item: ShopItem) -> PointsRedemption | None:
    found = PointsRedemption.objects.filter(user_id=user_id, request_key=request_key).first()
    if found is not None and found.item_id != item.pk:
        raise points.RedemptionKeyReused()
    return found


def _redeem(
    item: ShopItem, *, user_id: int, line_id: int | None, key: str, now: dt.datetime
) -> PointsRedemption:
    if item.kind != ShopItemKind.COUPON:
        dataflow.lock_lines([line_id], now=now)
    redemption = PointsRedemption.objects.create(
        user_id=user_id, item=item, line_id=line_id if item.kind != ShopItemKind.COUPON else None,
        points=item.price_points, request_key=key, created_at=now,
    )  # fmt: skip
    redemption.takes = points_ledger.spend(
        user_id=user_id, points_=item.price_points, key=f"points:redemption:{redemption.pk}",
        now=now,
    )  # fmt: skip
    if item.kind == ShopItemKind.COUPON:
        redemption.coupon_code = _hand_out(item, redemption, now=now)
    else:
        purchase = packs.give(line_id=line_id, pack_code=item.pack_code, now=now)
        redemption.pack_purchase_id = purchase.pk
        redemption.coupon_code = purchase.redeem_code  # a membership's code, "" for a pack
    redemption.save(update_fields=["takes", "coupon_code", "pack_purchase_id"])
    log.info("points_redeemed", redemption_id=redemption.pk, points=redemption.points)
    return redemption


def _hand_out(item: ShopItem, redemption: PointsRedemption, *, now: dt.datetime) -> str:
    """One unissued code of the item's stock, now this redemption's. Raises CouponsSoldOut."""
    free = CouponCode.objects.select_for_update(skip_locked=True).filter(
        item=item, redemption__isnull=True
    )
    code = free.order_by("id").first()
    if code is None:
        raise points.CouponsSoldOut(item=item.code)
    done = CouponCode.objects.filter(pk=code.pk, redemption__isnull=True).update(
        redemption=redemption, issued_at=now
    )
    if done != 1:  # never with the row lock; the conditional update is the last guard
        raise points.CouponsSoldOut(item=item.code)
    return code.code


#: How each points posting reads in the owner's history.
_HISTORY_TEXTS = {
    "charging.points_earned": ("EARNED", "流量兑换积分"),
    "charging.points_redeemed": ("REDEEMED", "积分兑换商品"),
    "charging.points_taken_back": ("TAKEN_BACK", "流量兑换已撤回，积分收回"),
    "charging.points_expired": ("EXPIRED", "积分到期"),
}


def history(*, user_id: int, limit: int = 20) -> list[dict]:
    """The owner's latest points changes from the ledger, newest first: earned (a
    conversion), spent (a redemption), taken back (a reversed conversion), expired."""
    found = ledger.entries(account=chart.user_points(user_id=user_id))
    rows = found.order_by("-id").values("amount_fen", "transaction__kind", "created_at")[:limit]
    out = []
    for row in rows:
        kind, text = _HISTORY_TEXTS.get(row["transaction__kind"], ("OTHER", "积分变动"))
        out.append({"kind": kind, "points": -row["amount_fen"], "text": text,
                    "created_at": row["created_at"]})  # fmt: skip
    return out


def put_on_sale(
    *, code: str, name: str, kind: str, price_points: int, pack_code: str = "",
    sponsor_name: str = "", description: str = "", sort: int = 0,
) -> ShopItem:  # fmt: skip
    """An item on sale under ``code`` (the one already there, unchanged, if any): what staff
    do in the admin, for seeding. Raises IntegrityError when the fields break the item's
    CHECKs (a pack without its code, a coupon with one)."""
    item, _ = ShopItem.objects.get_or_create(
        code=code[:40],
        defaults={
            "name": name[:60], "kind": ShopItemKind(kind), "price_points": price_points,
            "pack_code": pack_code, "sponsor_name": sponsor_name[:60],
            "description": description[:200], "sort": sort,
        },
    )  # fmt: skip
    return item
