"""赞助流量 on the dashboard's card and the bill (the opt-out pages are
:mod:`haoka.web.line.sponsored`)."""

from __future__ import annotations

import datetime as dt

from haoka.catalog.domain import format_data
from haoka.charging import sponsored_usage
from haoka.core import clock
from haoka.sponsors import queries as sponsor_queries
from haoka.web.common import yuan
from haoka.web.line.presenters import GroupRow, amount_text


def card(line, *, now: dt.datetime) -> dict:
    """The dashboard's 赞助流量 card: this month's sponsored usage by sponsor (each app
    "由 XX 赞助") and the sponsors that know the number, with whether the line opted out."""
    month = clock.beijing_date(now).replace(day=1)
    rows = sponsored_usage.of_month(line_id=line.pk, month=month)
    sponsors = sponsored_usage.by_sponsor(rows)
    for entry in sponsors:
        entry["total"] = format_data(entry["bytes"])
        entry["apps"] = [{"app": r.app, "size": format_data(r.bytes)} for r in entry["apps"]]
    known = [
        {
            "sponsor_id": k.sponsor_id,
            "company_name": k.company_name,
            "since": k.since,
            "how": "您在其应用中授权" if k.opted_in else "您使用了其赞助的流量",
            "opted_out_at": k.opted_out_at,
        }
        for k in sponsor_queries.sponsors_of_line(line_id=line.pk)
    ]
    total = sum(e["bytes"] for e in sponsors)
    return {"sponsors": sponsors, "known": known, "total": format_data(total), "any": total > 0}


def bill_rows(line, *, month: dt.date) -> list[GroupRow]:
    """The bill's sponsored data: each app "由 XX 赞助" at ¥0.00 to the user."""
    rows = sponsored_usage.of_month(line_id=line.pk, month=month)
    return [
        GroupRow(
            r.app, f"由 {r.sponsor_name} 赞助", amount_text("BYTES", r.bytes, used=True), yuan(0)
        )
        for r in rows
    ]
