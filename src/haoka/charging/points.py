"""Pure rules of points (积分, 流量兑换): what data may become points and when, how many points
it makes, the points' lots (earned, spent oldest first, expiring 12 months after they were
earned) and the points shop's item kinds. No database, no clock: ``at`` is a parameter.

Points are whole numbers. A conversion of ``n`` bytes at ``points_per_gb`` makes
``n * points_per_gb // GB`` points (rounded down: the customer is never promised a fraction
the ledger cannot hold); a conversion worth no point is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import models

from haoka.charging import movements
from haoka.charging.domain import Source, require_aware
from haoka.charging.movements import GB, add_months
from haoka.core import states
from haoka.core.errors import Conflict, IllegalTransition, NotFound, ValidationError

#: How long points keep (from the moment they were earned).
POINTS_MONTHS = 12
#: The plan's own data may be converted only in the month's last days (Beijing), when what is
#: left would otherwise lapse or roll over; packs at any time.
PLAN_WINDOW_DAYS = 3
#: Packs at any time (they are the customer's, bought): soonest-ending first.
ANYTIME = (Source.PACK,)
#: In the month's last 3 days: rollover and plan data first (they end with the month), then
#: packs. Never targeted, sponsored, gifted, banked or daily-rental data (``movements.movable``
#: keeps the line's own general data only, as for gifts).
MONTH_END = (Source.ROLLOVER, Source.PLAN, Source.PACK)


class ShopItemKind(models.TextChoices):
    PACK = "PACK", "加油包"
    MEMBERSHIP = "MEMBERSHIP", "会员权益"
    COUPON = "COUPON", "商家优惠券"


class ConversionState(models.TextChoices):
    DONE = "DONE", "已兑换"
    REVERSED = "REVERSED", "已撤回"


class ConversionStateConflict(IllegalTransition):
    code = "points_conversion_state_conflict"
    message = "兑换记录当前状态不允许此操作"


#: A conversion is done at once; staff may reverse it (a compensating movement).
CONVERSION_MACHINE = states.Machine(
    ConversionState,
    {ConversionState.DONE: {ConversionState.REVERSED}, ConversionState.REVERSED: set()},
    error=ConversionStateConflict,
)


# ---------------------------------------------------------------- errors


class NoRate(Conflict):
    code = "points_no_rate"
    message = "积分兑换比例尚未设置，暂不能兑换"


class ConversionTooSmall(ValidationError):
    code = "points_conversion_too_small"
    message = "兑换的流量不足 1 积分"


class NotEnoughPoints(Conflict):
    code = "points_not_enough"
    message = "积分不足"


class ConversionPointsSpent(Conflict):
    code = "points_conversion_spent"
    message = "该笔兑换的积分已被使用或已过期，不能撤回"


class ShopItemNotFound(NotFound):
    code = "points_item_not_found"
    message = "积分商品不存在或已下架"


class CouponsSoldOut(Conflict):
    code = "points_coupons_sold_out"
    message = "该优惠券已兑完"


class LineRequired(ValidationError):
    code = "points_line_required"
    message = "兑换加油包或会员需要指定本人的号码"


class RedemptionKeyRequired(ValidationError):
    code = "idempotency_key_required"
    message = "请提供 Idempotency-Key 请求头"


class RedemptionKeyReused(Conflict):
    code = "points_key_reused"
    message = "该幂等键已用于另一笔积分操作"


# ---------------------------------------------------------------- rules


def in_plan_window(*, at: dt.datetime, month_end: dt.datetime) -> bool:
    """Whether ``at`` is in the last :data:`PLAN_WINDOW_DAYS` days of the month ending at
    ``month_end`` (both UTC; the month's end is a Beijing midnight). Raises NaiveDatetime."""
    require_aware(at)
    return month_end - dt.timedelta(days=PLAN_WINDOW_DAYS) <= at < month_end


def convertible_sources(*, at: dt.datetime, month_end: dt.datetime) -> tuple[Source, ...]:
    """Which buckets a conversion at ``at`` may take from, in the order it takes them."""
    return MONTH_END if in_plan_window(at=at, month_end=month_end) else ANYTIME


def points_for(*, amount: int, points_per_gb: int) -> int:
    """Points ``amount`` bytes make at ``points_per_gb`` (rounded down). Raises
    ConversionTooSmall when that is no point at all."""
    points = amount * points_per_gb // GB
    if points <= 0:
        raise ConversionTooSmall(amount=amount, points_per_gb=points_per_gb)
    return points


def expiry(*, earned_at: dt.datetime) -> dt.datetime:
    """When points earned at ``earned_at`` expire: :data:`POINTS_MONTHS` later."""
    require_aware(earned_at)
    return add_months(earned_at, POINTS_MONTHS)


#: Points earned at once, as spending sees them: what is left and when it expires.
Lot = movements.Lot


def spend(*, lots: Iterable[Lot], points: int, at: dt.datetime) -> list[tuple[int | str, int]]:
    """(lot id, points) to spend ``points``: the soonest-expiring lots first, none expired at
    ``at``, never more than a lot has. Raises NotEnoughPoints, NaiveDatetime."""
    taken, have = movements.soonest_first(lots=lots, amount=points, at=at)
    if not taken:
        raise NotEnoughPoints(points=points, balance=have)
    return taken


def balance(*, lots: Iterable[Lot], at: dt.datetime) -> int:
    """Points usable at ``at``: what is left of the lots not yet expired."""
    require_aware(at)
    return sum(lot.remaining for lot in lots if lot.expires_at > at)
