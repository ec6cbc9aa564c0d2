"""定向免流 on the hot path, on both databases: a line's online sessions on a campaign's
rating group take budget slices as SPONSOR buckets up to the campaign's monthly cap, then
its own buckets pay; settling charges the sponsor once; with no campaign the hot path makes
no extra query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.core.models import LedgerTransaction
from haoka.sponsors import campaigns
from haoka.sponsors.domain import rounded_fen
from haoka.sponsors.models import Slice, WholesaleRate
from tests.support.charging import (
    BASE,
    GB,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db
PLAN = "CM-SHANGLV-58"  # 30 GB of general data, no app zero-rated or targeted
APP, OTHER = 1011, 1003  # 芒果TV, 视频


@pytest.fixture(autouse=True)
def fresh_campaigns():
    sponsored.forget_cached()
    yield
    sponsored.forget_cached()


@pytest.fixture
def token(catalog, now):
    return charging_token(now)


@pytest.fixture
def sponsor(catalog, now):
    return make_sponsor(now=now)


def free_flow(sponsor, now, **overrides):
    """1 GB a line a month of 芒果TV at ¥5 a GB, a ¥100 budget."""
    return make_campaign(sponsor, now=now, **{"rating_groups": [APP], **overrides})


def use(client, line, token, now, *, rg: int, grants: int, size: int, nth: int = 0) -> None:
    """The line's ``nth`` session, asking ``grants`` times for ``size`` bytes of ``rg`` and
    using all of it."""
    at = now + dt.timedelta(seconds=nth)  # another session, not a retransmission
    first = request_body(line, seq=0, units=[data_unit(rg, request=size)], at=at)
    created = post(client, BASE, first, token)
    assert created.status_code == 201, created.content
    assert created.json()["multipleUnitInformation"][0]["grantedUnit"] == {"totalVolume": size}
    ref = created["Location"].rsplit("/", 1)[1]
    for seq in range(1, grants):
        body = request_body(line, seq=seq, units=[data_unit(rg, request=size, used=size)], at=at)
        updated = post(client, f"{BASE}/{ref}/update", body, token)
        assert updated.status_code == 200, updated.content
    last = request_body(line, seq=grants, units=[data_unit(rg, used=size)], at=at)
    assert post(client, f"{BASE}/{ref}/release", last, token).status_code == 204


def sponsored_bytes(line) -> tuple[int, int]:
    """(bytes used of the line's SPONSOR buckets, how many there are)."""
    found = Bucket.objects.filter(line=line, source="SPONSOR", payer_kind="SPONSOR")
    return sum(b.used for b in found), found.count()


def own_used(line) -> int:
    return Bucket.objects.get(line=line, label="套餐通用流量").used


def test_a_line_uses_its_one_gigabyte_cap_of_sponsored_data_then_its_own(
    client, token, sponsor, now
):
    campaign = free_flow(sponsor, now)
    WholesaleRate.objects.create(
        carrier_code="CMCC", fen_per_gb=200, valid_from=now - dt.timedelta(days=1)
    )
    line = make_line(plan=PLAN, now=now)
    held_before = ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}")

    use(client, line, token, now, rg=APP, grants=12, size=128 * MB)  # 1.5 GB

    assert sponsored_bytes(line) == (GB, 11)
    assert own_used(line) == GB // 2
    pieces = list(Slice.objects.filter(campaign=campaign).order_by("id"))
    assert [p.bytes for p in pieces] == [100 * MB] * 10 + [24 * MB]
    bucket = Bucket.objects.get(origin=f"slice:{pieces[0].pk}")
    assert (bucket.payer_id, bucket.rating_groups, bucket.label) == (
        campaign.campaign_id, [APP], f"由 {sponsor.company_name} 赞助",
    )  # fmt: skip

    assert sponsored.settle(now=now) == 11
    # 1 GB at ¥5/GB in 11 slices costs ¥5.00, not 10 x 49 + 12 fen: cumulative rounding.
    expected = rounded_fen(GB, 500)
    assert expected == 500
    assert sum(p.charged_fen for p in Slice.objects.filter(campaign=campaign)) == expected
    assert set(Slice.objects.values_list("state", flat=True)) == {"SETTLED"}
    held = ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}")
    assert held - held_before == expected  # the sponsor's held money, less what it paid
    assert ledger.balance_fen(account="revenue:sponsored_data") == -expected
    assert ledger.balance_fen(account="expense:sponsored_data_wholesale") > 0
    assert ledger.balance_fen(account="liability:carrier_wholesale_payable") < 0
    assert ledger.trial_balance_fen() == 0


