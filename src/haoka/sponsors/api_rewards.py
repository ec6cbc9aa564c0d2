"""流量红包: ``POST /api/v1/sponsor/campaigns/{id}/grants`` grants data of a DATA_REWARD
campaign to a line, idempotent by the sponsor's ``external_id``. For the caller's own
sponsor only (another sponsor's campaign is 404); numbers are answered masked."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.core import clock
from haoka.sponsors import rewards
from haoka.sponsors.api import sponsor_caller

router = Router(tags=["sponsors"], auth=sponsor_caller)


class GrantIn(Schema):
    msisdn: str = Field(..., max_length=30, description="用户手机号")
    megabytes: int = Field(..., description="赠送流量（MB）")
    external_id: str = Field(..., max_length=200, description="客户请求号（幂等键）")
    kind: str = Field("general", max_length=20, description="general | targeted（活动的费率组）")


class GrantOut(Schema):
    grant_id: int
    campaign_id: str
    external_id: str
    msisdn_masked: str = Field(..., description="脱敏号码（138****8000）")
    megabytes: int
    kind: str
    valid_to: dt.datetime
    created_at: dt.datetime


@router.post("/sponsor/campaigns/{campaign_id}/grants", response={201: GrantOut})
def grant(request, campaign_id: str, body: GrantIn):
    """Grant data to a line. The same request again answers the same grant (201, nothing
    changes); another request under the same ``external_id`` is 409
    ``grant_external_id_reused``. 404 ``campaign_not_found`` / ``line_not_found``, 409
    ``campaign_not_data_reward``, ``grant_refused`` (campaign not live, line not active,
    not eligible or opted out), ``grant_over_line_cap``, ``grant_over_budget``; 422
    ``invalid_grant``, ``invalid_msisdn``."""
    result = rewards.grant(
        sponsor=request.sponsor, campaign_id=campaign_id, msisdn=body.msisdn,
        megabytes=body.megabytes, external_id=body.external_id, kind=body.kind, now=clock.now(),
    )  # fmt: skip
    return Status(201, rewards.answer(result))
