"""流量红包 over HTTP, on both databases: a sponsor grants megabytes of a DATA_REWARD
campaign to a line, which gets a SPONSOR bucket paid from the budget through slices and is
told; the same request again changes nothing, another under the same external_id is 409;
caps, budget, kinds and another sponsor's campaign are refused by name; the sponsor pays
for what is used when the bucket settles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.notices.models import Notification
from haoka.sponsors import domain
from haoka.sponsors.domain import MB
from haoka.sponsors.models import BudgetShard, RewardGrant, Slice
from tests.support.charging import BASE, charging_token, data_unit, make_line, post, request_body
from tests.support.sponsors import DOUYIN, error_code, make_campaign, make_sponsor, member_of

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


@pytest.fixture
def reward(catalog, now):
    """A DATA_REWARD campaign (¥100, 1 GB a line a month at ¥5/GB, 抖音 for targeted)."""
    return make_campaign(make_sponsor(now=now), now=now, kind="DATA_REWARD", name="下单送流量")


def grants_path(campaign) -> str:
    return f"/sponsor/campaigns/{campaign.campaign_id}/grants"


def ask(client, campaign, line, **overrides):
    body = {"msisdn": line.msisdn, "megabytes": 200, "external_id": "order-1", **overrides}
    return member_of(client, campaign.sponsor).post(grants_path(campaign), body)


def sponsor_buckets(line):
    return list(Bucket.objects.filter(line=line, source="SPONSOR").order_by("id"))


def test_a_grant_gives_the_line_a_general_sponsor_bucket_to_the_campaigns_end(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    made = ask(client, reward, line)
    assert made.status_code == 201, made.content
    shown = made.json()
    masked = line.msisdn[:3] + "****" + line.msisdn[-4:]
    assert (shown["msisdn_masked"], shown["megabytes"], shown["kind"]) == (masked, 200, "general")
    assert line.msisdn not in made.content.decode()
    (bucket,) = sponsor_buckets(line)
    assert (bucket.amount, bucket.rating_groups, bucket.valid_to) == (200 * MB, [], reward.valid_to)
    assert bucket.payer_id == reward.campaign_id and bucket.payer_kind == "SPONSOR"
    piece = Slice.objects.get(grant__external_id="order-1")
    assert bucket.origin == f"slice:{piece.pk}"
    assert piece.held_fen == domain.money_for(200 * MB, 500)
    shards = BudgetShard.objects.filter(campaign=reward).aggregate(a=Sum("available_fen"))["a"]
    assert shards == reward.budget_fen - piece.held_fen
    told = Notification.objects.get(kind="SPONSOR_DATA_GRANTED", recipient_id=line.user_id)
    assert "200 MB" in told.body and reward.sponsor.company_name in told.body
    assert ledger.trial_balance_fen() == 0


def test_a_targeted_grant_covers_the_campaigns_rating_groups_only(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    assert ask(client, reward, line, kind="targeted").status_code == 201
    assert sponsor_buckets(line)[0].rating_groups == [DOUYIN]


def test_a_targeted_grant_of_a_campaign_without_rating_groups_is_refused(client, now, catalog):
    campaign = make_campaign(make_sponsor(now=now), now=now, kind="DATA_REWARD", rating_groups=[])
    response = ask(client, campaign, make_line(plan=PLAN, now=now), kind="targeted")
    assert response.status_code == 422 and error_code(response) == "invalid_grant"


def test_the_same_grant_again_answers_the_first_and_changes_nothing(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    first = ask(client, reward, line)
    again = ask(client, reward, line)
    assert again.status_code == 201 and again.json() == first.json()
    assert RewardGrant.objects.count() == 1 and len(sponsor_buckets(line)) == 1
    assert Notification.objects.filter(kind="SPONSOR_DATA_GRANTED").count() == 1


def test_another_request_under_the_same_external_id_is_a_conflict(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    assert ask(client, reward, line).status_code == 201
    for changed in ({"megabytes": 300}, {"kind": "targeted"},
                    {"msisdn": make_line(plan=PLAN, now=now).msisdn}):  # fmt: skip
        response = ask(client, reward, line, **changed)
        assert response.status_code == 409, changed
        assert error_code(response) == "grant_external_id_reused"
    assert RewardGrant.objects.count() == 1 and Slice.objects.count() == 1


def test_a_grant_beyond_the_lines_monthly_cap_is_refused_and_leaves_nothing(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    assert ask(client, reward, line, megabytes=1000).status_code == 201
    response = ask(client, reward, line, megabytes=25, external_id="order-2")
    assert response.status_code == 409 and error_code(response) == "grant_over_line_cap"
    assert RewardGrant.objects.count() == 1 and len(sponsor_buckets(line)) == 1


def test_a_grant_the_budget_cannot_pay_is_refused_and_leaves_the_budget_whole(client, now, catalog):
    campaign = make_campaign(make_sponsor(now=now), now=now, kind="DATA_REWARD", budget_fen=100)
    line = make_line(plan=PLAN, now=now)  # 500 MB hold ¥2.45: more than ¥1.00
    response = ask(client, campaign, line, megabytes=500)
    assert response.status_code == 409 and error_code(response) == "grant_over_budget"
    assert not RewardGrant.objects.exists() and not Slice.objects.exists()
    assert (
        BudgetShard.objects.filter(campaign=campaign).aggregate(a=Sum("available_fen"))["a"] == 100
    )


def test_a_grant_draws_its_budget_from_several_shards_when_one_cannot_pay(client, now, catalog):
    campaign = make_campaign(make_sponsor(now=now), now=now, kind="DATA_REWARD", budget_fen=1600)
    line = make_line(plan=PLAN, now=now)  # each shard holds ¥1.00: 1000 MB need ¥4.89
    assert ask(client, campaign, line, megabytes=1000).status_code == 201
    pieces = Slice.objects.filter(campaign=campaign)
    assert pieces.count() > 1 and pieces.aggregate(b=Sum("bytes"))["b"] == 1000 * MB
    assert sum(b.amount for b in sponsor_buckets(line)) == 1000 * MB


def test_another_sponsors_campaign_is_not_found_and_other_kinds_are_refused(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    stranger = member_of(client, make_sponsor(now=now))
    response = stranger.post(grants_path(reward), {"msisdn": line.msisdn, "megabytes": 10,
                                                   "external_id": "x"})  # fmt: skip
    assert response.status_code == 404 and error_code(response) == "campaign_not_found"
    free_flow = make_campaign(reward.sponsor, now=now)
    response = ask(client, free_flow, line)
    assert response.status_code == 409 and error_code(response) == "campaign_not_data_reward"
    assert not RewardGrant.objects.exists()


def test_an_unknown_number_and_bad_sizes_are_refused_by_name(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    assert error_code(ask(client, reward, line, msisdn="13000000000")) == "line_not_found"
    for size in (0, -5, domain.MAX_GRANT_MB + 1):
        assert error_code(ask(client, reward, line, megabytes=size)) == "invalid_grant"
    assert error_code(ask(client, reward, line, external_id="  ")) == "invalid_grant"


def test_the_sponsor_pays_for_what_was_used_when_the_grant_ends(client, reward, now):
    line = make_line(plan=PLAN, now=now)
    assert ask(client, reward, line, megabytes=300).status_code == 201
    (bucket,) = sponsor_buckets(line)
    Bucket.objects.filter(pk=bucket.pk).update(used=123 * MB)  # as the hot path would draw it
    after = reward.valid_to + dt.timedelta(seconds=1)
    assert sponsored.settle(now=after) == 1
    piece = Slice.objects.get(campaign=reward)
    assert (piece.state, piece.used_bytes) == ("SETTLED", 123 * MB)
    assert piece.charged_fen == domain.rounded_fen(123 * MB, 500)
    assert ledger.balance_fen(account="revenue:sponsored_data") == -piece.charged_fen
    assert ledger.trial_balance_fen() == 0


def test_a_general_grant_pays_the_lines_traffic_of_any_rating_group_before_its_own(
    client, reward, now
):
    line = make_line(plan=PLAN, now=now)
    assert ask(client, reward, line, megabytes=50).status_code == 201
    sponsored.forget_cached()
    token = charging_token(now)
    body = request_body(line, seq=0, units=[data_unit(1003, request=80 * MB)], at=now)
    assert post(client, BASE, body, token).status_code == 201
    (bucket,) = sponsor_buckets(line)
    assert bucket.reserved == 50 * MB  # all of the grant, then the line's own for the rest
    own = Bucket.objects.filter(line=line).exclude(source="SPONSOR").aggregate(r=Sum("reserved"))
    assert own["r"] == 30 * MB
