"""A line's sponsors, for its owner: ``/api/v1/lines/{msisdn}/sponsors`` (which sponsors
know this number, and since when) and refusing a sponsor (``.../{sponsor_id}/opt-out``: its
campaigns give the line no new sponsored data from that moment; DELETE undoes it). Only the
line's owner: someone else's number answers 404 as the other line endpoints do."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.core import clock
from haoka.lines import queries as line_queries
from haoka.lines.domain import Caller
from haoka.sponsors import campaigns, queries

router = Router(tags=["sponsors"], auth=bearer)


class LineSponsorOut(Schema):
    sponsor_id: str
    company_name: str
    since: dt.datetime = Field(..., description="该客户最早知道这个号码的时间")
    opted_in: bool = Field(..., description="在客户的应用中报名过它的活动")
    sliced: bool = Field(..., description="用过它赞助的流量")
    opted_out: bool
    opted_out_at: dt.datetime | None


class OptOutOut(Schema):
    sponsor_id: str
    opted_out: bool
    opted_out_at: dt.datetime | None


def _owned_line(request, msisdn: str):
    """The caller's own line (404 ``line_not_found`` for anyone else's, staff included:
    refusing a sponsor is the owner's choice)."""
    return line_queries.line_for(msisdn=msisdn[:20], caller=Caller(user_id=request.auth.pk))


@router.get("/lines/{msisdn}/sponsors", response=list[LineSponsorOut])
def line_sponsors(request, msisdn: str):
    """The sponsors that know this number (it opted in to one of their campaigns, or drew
    data they paid for) or that it refused, earliest first."""
    line = _owned_line(request, msisdn)
    return [
        {**vars(k), "opted_out": k.opted_out_at is not None}
        for k in queries.sponsors_of_line(line_id=line.pk)
    ]


@router.post("/lines/{msisdn}/sponsors/{sponsor_id}/opt-out", response=OptOutOut)
def opt_out(request, msisdn: str, sponsor_id: str):
    """Refuse the sponsor: none of its campaigns gives this line new sponsored data from now
    on (what the line already holds runs out as it was). Idempotent. 404
    ``sponsor_not_found`` for an unknown sponsor."""
    line = _owned_line(request, msisdn)
    record = campaigns.opt_out(line_id=line.pk, sponsor_id=sponsor_id, now=clock.now())
    return {"sponsor_id": sponsor_id[:20], "opted_out": True, "opted_out_at": record.created_at}


@router.delete("/lines/{msisdn}/sponsors/{sponsor_id}/opt-out", response={204: None})
def undo_opt_out(request, msisdn: str, sponsor_id: str):
    """Accept the sponsor again (idempotent)."""
    line = _owned_line(request, msisdn)
    campaigns.undo_opt_out(line_id=line.pk, sponsor_id=sponsor_id)
    return Status(204, None)