def test_settling_twice_changes_nothing(client, token, sponsor, now):
    free_flow(sponsor, now, per_line_cap_mb=200)
    line = make_line(plan=PLAN, now=now)
    use(client, line, token, now, rg=APP, grants=3, size=100 * MB)
    assert sponsored.settle(now=now) == 2
    postings = LedgerTransaction.objects.count()
    assert sponsored.settle(now=now) == 0
    assert LedgerTransaction.objects.count() == postings
    assert sorted(Slice.objects.values_list("charged_fen", flat=True)) == [49, 49]


def test_a_partly_used_slice_is_settled_once_its_bucket_ended(client, token, sponsor, now):
    free_flow(sponsor, now)
    line = make_line(plan=PLAN, now=now)
    use(client, line, token, now, rg=APP, grants=1, size=30 * MB)
    assert sponsored.settle(now=now) == 0  # 70 MB left: still the line's to use
    bucket = Bucket.objects.get(line=line, source="SPONSOR")
    assert sponsored.settle(now=bucket.valid_to) == 1  # the Beijing month is over
    piece = Slice.objects.get()
    assert (piece.state, piece.used_bytes, piece.charged_fen) == ("SETTLED", 30 * MB, 15)


def test_usage_on_another_rating_group_never_takes_a_slice(client, token, sponsor, now):
    free_flow(sponsor, now)
    line = make_line(plan=PLAN, now=now)
    use(client, line, token, now, rg=OTHER, grants=2, size=100 * MB)
    assert sponsored_bytes(line) == (0, 0) and not Slice.objects.exists()
    assert own_used(line) == 200 * MB


def test_a_line_opted_out_of_the_sponsor_takes_no_slice(client, token, sponsor, now):
    free_flow(sponsor, now)
    line = make_line(plan=PLAN, now=now)
    campaigns.opt_out(line_id=line.pk, sponsor_id=sponsor.sponsor_id, now=now)
    use(client, line, token, now, rg=APP, grants=2, size=100 * MB)
    assert sponsored_bytes(line) == (0, 0) and not Slice.objects.exists()
    assert own_used(line) == 200 * MB


def test_a_paused_campaign_gives_no_new_slice_and_the_line_pays(client, token, sponsor, now):
    campaign = free_flow(sponsor, now)
    line = make_line(plan=PLAN, now=now)
    use(client, line, token, now, rg=APP, grants=1, size=100 * MB)
    assert sponsored_bytes(line) == (100 * MB, 1)
    campaigns.change(sponsor=sponsor, campaign_id=campaign.campaign_id, action="pause",
                     budget_fen=None, actor="test", now=now)  # fmt: skip
    # the process still lists it as live (its copy is younger than TTL): the row refuses
    use(client, line, token, now, rg=APP, grants=2, size=100 * MB, nth=1)
    assert sponsored_bytes(line) == (100 * MB, 1)
    assert own_used(line) == 200 * MB


def _queries_of_a_new_session(client, token, now, *, rg: int) -> int:
    line = make_line(plan=PLAN, now=now)
    body = request_body(line, seq=0, units=[data_unit(rg, request=MB)], at=now)
    with CaptureQueriesContext(connection) as captured:
        assert post(client, BASE, body, token).status_code == 201
    return len(captured.captured_queries)


def test_with_no_live_campaign_for_the_group_the_hot_path_makes_no_extra_query(
    client, token, sponsor, now
):
    _queries_of_a_new_session(client, token, now, rg=APP)  # every process cache warm
    plain = _queries_of_a_new_session(client, token, now, rg=APP)
    free_flow(sponsor, now, rating_groups=[OTHER])  # a campaign, of another group
    sponsored.forget_cached()
    sponsored.free_flow_campaigns(APP, now=now)  # its copy is fresh
    assert _queries_of_a_new_session(client, token, now, rg=APP) == plain
    # the count can tell: a session on the campaign's group takes a slice
    assert _queries_of_a_new_session(client, token, now, rg=OTHER) > plain


def _queries_of_a_session(client, token, line, now, *, rg: int, nth: int) -> int:
    at = now + dt.timedelta(seconds=nth)
    body = request_body(line, seq=0, units=[data_unit(rg, request=MB)], at=at)
    with CaptureQueriesContext(connection) as captured:
        assert post(client, BASE, body, token).status_code == 201
    return len(captured.captured_queries)


def test_a_line_at_its_cap_asks_the_campaign_nothing(client, token, sponsor, now):
    free_flow(sponsor, now, per_line_cap_mb=200)
    line = make_line(plan=PLAN, now=now)
    use(client, line, token, now, rg=APP, grants=2, size=100 * MB)  # the cap, used up
    _queries_of_a_session(client, token, line, now, rg=OTHER, nth=1)  # caches warm
    plain = _queries_of_a_session(client, token, line, now, rg=OTHER, nth=2)
    assert _queries_of_a_session(client, token, line, now, rg=APP, nth=3) == plain
    assert Slice.objects.count() == 2 and own_used(line) == 0
