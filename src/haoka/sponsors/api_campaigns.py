"""The sponsor's campaigns: ``/api/v1/sponsor/campaigns`` (create, list, read, pause / resume
/ end / change the budget, the daily report, where its alerts go) and the opt-ins a sponsor
records for its ``opted_in`` campaigns. All act for the caller's own sponsor
(:class:`SponsorCaller`): another sponsor's campaign is 404, a non-sponsor 403. POSTs accept
an ``Idempotency-Key`` header. A sponsor sees lines' numbers masked only (138****8000)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from haoka.core import clock, pii
from haoka.core.errors import ValidationError
from haoka.core.money import format_fen
from haoka.core.pagination import paginate
from haoka.core.schema_types import Fen, PlausibleDatetime, RatingGroup
from haoka.lines import queries as line_queries
from haoka.sponsors import camara, camara_domain, campaigns, queries, report
from haoka.sponsors.api import sponsor_caller
from haoka.sponsors.domain import CAMPAIGN_MACHINE, CampaignKind
from haoka.sponsors.models import Campaign, SponsorOptIn

router = Router(tags=["sponsors"], auth=sponsor_caller)
KIND_LABELS = dict(CampaignKind.choices)
FROM_HELP = "北京时间起始日（含），默认结束日前 29 天"


class CampaignIn(Schema):
    kind: str = Field(..., max_length=20, description="APP_FREE_FLOW | DATA_REWARD | "
                      "ENTERPRISE_POOL | CAMARA_SESSION")  # fmt: skip
    name: str = Field(..., max_length=60, description="活动名称")
    budget_fen: Fen = Field(..., description="预算（分），创建时从钱包划入，至少 ¥1.00")
    valid_from: PlausibleDatetime
    valid_to: PlausibleDatetime = Field(..., description="结束时间（不含）")
    rating_groups: list[RatingGroup] = Field(
        default_factory=list, max_length=200, description="费率组（定向免流必填）"
    )
    per_line_cap_mb: int = Field(..., ge=1, le=2**31 - 1, strict=True,
                                 description="每号每月上限（MB）")  # fmt: skip
    price_fen_per_gb: int = Field(..., ge=1, le=2**31 - 1, strict=True,
                                  description="单价（分/GB）")  # fmt: skip
    eligibility: dict = Field(..., description='{"all": true} | {"opted_in": true} | '
                              '{"plans": [...]} | {"provinces": [...]}')  # fmt: skip


class CampaignChangeIn(Schema):
    action: Literal["pause", "resume", "end"] | None = None
    budget_fen: Fen | None = Field(None, description="新预算（分）：追加从钱包划入，减少退回钱包")


class CampaignOut(Schema):
    campaign_id: str
    kind: str
    kind_label: str
    name: str
    status: str
    status_label: str
    budget_fen: int = Field(..., description="划入活动的预算（分），扣除已退回的")
    budget: str
    available_fen: int = Field(..., description="尚未切分的预算（分）")
    held_fen: int = Field(..., description="使用中的切片占用（分）")
    spent_fen: int = Field(..., description="已结算（分）")
    spent: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    rating_groups: list[int]
    per_line_cap_mb: int
    price_fen_per_gb: int
    eligibility: dict
    created_at: dt.datetime


class CampaignPage(Schema):
    items: list[CampaignOut]
    next: str | None


class ReportDayOut(Schema):
    date: dt.date = Field(..., description="北京时间日期")
    slices_taken: int
    lines_reached: int
    bytes_taken: int
    bytes_settled: int
    spend_fen: int
    spend: str


class ReportOut(Schema):
    campaign_id: str
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    days: list[ReportDayOut]


class OptInIn(Schema):
    msisdn: str = Field(..., max_length=30, description="用户手机号")


class OptInOut(Schema):
    campaign_id: str
    msisdn_masked: str = Field(..., description="脱敏号码（138****8000）")
    created_at: dt.datetime


class OptInPage(Schema):
    items: list[OptInOut]
    next: str | None


def _out(c: Campaign, books: queries.Books) -> dict:
    return {
        "campaign_id": c.campaign_id, "kind": c.kind, "kind_label": KIND_LABELS.get(c.kind, ""),
        "name": c.name, "status": c.status, "status_label": CAMPAIGN_MACHINE.label(c.status),
        "budget_fen": c.budget_fen, "budget": format_fen(c.budget_fen),
        "available_fen": books.available_fen, "held_fen": books.held_fen,
        "spent_fen": books.spent_fen, "spent": format_fen(books.spent_fen),
        "valid_from": c.valid_from, "valid_to": c.valid_to, "rating_groups": c.rating_groups,
        "per_line_cap_mb": c.per_line_cap_mb, "price_fen_per_gb": c.price_fen_per_gb,
        "eligibility": c.eligibility, "created_at": c.created_at,
    }  # fmt: skip


def _one(c: Campaign) -> dict:
    c.refresh_from_db()
    return _out(c, queries.books_of(campaigns=[c])[c.pk])


def _actor(request) -> str:
    return f"user:{request.auth.pk}"


@router.post("/sponsor/campaigns", response={201: CampaignOut})
def create_campaign(request, body: CampaignIn):
    """Create an ACTIVE campaign: its budget leaves the wallet for the held account (409
    ``insufficient_balance`` when the wallet is short; 422 ``invalid_campaign`` with the
    ``field`` for a bad value)."""
    campaign = campaigns.create(
        sponsor=request.sponsor, actor=_actor(request), now=clock.now(), **body.dict()
    )
    return Status(201, _one(campaign))


@router.get("/sponsor/campaigns", response=CampaignPage)
def list_campaigns(request, limit: int | None = None, after: str | None = None):
    """The sponsor's campaigns, newest first (cursor pagination: ``next`` -> ``after``)."""
    page = paginate(
        queries.campaigns_of(sponsor=request.sponsor), order=("-created_at", "-id"), limit=limit,
        after=after,
    )  # fmt: skip
    books = queries.books_of(campaigns=page.items)
    return {"items": [_out(c, books[c.pk]) for c in page.items], "next": page.next}


