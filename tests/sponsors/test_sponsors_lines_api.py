"""A line's sponsors, for its owner over HTTP: which sponsors know the number and since when,
refusing one (no new slice from that moment, idempotent) and accepting it again; someone
else's line is 404 like the other line endpoints. And every sponsors route refuses anonymous
callers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from haoka.accounts.models import User
from haoka.api import api
from haoka.sponsors import campaigns, slices
from haoka.sponsors.domain import MB
from haoka.sponsors.models import SponsorOptOut
from tests.support.charging import make_line
from tests.support.sponsors import (
    Caller,
    error_code,
    make_campaign,
    make_sponsor,
    make_user,
    signed_in,
    staff,
)

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


def owner_of(client, line) -> Caller:
    return signed_in(client, User.objects.get(pk=line.user_id))


def test_the_owner_sees_the_sponsors_that_know_the_number(client, catalog, now):
    line = make_line(plan=PLAN, now=now)
    app = make_sponsor(company_name="抖音科技有限公司")
    shop = make_sponsor(company_name="好店商贸有限公司")
    make_sponsor(company_name="不相干的公司")
    opted = make_campaign(app, eligibility={"opted_in": True})
    later = now + dt.timedelta(hours=2)
    campaigns.opt_in(sponsor=app, campaign_id=opted.campaign_id, msisdn=line.msisdn, now=now)
    slices.take_slice(
        campaign_id=make_campaign(shop).campaign_id, line_id=line.pk, want_bytes=MB, now=later
    )
    shown = owner_of(client, line).get(f"/lines/{line.msisdn}/sponsors")
    assert shown.status_code == 200, shown.content
    assert [
        (s["company_name"], s["opted_in"], s["sliced"], s["opted_out"]) for s in shown.json()
    ] == [
        ("抖音科技有限公司", True, False, False),
        ("好店商贸有限公司", False, True, False),
    ]
    assert shown.json()[1]["since"].startswith("2026-03-01T04:00")


def test_opting_out_stops_new_slices_at_once_and_deleting_it_undoes_it(client, catalog, now):
    line = make_line(plan=PLAN, now=now)
    sponsor = make_sponsor()
    campaign = make_campaign(sponsor)
    owner = owner_of(client, line)
    path = f"/lines/{line.msisdn}/sponsors/{sponsor.sponsor_id}/opt-out"
    first = owner.post(path)
    assert first.status_code == 200, first.content
    assert first.json()["opted_out"] is True
    assert owner.post(path).json() == first.json()  # idempotent
    assert SponsorOptOut.objects.count() == 1
    take = {"campaign_id": campaign.campaign_id, "line_id": line.pk, "want_bytes": MB, "now": now}
    assert slices.take_slice(**take) is None
    listed = owner.get(f"/lines/{line.msisdn}/sponsors").json()
    assert [(s["sponsor_id"], s["opted_out"]) for s in listed] == [(sponsor.sponsor_id, True)]
    assert owner.delete(path).status_code == 204
    assert owner.delete(path).status_code == 204  # idempotent
    assert not SponsorOptOut.objects.exists()
    assert slices.take_slice(**take) is not None


def test_someone_elses_line_is_404_and_an_unknown_sponsor_is_404(client, catalog, now):
    line = make_line(plan=PLAN, now=now)
    sponsor = make_sponsor()
    path = f"/lines/{line.msisdn}/sponsors"
    for caller in (signed_in(client, make_user()), staff(client)):
        for response in (
            caller.get(path),
            caller.post(f"{path}/{sponsor.sponsor_id}/opt-out"),
            caller.delete(f"{path}/{sponsor.sponsor_id}/opt-out"),
        ):
            assert response.status_code == 404 and error_code(response) == "line_not_found"
    owner = owner_of(client, line)
    for unknown in ("SP0000000000", make_sponsor(approved=False).sponsor_id):
        response = owner.post(f"{path}/{unknown}/opt-out")
        assert response.status_code == 404 and error_code(response) == "sponsor_not_found"
    assert not SponsorOptOut.objects.exists()


def _sponsor_routes():
    schema = json.loads(json.dumps(api.get_openapi_schema()))
    for path, item in schema["paths"].items():
        if "sponsor" in path:
            for method in item:
                if method in ("get", "post", "patch", "delete"):
                    yield method, path


def test_every_sponsors_route_refuses_anonymous_callers(client, now):
    routes = list(_sponsor_routes())
    assert len(routes) >= 18
    for method, path in routes:
        concrete = (
            path.removeprefix("/api/v1")
            .replace("{msisdn}", "13900000001")
            .replace("{sponsor_id}", "SP0000000000")
            .replace("{campaign_id}", "CP0000000000")
            .replace("{token_id}", "1")
        )
        body = {} if method in ("post", "patch") else None
        response = Caller(client, None).call(method, concrete, body)
        assert response.status_code == 401, (method, path, response.status_code)
