"""企业流量池 members: the sponsor adds (``POST /api/v1/sponsor/campaigns/{id}/members``
{msisdn}: an SMS code to that number), lists (masked) and removes members of its own
campaigns (another sponsor's is 404); the line's owner confirms with the code
(``POST /api/v1/lines/{msisdn}/sponsor-consents/{campaign_id}/confirm`` {code}) or leaves
(``.../leave``): someone else's line is 404."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.core import clock, pii
from haoka.core.pagination import paginate
from haoka.lines import queries as line_queries
from haoka.lines.domain import Caller
from haoka.sponsors import campaigns, pool, queries
from haoka.sponsors.api import sponsor_caller
from haoka.sponsors.domain import MEMBER_MACHINE
from haoka.sponsors.models import PoolMember

router = Router(tags=["sponsors"], auth=sponsor_caller)


class MemberIn(Schema):
    msisdn: str = Field(..., max_length=30, description="员工手机号")


class MemberOut(Schema):
    campaign_id: str
    msisdn_masked: str = Field(..., description="脱敏号码（138****8000）")
    status: str = Field(..., description="CODE_SENT | ACTIVE | LEFT | REMOVED")
    status_label: str
    created_at: dt.datetime
    changed_at: dt.datetime


class MemberPage(Schema):
    items: list[MemberOut]
    next: str | None


class ConsentIn(Schema):
    code: str = Field(..., max_length=12, description="短信验证码")


class ConsentOut(Schema):
    campaign_id: str
    status: str
    status_label: str


def _members(campaign_id: str, rows: list[PoolMember]) -> list[dict]:
    numbers = line_queries.msisdns_of(line_ids=[r.line_id for r in rows])
    return [
        {"campaign_id": campaign_id, "msisdn_masked": pii.mask_phone(numbers.get(r.line_id, "")),
         "status": r.status, "status_label": MEMBER_MACHINE.label(r.status),
         "created_at": r.created_at, "changed_at": r.changed_at}
        for r in rows
    ]  # fmt: skip


@router.post("/sponsor/campaigns/{campaign_id}/members", response={201: MemberOut})
def add_member(request, campaign_id: str, body: MemberIn):
    """Invite a line: CODE_SENT (a new SMS code to the number; an ACTIVE member is answered
    as it is). 404 ``campaign_not_found`` / ``line_not_found``, 409
    ``campaign_not_enterprise_pool``, 422 ``invalid_msisdn``."""
    member = pool.add_member(
        sponsor=request.sponsor, campaign_id=campaign_id, msisdn=body.msisdn, now=clock.now()
    )
    return Status(201, _members(member.campaign.campaign_id, [member])[0])


@router.get("/sponsor/campaigns/{campaign_id}/members", response=MemberPage)
def list_members(request, campaign_id: str, limit: int | None = None, after: str | None = None):
    """The pool's members, newest first, numbers masked."""
    campaign = campaigns.campaign_of(sponsor=request.sponsor, campaign_id=campaign_id)
    page = paginate(queries.pool_members_of(campaign=campaign), order=("-created_at", "-id"),
                    limit=limit, after=after)  # fmt: skip
    return {"items": _members(campaign.campaign_id, page.items), "next": page.next}


@router.delete("/sponsor/campaigns/{campaign_id}/members/{msisdn}", response=MemberOut)
def remove_member(request, campaign_id: str, msisdn: str):
    """Remove a member: no new sponsored data from now on (idempotent). 404
    ``member_not_found``; 409 ``member_state_conflict`` for a member who left."""
    member = pool.remove(
        sponsor=request.sponsor, campaign_id=campaign_id, msisdn=msisdn, now=clock.now()
    )
    return _members(member.campaign.campaign_id, [member])[0]


def _owned_line(request, msisdn: str):
    return line_queries.line_for(msisdn=msisdn[:20], caller=Caller(user_id=request.auth.pk))


def _consent(member: PoolMember) -> dict:
    return {"campaign_id": member.campaign.campaign_id, "status": member.status,
            "status_label": MEMBER_MACHINE.label(member.status)}  # fmt: skip


@router.post("/lines/{msisdn}/sponsor-consents/{campaign_id}/confirm", response=ConsentOut,
             auth=bearer)  # fmt: skip
def confirm(request, msisdn: str, campaign_id: str, body: ConsentIn):
    """The line's owner joins the enterprise's pool with the SMS code. 404 ``line_not_found``
    (not the caller's line) / ``member_not_found``; 422 ``consent_code_wrong``; 409
    ``consent_code_expired``, ``member_state_conflict``."""
    line = _owned_line(request, msisdn)
    member = pool.confirm(line_id=line.pk, campaign_id=campaign_id, code=body.code, now=clock.now())
    return _consent(member)


@router.post("/lines/{msisdn}/sponsor-consents/{campaign_id}/leave", response=ConsentOut,
             auth=bearer)  # fmt: skip
def leave(request, msisdn: str, campaign_id: str):
    """The line's owner leaves the pool (or declines the invitation); idempotent."""
    line = _owned_line(request, msisdn)
    return _consent(pool.leave(line_id=line.pk, campaign_id=campaign_id, now=clock.now()))
