"""Family sharing (家庭共享) in tests: a group made through the use cases, each member joining
with the code the SMS sandbox received, and a member's online session asking for data."""

from __future__ import annotations

import datetime as dt

from haoka.charging import family
from haoka.charging.models import Bucket
from haoka.lines.models import Line
from tests.support.charging import BASE, charging_token, data_unit, post, request_body
from tests.support.web import latest_otp


def make_family(main: Line, members: list[Line], *, cap_mb: int, now: dt.datetime) -> int:
    """A family group of ``main`` with ``members`` ACTIVE at ``cap_mb`` each; its id."""
    group = family.create(line_id=main.pk, user_id=main.user_id, now=now)
    for line in members:
        invited = family.invite(
            line_id=main.pk, user_id=main.user_id, msisdn=line.msisdn, monthly_cap_mb=cap_mb,
            client_ip="test", now=now,
        )  # fmt: skip
        family.accept(
            member_id=invited.pk, line_id=line.pk, user_id=line.user_id,
            code=latest_otp(line.msisdn), now=now,
        )  # fmt: skip
    return group.pk


def plan_data(line: Line) -> Bucket:
    return Bucket.objects.get(line=line, origin__endswith=":data", source="PLAN")


def family_bucket(line: Line) -> Bucket | None:
    return Bucket.objects.filter(line=line, source="FAMILY").first()


def ask_data(client, line: Line, amount: int, *, now: dt.datetime, token: str | None = None,
             smf: str = "smf-sh-01") -> int:  # fmt: skip
    """Open an online session of ``line`` asking for ``amount`` bytes; the bytes granted."""
    body = request_body(line, seq=0, units=[data_unit(1003, request=amount)], at=now)
    body["nfConsumerIdentification"]["nFName"] = smf
    created = post(client, BASE, body, token or charging_token(now))
    assert created.status_code == 201, created.content
    unit = created.json()["multipleUnitInformation"][0]
    return unit.get("grantedUnit", {}).get("totalVolume", 0)
