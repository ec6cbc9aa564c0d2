"""企业流量池 over HTTP, on both databases: the sponsor invites a line by number (an SMS code
to it, a notice to its owner), only the line's owner confirms with the code, members are
listed masked; an ACTIVE member's Nchf requests on any rating group draw the pool first, up
to the per-member cap, and nobody else's do; leaving or removal stops new slices."""

from __future__ import annotations

import re

import pytest

from haoka.accounts.models import SandboxSms, User
from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.notices.models import Notification
from haoka.sponsors.domain import CODE_TRIES, MB
from haoka.sponsors.models import PoolMember
from tests.support.charging import (
    BASE,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.sponsors import error_code, make_campaign, make_sponsor, member_of, signed_in

pytestmark = pytest.mark.django_db
PLAN = "CM-SHANGLV-58"
VIDEO, WEB = 1003, 1011


@pytest.fixture(autouse=True)
def fresh_campaigns():
    sponsored.forget_cached()
    yield
    sponsored.forget_cached()


@pytest.fixture
def pool(catalog, now):
    """An enterprise's pool: general data, 300 MB a member a month at ¥5/GB."""
    return make_campaign(make_sponsor(now=now, kind="ENTERPRISE"), now=now,
                         kind="ENTERPRISE_POOL", name="员工流量池", rating_groups=[],
                         per_line_cap_mb=300)  # fmt: skip


def members_path(campaign) -> str:
    return f"/sponsor/campaigns/{campaign.campaign_id}/members"


def owner(client, line):
    return signed_in(client, User.objects.get(pk=line.user_id))


def invite(client, campaign, line, capture) -> str:
    """Invite the line; the SMS code it received."""
    with capture(execute=True):
        made = member_of(client, campaign.sponsor).post(members_path(campaign),
                                                        {"msisdn": line.msisdn})  # fmt: skip
    assert made.status_code == 201, made.content
    text = SandboxSms.objects.filter(phone=line.msisdn).latest("id").text
    return re.search(r"验证码 (\d{6})", text).group(1)


def consent(client, line, campaign, code: str):
    path = f"/lines/{line.msisdn}/sponsor-consents/{campaign.campaign_id}/confirm"
    return owner(client, line).post(path, {"code": code})


def test_an_invited_line_joins_with_the_sms_code_and_is_listed_masked(
    client, pool, now, django_capture_on_commit_callbacks
):
    line = make_line(plan=PLAN, now=now)
    code = invite(client, pool, line, django_capture_on_commit_callbacks)
    assert PoolMember.objects.get().status == "CODE_SENT"
    assert Notification.objects.filter(kind="SPONSOR_POOL_INVITED", recipient_id=line.user_id)
    joined = consent(client, line, pool, code)
    assert joined.status_code == 200, joined.content
    assert joined.json()["status"] == "ACTIVE"
    listed = member_of(client, pool.sponsor).get(members_path(pool))
    masked = line.msisdn[:3] + "****" + line.msisdn[-4:]
    assert [(m["msisdn_masked"], m["status"]) for m in listed.json()["items"]] == [
        (masked, "ACTIVE")
    ]
    assert line.msisdn not in listed.content.decode()


def test_a_wrong_code_counts_a_try_and_too_many_tries_end_the_invitation(
    client, pool, now, django_capture_on_commit_callbacks
):
    line = make_line(plan=PLAN, now=now)
    code = invite(client, pool, line, django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(CODE_TRIES):
        response = consent(client, line, pool, wrong)
        assert response.status_code == 422 and error_code(response) == "consent_code_wrong"
    response = consent(client, line, pool, code)
    assert response.status_code == 409 and error_code(response) == "consent_code_expired"
    assert PoolMember.objects.get().status == "CODE_SENT"


def test_only_the_lines_owner_confirms_and_only_the_pools_sponsor_manages_it(
    client, pool, now, django_capture_on_commit_callbacks
):
    line, other = make_line(plan=PLAN, now=now), make_line(plan=PLAN, now=now)
    code = invite(client, pool, line, django_capture_on_commit_callbacks)
    path = f"/lines/{line.msisdn}/sponsor-consents/{pool.campaign_id}/confirm"
    stranger = owner(client, other).post(path, {"code": code})
    assert stranger.status_code == 404 and error_code(stranger) == "line_not_found"
    rival = member_of(client, make_sponsor(now=now))
    for response in (rival.post(members_path(pool), {"msisdn": line.msisdn}),
                     rival.get(members_path(pool)),
                     rival.delete(f"{members_path(pool)}/{line.msisdn}")):  # fmt: skip
        assert response.status_code == 404 and error_code(response) == "campaign_not_found"
    assert PoolMember.objects.get().status == "CODE_SENT"
    free_flow = make_campaign(pool.sponsor, now=now)
    refused = member_of(client, pool.sponsor).post(members_path(free_flow), {"msisdn": line.msisdn})
    assert refused.status_code == 409 and error_code(refused) == "campaign_not_enterprise_pool"


def ask(client, line, token, now, rg: int, size: int, nth: int) -> int:
    at = now.replace(second=nth)
    body = request_body(line, seq=0, units=[data_unit(rg, request=size)], at=at)
    created = post(client, BASE, body, token)
    assert created.status_code == 201, created.content
    return created.json()["multipleUnitInformation"][0]["grantedUnit"]["totalVolume"]


def pool_reserved(line, pool) -> int:
    return sum(b.reserved for b in Bucket.objects.filter(line=line, payer_id=pool.campaign_id))


def test_an_active_member_draws_the_pool_on_any_rating_group_up_to_its_cap(
    client, pool, now, django_capture_on_commit_callbacks
):
    token = charging_token(now)
    member, outsider = make_line(plan=PLAN, now=now), make_line(plan=PLAN, now=now)
    code = invite(client, pool, member, django_capture_on_commit_callbacks)
    assert consent(client, member, pool, code).status_code == 200
    assert ask(client, member, token, now, VIDEO, 100 * MB, 1) == 100 * MB
    assert ask(client, member, token, now, WEB, 150 * MB, 2) == 150 * MB
    assert pool_reserved(member, pool) == 250 * MB
    assert ask(client, member, token, now, WEB, 100 * MB, 3) == 100 * MB
    assert pool_reserved(member, pool) == 300 * MB  # the cap: the rest from its own data
    ask(client, outsider, token, now, VIDEO, 100 * MB, 4)
    assert not Bucket.objects.filter(line=outsider, source="SPONSOR").exists()


def test_a_member_who_left_takes_no_new_slice(
    client, pool, now, django_capture_on_commit_callbacks
):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)
    code = invite(client, pool, line, django_capture_on_commit_callbacks)
    assert consent(client, line, pool, code).status_code == 200
    path = f"/lines/{line.msisdn}/sponsor-consents/{pool.campaign_id}/leave"
    left = owner(client, line).post(path)
    assert left.status_code == 200 and left.json()["status"] == "LEFT"
    ask(client, line, token, now, VIDEO, 10 * MB, 1)
    assert not Bucket.objects.filter(line=line, source="SPONSOR").exists()


def test_the_sponsor_removes_a_member_and_may_invite_it_again(
    client, pool, now, django_capture_on_commit_callbacks
):
    line = make_line(plan=PLAN, now=now)
    code = invite(client, pool, line, django_capture_on_commit_callbacks)
    assert consent(client, line, pool, code).status_code == 200
    removed = member_of(client, pool.sponsor).delete(f"{members_path(pool)}/{line.msisdn}")
    assert removed.status_code == 200 and removed.json()["status"] == "REMOVED"
    again = invite(client, pool, line, django_capture_on_commit_callbacks)
    assert PoolMember.objects.get().status == "CODE_SENT"
    assert consent(client, line, pool, again).json()["status"] == "ACTIVE"


def test_a_line_invited_to_a_pool_sees_that_sponsor_knows_its_number(
    client, pool, now, django_capture_on_commit_callbacks
):
    line = make_line(plan=PLAN, now=now)
    invite(client, pool, line, django_capture_on_commit_callbacks)
    known = owner(client, line).get(f"/lines/{line.msisdn}/sponsors").json()
    assert [k["sponsor_id"] for k in known] == [pool.sponsor.sponsor_id]
