"""Property tests of sponsor money, on the database: whatever slices lines take and settle
(and settle again), the sponsor's fen are conserved (wallet + held + sponsored revenue is
what was paid in), the campaign never holds or spends more than its budget, no shard goes
negative, and settling twice changes nothing. And the pure slice arithmetic without one."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.core import ledger
from haoka.sponsors import domain, slices, wallet
from haoka.sponsors.domain import GB, MB
from haoka.sponsors.models import BudgetShard, Slice
from tests.support.charging import make_line
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db

steps = st.lists(
    st.tuples(
        st.integers(0, 3),  # which line
        st.integers(1, 2 * GB),  # how much it wants
        st.floats(0, 1.2),  # what share of its last slice it used (>1: more than it had)
        st.booleans(),  # whether the settlement is delivered twice
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    budget=st.integers(100, 5_000), price=st.integers(1, 3_000), cap_mb=st.integers(1, 400),
    plan=steps,
)  # fmt: skip
def test_sponsor_fen_are_conserved_and_never_overspent(catalog, now, budget, price, cap_mb, plan):
    with transaction.atomic():
        sponsor = make_sponsor()
        paid_in = budget + 1_000
        campaign = make_campaign(sponsor, budget_fen=budget, fund_fen=paid_in,
                                 price_fen_per_gb=price, per_line_cap_mb=cap_mb)  # fmt: skip
        lines = [make_line(plan="CM-MANGO-39", now=now).pk for _ in range(4)]
        sid = sponsor.sponsor_id
        revenue_before = ledger.recomputed_balance_fen(account="revenue:sponsored_data")
        for which, want, share, twice in plan:
            grant = slices.take_slice(
                campaign_id=campaign.campaign_id, line_id=lines[which], want_bytes=want, now=now
            )
            if grant is None:
                continue
            used = int(grant.bytes * share)
            first = slices.settle_slice(slice_id=grant.slice_id, used_bytes=used, now=now)
            if twice:
                again = slices.settle_slice(slice_id=grant.slice_id, used_bytes=used + 7, now=now)
                assert (again.charged_fen, again.used_bytes) == (
                    first.charged_fen,
                    first.used_bytes,
                )
            assert first.charged_fen <= grant.held_fen
        revenue = -(
            ledger.recomputed_balance_fen(account="revenue:sponsored_data") - revenue_before
        )
        assert (
            wallet.balance_fen(sponsor_id=sid) + wallet.held_fen(sponsor_id=sid) + revenue
            == paid_in
        )
        shards = BudgetShard.objects.filter(campaign=campaign)
        spent = shards.aggregate(s=Sum("spent_fen"))["s"]
        available = shards.aggregate(s=Sum("available_fen"))["s"]
        assert spent == revenue <= budget
        assert available + spent == budget  # every slice settled: nothing else holds money
        assert not shards.filter(available_fen__lt=0).exists()
        per_line = (
            Slice.objects.filter(campaign=campaign)
            .values("line_id")
            .annotate(used=Sum("used_bytes"))
        )
        assert all(row["used"] <= cap_mb * MB for row in per_line)
        assert ledger.trial_balance_fen() == 0
        transaction.set_rollback(True)


@given(total=st.integers(0, 10**12), parts=st.integers(1, 64))
def test_a_budget_splits_into_near_equal_shares_summing_to_it(total, parts):
    shares = domain.split(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1 and min(shares) >= 0


@given(available=st.integers(0, 10**9), price=st.integers(1, domain.MAX_PRICE_FEN_PER_GB))
def test_what_a_shard_can_afford_never_costs_more_than_it_has(available, price):
    size = domain.affordable_bytes(available, price)
    assert domain.money_for(size, price) <= available
    assert domain.money_for(size + 1, price) > available or size + 1 > 10**18


@given(bytes_=st.integers(1, 100 * MB), used=st.integers(0, 100 * MB),
       price=st.integers(1, domain.MAX_PRICE_FEN_PER_GB))  # fmt: skip
def test_a_charge_never_exceeds_what_the_slice_holds(bytes_, used, price):
    held = domain.money_for(bytes_, price)
    used = min(used, bytes_)
    charge = domain.charge_for(used, price, held)
    assert 0 <= charge <= held
    assert (
        charge == min(held, round(used * price / GB + 1e-12))
        or abs(used * price / GB - charge) <= 0.5 + 1e-9
    )