@router.get("/sponsor/campaigns/{campaign_id}", response=CampaignOut)
def get_campaign(request, campaign_id: str):
    """One of the sponsor's campaigns (404 ``campaign_not_found``, also for another's)."""
    return _one(campaigns.campaign_of(sponsor=request.sponsor, campaign_id=campaign_id))


@router.patch("/sponsor/campaigns/{campaign_id}", response=CampaignOut)
def change_campaign(request, campaign_id: str, body: CampaignChangeIn):
    """``{"action": "pause" | "resume" | "end"}`` or ``{"budget_fen": n}``: raising takes
    the difference from the wallet (409 ``insufficient_balance``), lowering returns it, never
    below what slices hold and spent (409 ``budget_below_held``); ending returns the unsliced
    budget. A move the campaign's state forbids is 409 ``illegal_transition``."""
    campaign = campaigns.change(
        sponsor=request.sponsor, campaign_id=campaign_id, action=body.action,
        budget_fen=body.budget_fen, actor=_actor(request), now=clock.now(),
    )  # fmt: skip
    return _one(campaign)


@router.get("/sponsor/campaigns/{campaign_id}/report", response=ReportOut, by_alias=True)
def campaign_report(
    request,
    campaign_id: str,
    from_: Annotated[dt.date | None, Query(alias="from", description=FROM_HELP)] = None,
    to: Annotated[dt.date | None, Query(description="北京时间结束日（含），默认今天")] = None,
):
    """The campaign by Beijing day over ``[from, to]`` (at most 92 days; default the last 30):
    slices taken, lines reached and bytes sliced on the day they were taken; bytes settled and
    money spent on the day their slices settled. From the budget slices only: charging's
    byte-level usage of sponsored buckets comes later. Bad ranges: 422
    ``invalid_report_range``."""
    campaign = campaigns.campaign_of(sponsor=request.sponsor, campaign_id=campaign_id)
    start, end = report.date_range(start=from_, end=to, now=clock.now())
    days = report.campaign_by_day(campaign=campaign, start=start, end=end)
    return {
        "campaign_id": campaign.campaign_id, "from": start, "to": end,
        "days": [{**vars(d), "spend": format_fen(d.spend_fen)} for d in days],
    }  # fmt: skip


