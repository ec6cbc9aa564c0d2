"""The money side of a line over the API: dashboard, usage, notifications, top-ups and auto
top-up, add-on packs, bills (JSON and PDF).

Only the line's owner, signed in with a consumer session, may see or change it; staff may
read. Anyone else's line answers 404 (never 403: whether a number has a line is not told).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts import queries as account_queries
from haoka.accounts.auth import bearer
from haoka.charging import bill_pdf, bills, packs, queries, sponsored_usage, topups
from haoka.charging.models import Bill, PackPurchase, TopUp
from haoka.charging.movements import format_bytes
from haoka.core import clock
from haoka.core.money import format_fen
from haoka.core.schema_types import Fen
from haoka.lines.domain import LINE_MACHINE

router = Router(tags=["lines"], auth=bearer)
BASE = "/lines/{msisdn}"


def line_of(request, msisdn: str, *, write: bool = False):
    """The line the caller may read (or, with ``write``, change). Raises LineNotFound."""
    user, token = request.auth, request.haoka_token
    staff = not write and account_queries.is_staff(user)
    session = account_queries.is_session_token(token)
    if not staff and not session:
        raise queries.LineNotFound(msisdn=str(msisdn)[:11])  # integration tokens own no lines
    return queries.line_for(msisdn=msisdn, user_id=user.pk, staff=staff)


# ---------------------------------------------------------------- schemas


class WalletOut(Schema):
    balance_fen: int
    balance: str
    held_fen: int
    available_fen: int
    available: str


class BucketOut(Schema):
    label: str
    unit: str
    source: str
    amount: int
    moved_out: int  # given away or banked (流量控): amount + moved_out was granted
    used: int
    reserved: int
    remaining: int
    percent_used: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    rating_groups: list[int]
    window: str


class PlanOut(Schema):
    code: str
    name: str
    monthly_fee_fen: int
    monthly_fee: str


class AutoTopUpIn(Schema):
    enabled: bool = True
    threshold_fen: Fen = Field(..., description="余额低于此值（分）时自动充值，¥1–¥500")
    amount_fen: Fen = Field(..., description="每次充值金额（分），¥1–¥5000")
    method: str = Field(..., description="wechat | alipay")


class AutoTopUpOut(Schema):
    enabled: bool
    threshold_fen: int
    threshold: str
    amount_fen: int
    amount: str
    method: str


class DashboardOut(Schema):
    msisdn: str
    carrier: str
    status: str
    status_label: str
    suspend_reason: str
    plan: PlanOut | None
    pending_plan_code: str
    wallet: WalletOut
    buckets: list[BucketOut]
    auto_topup: AutoTopUpOut | None


class UsageDayOut(Schema):
    date: dt.date
    unit: str
    rated_amount: int
    wallet_fen: int
    wallet: str
    records: int


class NotificationOut(Schema):
    kind: str
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next: str | None


class TopUpIn(Schema):
    amount_fen: Fen = Field(..., description="充值金额（分），¥1–¥5000")
    method: str = Field(..., description="wechat | alipay")


class TopUpOut(Schema):
    ref: str
    kind: str
    amount_fen: int
    amount: str
    method: str
    status: str
    pay_url: str
    credited_fen: int
    created_at: dt.datetime
    paid_at: dt.datetime | None


class TopUpPage(Schema):
    items: list[TopUpOut]
    next: str | None


class PackOut(Schema):
    code: str
    name: str
    kind: str
    price_fen: int
    price: str
    data_bytes: int
    voice_seconds: int
    validity_days: int
    window: str
    rating_groups: list[int]
    benefit_name: str


class PackBuyIn(Schema):
    pack_code: str


class PurchaseOut(Schema):
    id: int
    pack_code: str
    pack_name: str
    kind: str
    price_fen: int
    price: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    benefit_name: str
    redeem_code: str
    created_at: dt.datetime


class PurchasePage(Schema):
    items: list[PurchaseOut]
    next: str | None


class BillSummaryOut(Schema):
    month: str
    plan_code: str
    opening_fen: int
    closing_fen: int
    closing: str
    spent_fen: int
    spent: str
    issued_at: dt.datetime


class BillPage(Schema):
    items: list[BillSummaryOut]
    next: str | None


class SponsoredOut(Schema):
    sponsor_id: str
    sponsor_name: str
    campaign_name: str
    rating_group: int | None
    app: str
    bytes: int
    text: str


class BillOut(BillSummaryOut):
    topups_fen: int
    monthly_fee_fen: int
    daily_fees_fen: int
    packs_fen: int
    usage_fen: int
    other_fen: int
    usage_by_day: list[dict]
    usage_by_rating_group: list[dict]
    packs: list[dict]
    topups: list[dict]
    data_movements: list[dict]  # gifts, reversals, the bank: "转赠给 138****0002 1GB"
    sponsored: list[SponsoredOut]  # data sponsors paid: "由 XX 赞助", ¥0.00 to the line


# ---------------------------------------------------------------- renderers


def _wallet(line) -> WalletOut:
    w = queries.wallet_of(line_id=line.pk)
    return WalletOut(
        balance_fen=w.balance_fen,
        balance=format_fen(w.balance_fen),
        held_fen=w.held_fen,
        available_fen=w.available_fen,
        available=format_fen(w.available_fen),
    )


def _auto(setting) -> AutoTopUpOut | None:
    if setting is None:
        return None
    return AutoTopUpOut(
        enabled=setting.enabled,
        threshold_fen=setting.threshold_fen,
        threshold=format_fen(setting.threshold_fen),
        amount_fen=setting.amount_fen,
        amount=format_fen(setting.amount_fen),
        method=setting.method.lower(),
    )


def _topup(t: TopUp) -> TopUpOut:
    return TopUpOut(
        ref=t.ref, kind=t.kind, amount_fen=t.amount_fen, amount=format_fen(t.amount_fen),
        method=t.method.lower(), status=t.status, pay_url=t.pay_url, credited_fen=t.credited_fen,
        created_at=t.created_at, paid_at=t.paid_at,
    )  # fmt: skip


def _purchase(p: PackPurchase) -> PurchaseOut:
    return PurchaseOut(
        id=p.pk, pack_code=p.pack_code, pack_name=p.pack_name, kind=p.kind,
        price_fen=p.price_fen, price=format_fen(p.price_fen), valid_from=p.valid_from,
        valid_to=p.valid_to, benefit_name=p.benefit_name, redeem_code=p.redeem_code,
        created_at=p.created_at,
    )  # fmt: skip


def _bill_summary(b: Bill) -> dict:
    spent = bills.spent(b)
    return {
        "month": f"{b.month:%Y-%m}", "plan_code": b.plan_code, "opening_fen": b.opening_fen,
        "closing_fen": b.closing_fen, "closing": format_fen(b.closing_fen), "spent_fen": spent,
        "spent": format_fen(spent), "issued_at": b.issued_at,
    }  # fmt: skip


# ---------------------------------------------------------------- endpoints


def _plan(code: str) -> PlanOut | None:
    plan = queries.plan_of(code=code)
    if plan is None:
        return None
    fee = plan.monthly_fee_fen
    return PlanOut(code=plan.code, name=plan.name, monthly_fee_fen=fee, monthly_fee=format_fen(fee))


@router.get(BASE, response=DashboardOut)
def dashboard(request, msisdn: str):
    """A line at a glance: status, plan, wallet and the allowances valid now."""
    line = line_of(request, msisdn)
    buckets = queries.buckets_of(line_id=line.pk, now=clock.now())
    return DashboardOut(
        msisdn=line.msisdn,
        carrier=line.carrier_code,
        status=line.status,
        status_label=LINE_MACHINE.label(line.status),
        suspend_reason=line.suspend_reason,
        plan=_plan(line.plan_code),
        pending_plan_code=line.pending_plan_code,
        wallet=_wallet(line),
        buckets=[BucketOut(**vars(b)) for b in buckets],
        auto_topup=_auto(queries.auto_topup_of(line_id=line.pk)),
    )


@router.get(f"{BASE}/usage", response=list[UsageDayOut])
def usage(request, msisdn: str, days: int = 30):
    """Usage per Beijing day and unit over the last ``days`` days (1-90)."""
    line = line_of(request, msisdn)
    rows = queries.usage_by_day(line_id=line.pk, days=days, now=clock.now())
    return [UsageDayOut(**r, wallet=format_fen(r["wallet_fen"])) for r in rows]


@router.get(f"{BASE}/notifications", response=NotificationPage)
def notifications(request, msisdn: str, limit: int | None = None, after: str | None = None):
    line = line_of(request, msisdn)
    page = queries.notifications_of(line_id=line.pk, limit=limit, after=after)
    return {"items": page.items, "next": page.next}


@router.post(f"{BASE}/topups", response={201: TopUpOut})
def start_topup(request, msisdn: str, body: TopUpIn):
    """Top up the wallet: pay at ``pay_url``; the money arrives when the payment succeeds."""
    line = line_of(request, msisdn, write=True)
    topup = topups.start_topup(
        line_id=line.pk, amount_fen=body.amount_fen, method=body.method, now=clock.now()
    )
    return Status(201, _topup(topup))


@router.get(f"{BASE}/topups", response=TopUpPage)
def list_topups(request, msisdn: str, limit: int | None = None, after: str | None = None):
    line = line_of(request, msisdn)
    page = queries.topups_of(line_id=line.pk, limit=limit, after=after)
    return {"items": [_topup(t) for t in page.items], "next": page.next}


@router.get(f"{BASE}/auto-topup", response=AutoTopUpOut | None)
def get_auto_topup(request, msisdn: str):
    return _auto(queries.auto_topup_of(line_id=line_of(request, msisdn).pk))


@router.put(f"{BASE}/auto-topup", response=AutoTopUpOut)
def put_auto_topup(request, msisdn: str, body: AutoTopUpIn):
    """Set auto top-up: below the threshold a top-up of ``amount_fen`` is started (at most
    once a day) and its pay link sent to the owner."""
    line = line_of(request, msisdn, write=True)
    setting = topups.set_auto_topup(
        line_id=line.pk, enabled=body.enabled, threshold_fen=body.threshold_fen,
        amount_fen=body.amount_fen, method=body.method, now=clock.now(),
    )  # fmt: skip
    return _auto(setting)


@router.get(f"{BASE}/packs", response=list[PackOut])
def list_packs(request, msisdn: str):
    """The add-on packs on sale for the line's carrier."""
    line = line_of(request, msisdn)
    return [
        PackOut(**vars(o), price=format_fen(o.price_fen))
        for o in packs.offers(carrier_code=line.carrier_code)
    ]


