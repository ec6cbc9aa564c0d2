"""Property tests of 流量红包, on the database: whatever grants a sponsor sends (some
retransmitted, some duplicated under an id already used with another body), what the lines
use of them and when they settle, a retransmitted or duplicated grant changes nothing, and
money and bytes are conserved between the sponsor (wallet, held, sponsored revenue), the
line (its own wallet untouched) and the margin (revenue less the wholesale cost)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.core.errors import Conflict
from haoka.sponsors import domain, rewards, wallet
from haoka.sponsors.domain import MB
from haoka.sponsors.models import BudgetShard, LineCampaignMonth, RewardGrant, Slice, WholesaleRate
from tests.support.charging import make_line, wallet_fen
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db

requests = st.lists(
    st.tuples(
        st.integers(0, 2),  # which line
        st.integers(1, 400),  # megabytes
        st.sampled_from(["a", "b", "c", "d", "e"]),  # external id: repeats are retransmissions
        st.floats(0, 1),  # what share of the grant the line uses
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(budget=st.integers(100, 2_000), price=st.integers(1, 3_000), sent=requests)
def test_grants_conserve_money_and_bytes_and_repeats_change_nothing(
    catalog, now, budget, price, sent
):
    with transaction.atomic():
        sponsor = make_sponsor(now=now)
        paid_in = budget + 500
        campaign = make_campaign(sponsor, now=now, kind="DATA_REWARD", budget_fen=budget,
                                 fund_fen=paid_in, price_fen_per_gb=price,
                                 per_line_cap_mb=600)  # fmt: skip
        WholesaleRate.objects.create(carrier_code="CMCC", fen_per_gb=price // 2,
                                     valid_from=now - dt.timedelta(days=1))  # fmt: skip
        lines = [make_line(plan="CM-MANGO-39", now=now) for _ in range(3)]
        own_before = [wallet_fen(line) for line in lines]
        accepted: dict[str, tuple] = {}
        for which, megabytes, external_id, share in sent:
            body = (lines[which].pk, megabytes)
            before = (RewardGrant.objects.count(), Slice.objects.count(), Bucket.objects.count())
            try:
                result = rewards.grant(
                    sponsor=sponsor, campaign_id=campaign.campaign_id, msisdn=lines[which].msisdn,
                    megabytes=megabytes, external_id=external_id, now=now,
                )  # fmt: skip
            except Conflict:
                assert before == (RewardGrant.objects.count(), Slice.objects.count(),
                                  Bucket.objects.count())  # fmt: skip
                continue
            if external_id in accepted:  # a retransmission: nothing new
                assert result.replayed and accepted[external_id] == body
                assert before == (RewardGrant.objects.count(), Slice.objects.count(),
                                  Bucket.objects.count())  # fmt: skip
                continue
            accepted[external_id] = body
            for piece in Slice.objects.filter(grant=result.grant):
                used = int(piece.bytes * share)
                Bucket.objects.filter(origin=f"slice:{piece.pk}").update(used=used)
        assert RewardGrant.objects.filter(campaign=campaign).count() == len(accepted)
        granted = sum(mb for _, mb in accepted.values()) * MB
        assert (
            Slice.objects.filter(campaign=campaign).aggregate(b=Sum("bytes"))["b"] or granted == 0
        )
        assert (
            Bucket.objects.filter(source="SPONSOR").aggregate(b=Sum("amount"))["b"] or 0
        ) == granted
        used = Bucket.objects.filter(source="SPONSOR").aggregate(u=Sum("used"))["u"] or 0

        sponsored.settle(now=campaign.valid_to + dt.timedelta(seconds=1))
        sponsored.settle(now=campaign.valid_to + dt.timedelta(seconds=2))  # twice: no change
        sid = sponsor.sponsor_id
        revenue = -ledger.recomputed_balance_fen(account="revenue:sponsored_data")
        cost = ledger.recomputed_balance_fen(account="expense:sponsored_data_wholesale")
        assert (
            wallet.balance_fen(sponsor_id=sid) + wallet.held_fen(sponsor_id=sid) + revenue
            == paid_in
        )
        assert (Slice.objects.aggregate(u=Sum("used_bytes"))["u"] or 0) == used
        months = LineCampaignMonth.objects.filter(campaign=campaign)
        assert revenue == sum(domain.rounded_fen(m.used_bytes, price) for m in months)
        assert cost == -ledger.recomputed_balance_fen(account="liability:carrier_wholesale_payable")
        shards = BudgetShard.objects.filter(campaign=campaign).aggregate(
            a=Sum("available_fen"), s=Sum("spent_fen")
        )
        assert shards["s"] == revenue and shards["a"] + revenue == budget
        assert [wallet_fen(line) for line in lines] == own_before  # the lines paid nothing
        assert ledger.trial_balance_fen() == 0
        transaction.set_rollback(True)