# ---------------------------------------------------------------- opt-ins


def _opt_ins(campaign: Campaign, rows: list[SponsorOptIn]) -> list[dict]:
    numbers = line_queries.msisdns_of(line_ids=[r.line_id for r in rows])
    return [
        {
            "campaign_id": campaign.campaign_id,
            "msisdn_masked": pii.mask_phone(numbers.get(r.line_id, "")),
            "created_at": r.created_at,
        }
        for r in rows
    ]


@router.post("/sponsor/campaigns/{campaign_id}/opt-ins", response={201: OptInOut})
def record_opt_in(request, campaign_id: str, body: OptInIn):
    """Record that a user opted in to an ``opted_in`` campaign in the sponsor's app
    (idempotent: again answers the first record). 409 ``campaign_not_opt_in`` for another
    eligibility, 422 ``invalid_msisdn``, 404 ``line_not_found`` when no live line has the
    number. The answer shows the number masked only."""
    opt_in = campaigns.opt_in(
        sponsor=request.sponsor, campaign_id=campaign_id, msisdn=body.msisdn, now=clock.now()
    )
    return Status(201, _opt_ins(opt_in.campaign, [opt_in])[0])


@router.get("/sponsor/campaigns/{campaign_id}/opt-ins", response=OptInPage)
def list_opt_ins(request, campaign_id: str, limit: int | None = None, after: str | None = None):
    """The campaign's opt-ins, newest first, numbers masked."""
    campaign = campaigns.campaign_of(sponsor=request.sponsor, campaign_id=campaign_id)
    page = paginate(
        queries.opt_ins_of(campaign=campaign), order=("-created_at", "-id"), limit=limit,
        after=after,
    )  # fmt: skip
    return {"items": _opt_ins(campaign, page.items), "next": page.next}


class AlertsIn(Schema):
    webhook_url: str = Field(..., max_length=500, description="接收告警的 http(s) 地址")
    callback_token: str = Field("", max_length=500, description="回调时放在 x-callbackToken 头中")
    thresholds: bool = Field(True, description="预算用到 80% 时告警")
    exhausted: bool = Field(True, description="预算用完时告警")
    expiry: bool = Field(True, description="活动到期时告警")


class AlertsOut(Schema):
    campaign_id: str
    webhook_url: str
    thresholds: bool
    exhausted: bool
    expiry: bool
    updated_at: dt.datetime


class InvalidWebhook(ValidationError):
    code = "invalid_webhook_url"
    message = "告警地址须为完整的 http(s) 地址"


@router.put("/sponsor/campaigns/{campaign_id}/alerts", response=AlertsOut)
def set_alerts(request, campaign_id: str, body: AlertsIn):
    """Where the campaign's budget alerts (80%, used up) and its expiry go, for a campaign of
    any kind, replacing the former address: the CAMARA notifications (a CloudEvent with
    ``x-callbackToken``, delivered by the worker at least once, never to a non-public address
    outside a sandbox). 422 ``invalid_webhook_url``."""
    campaign = campaigns.campaign_of(sponsor=request.sponsor, campaign_id=campaign_id)
    if not camara_domain.valid_webhook(body.webhook_url):
        raise InvalidWebhook(webhook_url=body.webhook_url[:100])
    flags = {
        "alertDataVolumeThresholds": body.thresholds, "dataVolumeExhausted": body.exhausted,
        "campaignExpiryNotification": body.expiry,
    }  # fmt: skip
    row = camara.subscribe(
        campaign=campaign, now=clock.now(),
        body={"webhookUrl": body.webhook_url, "callbackToken": body.callback_token, **flags},
    )  # fmt: skip
    return AlertsOut(
        campaign_id=campaign.campaign_id, webhook_url=row.webhook_url,
        thresholds=row.flags["alertDataVolumeThresholds"],
        exhausted=row.flags["dataVolumeExhausted"],
        expiry=row.flags["campaignExpiryNotification"], updated_at=row.updated_at,
    )  # fmt: skip