@router.post(f"{BASE}/packs", response={201: PurchaseOut})
def buy_pack(request, msisdn: str, body: PackBuyIn):
    """Buy a pack from the wallet (409 ``insufficient_balance`` when it does not cover it)."""
    line = line_of(request, msisdn, write=True)
    purchase = packs.buy(line_id=line.pk, pack_code=body.pack_code, now=clock.now())
    return Status(201, _purchase(purchase))


@router.get(f"{BASE}/pack-purchases", response=PurchasePage)
def list_purchases(request, msisdn: str, limit: int | None = None, after: str | None = None):
    line = line_of(request, msisdn)
    page = queries.purchases_of(line_id=line.pk, limit=limit, after=after)
    return {"items": [_purchase(p) for p in page.items], "next": page.next}


@router.get(f"{BASE}/bills", response=BillPage)
def list_bills(request, msisdn: str, limit: int | None = None, after: str | None = None):
    line = line_of(request, msisdn)
    page = queries.bills_of(line_id=line.pk, limit=limit, after=after)
    return {"items": [_bill_summary(b) for b in page.items], "next": page.next}


@router.get(BASE + "/bills/{month}.pdf")
def bill_as_pdf(request, msisdn: str, month: str):
    line = line_of(request, msisdn)
    bill = queries.bill_of(line_id=line.pk, month=bills.parse_month(month))
    response = HttpResponse(
        bill_pdf.pdf(bill=bill, msisdn=line.msisdn), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="haoka-bill-{line.msisdn}-{month}.pdf"'
    return response


@router.get(BASE + "/bills/{month}", response=BillOut)
def bill(request, msisdn: str, month: str):
    line = line_of(request, msisdn)
    b = queries.bill_of(line_id=line.pk, month=bills.parse_month(month))
    return {
        **_bill_summary(b),
        "topups_fen": b.topups_fen, "monthly_fee_fen": b.monthly_fee_fen,
        "daily_fees_fen": b.daily_fees_fen, "packs_fen": b.packs_fen, "usage_fen": b.usage_fen,
        "other_fen": b.other_fen, "usage_by_day": b.usage_by_day,
        "usage_by_rating_group": b.usage_by_rating_group, "packs": bills.packs_bought(b),
        "topups": bills.topups_paid(b), "data_movements": bills.data_movements(b),
        "sponsored": [
            {**vars(r), "text": f"{r.app} {format_bytes(r.bytes)}，由 {r.sponsor_name} 赞助"}
            for r in sponsored_usage.of_month(line_id=b.line_id, month=b.month)
        ],
    }  # fmt: skip
