"""Points over the API (积分): converting a line's data into points, the points shop, buying
with points and the owner's points (balance, lots with their expiry, history).

Points belong to a person (the owner of the lines that earned them), so ``/points`` answers
for the caller only; a conversion and a pack bought with points name a line the caller owns
(anyone else's line answers 404). Writes need a consumer session and an ``Idempotency-Key``
(kept on the conversion or redemption, UNIQUE: the same key is the same operation even after
the API's 24-hour replay window).
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts import queries as account_queries
from haoka.accounts.auth import bearer
from haoka.charging import conversions, movements, points, points_ledger, points_shop
from haoka.charging.api_money import line_of
from haoka.core import clock, idempotency
from haoka.core.errors import PermissionDenied
from haoka.core.pii import mask_phone
from haoka.core.schema_types import Count

router = Router(tags=["points"], auth=bearer)


class SessionRequired(PermissionDenied):
    code = "points_session_required"
    message = "积分只属于本人：请以用户身份登录"


class ConversionIn(Schema):
    megabytes: Count = Field(..., description="兑换的流量（MB），至少 100MB")


class ConversionOut(Schema):
    id: int
    amount_bytes: int
    data: str
    points: int
    points_per_gb: int
    state: str
    created_at: dt.datetime


class ItemOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    description: str
    price_points: int
    sponsor_name: str


class RedemptionIn(Schema):
    item: str = Field(..., max_length=40, description="积分商品代码")
    msisdn: str | None = Field(None, max_length=11, description="接收加油包/会员的本人号码")


class RedemptionOut(Schema):
    id: int
    item: str
    points: int
    msisdn: str | None  # masked
    coupon_code: str  # a coupon's code, or a membership's redeem code
    pack_purchase_id: int | None
    created_at: dt.datetime


class LotOut(Schema):
    id: int
    amount: int
    remaining: int
    earned_at: dt.datetime
    expires_at: dt.datetime


class HistoryOut(Schema):
    kind: str
    points: int
    text: str
    created_at: dt.datetime


class PointsOut(Schema):
    balance: int
    lots: list[LotOut]
    history: list[HistoryOut]


def _session_user(request):
    """The caller, if a consumer session (integration tokens own no points). Raises
    SessionRequired."""
    if not account_queries.is_session_token(request.haoka_token):
        raise SessionRequired()
    return request.auth


def _required_key(request) -> str:
    key = request.headers.get(idempotency.HEADER, "")[:200]
    if not key:
        raise points.RedemptionKeyRequired()
    return key


@router.post("/lines/{msisdn}/conversions", response={201: ConversionOut})
def convert_data(request, msisdn: str, body: ConversionIn):
    """Convert the line's unused data into points for its owner: packs at any time, plan
    data only in the month's last 3 days (Beijing); never targeted, sponsored, gifted or
    daily-rental data. 100MB at least; points expire 12 months later."""
    line = line_of(request, msisdn, write=True)
    done = conversions.convert(
        line_id=line.pk, megabytes=body.megabytes, now=clock.now(),
        request_key=_required_key(request),
    )  # fmt: skip
    return Status(201, ConversionOut(
        id=done.pk, amount_bytes=done.amount, data=movements.format_bytes(done.amount),
        points=done.points, points_per_gb=done.points_per_gb, state=done.state,
        created_at=done.created_at,
    ))  # fmt: skip


@router.get("/points/shop", response=list[ItemOut])
def shop(request):
    """What points buy now (coupons only while their stock lasts)."""
    return [_item(i) for i in points_shop.items()]


def _item(i) -> ItemOut:
    return ItemOut(
        code=i.code, name=i.name, kind=i.kind, kind_label=points.ShopItemKind(i.kind).label,
        description=i.description, price_points=i.price_points, sponsor_name=i.sponsor_name,
    )  # fmt: skip


@router.post("/points/redemptions", response={201: RedemptionOut})
def redeem_points(request, body: RedemptionIn):
    """Buy an item with points (soonest-expiring points first): a pack or a membership is
    activated on ``msisdn`` (one of the caller's lines), a coupon hands out its code."""
    user = _session_user(request)
    line = line_of(request, body.msisdn, write=True) if body.msisdn else None
    done = points_shop.redeem(
        user_id=user.pk, item_code=body.item, line_id=line.pk if line else None,
        request_key=_required_key(request), now=clock.now(),
    )  # fmt: skip
    return Status(201, RedemptionOut(
        id=done.pk, item=done.item.code, points=done.points,
        msisdn=mask_phone(line.msisdn) if line and done.line_id else None,
        coupon_code=done.coupon_code, pack_purchase_id=done.pack_purchase_id,
        created_at=done.created_at,
    ))  # fmt: skip


def _lot(lot) -> LotOut:
    return LotOut(
        id=lot.pk, amount=lot.amount, remaining=lot.remaining, earned_at=lot.earned_at,
        expires_at=lot.expires_at,
    )  # fmt: skip


@router.get("/points", response=PointsOut)
def my_points(request):
    """The caller's usable points, the lots they are made of (each with its expiry) and the
    latest changes."""
    user = _session_user(request)
    found = points_ledger.statement(user_id=user.pk, now=clock.now())
    lots = [_lot(lot) for lot in found.lots]
    history = [HistoryOut(**row) for row in points_shop.history(user_id=user.pk)]
    return PointsOut(balance=found.usable, lots=lots, history=history)
