"""Cumulative rounding of sponsored charges: however a line's month of a campaign is split
into slices, the sponsor pays exactly round(total bytes x price), and no settlement charges
more than its slice holds. Pure arithmetic, then settlements on the database."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.sponsors import domain, slices
from haoka.sponsors.domain import MB
from haoka.sponsors.models import LineCampaignMonth, Slice
from tests.support.charging import make_line
from tests.support.sponsors import make_campaign, make_sponsor

prices = st.integers(1, domain.MAX_PRICE_FEN_PER_GB)
pieces = st.lists(st.integers(0, 100 * MB), min_size=1, max_size=40)


def charges_of(used: list[int], price: int) -> list[int]:
    total_used = total_charged = 0
    out = []
    for u in used:
        charge = domain.cumulative_charge(
            used_before=total_used, charged_before=total_charged, used=u, price=price
        )
        total_used, total_charged = total_used + u, total_charged + charge
        out.append(charge)
    return out


@given(used=pieces, price=prices)
def test_any_split_of_usage_charges_what_one_slice_of_it_would(used, price):
    assert sum(charges_of(used, price)) == domain.rounded_fen(sum(used), price)


@given(used=pieces, price=prices)
def test_no_settlement_charges_more_than_its_slice_holds_nor_less_than_nothing(used, price):
    for u, charge in zip(used, charges_of(used, price), strict=True):
        assert 0 <= charge <= domain.money_for(u, price)


def test_one_gigabyte_at_five_yuan_in_many_slices_costs_five_yuan():
    assert sum(charges_of([100 * MB] * 10 + [24 * MB], 500)) == 500
    assert sum(domain.charge_for(b, 500, domain.money_for(b, 500)) for b in [100 * MB] * 10) > 488


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wants=st.lists(st.integers(1, 100 * MB), min_size=1, max_size=8),
    share=st.floats(0, 1),
    price=st.integers(1, 2000),
)
def test_settled_slices_of_a_line_charge_the_rounded_total_of_their_bytes(
    catalog, now, wants, share, price
):
    campaign = make_campaign(make_sponsor(now=now), price_fen_per_gb=price, per_line_cap_mb=2048)
    line = make_line(plan="CM-MANGO-39", now=now)
    for want in wants:
        grant = slices.take_slice(
            campaign_id=campaign.campaign_id, line_id=line.pk, want_bytes=want, now=now
        )
        assert grant is not None
        slices.settle_slice(slice_id=grant.slice_id, used_bytes=int(grant.bytes * share), now=now)
    settled = Slice.objects.filter(campaign=campaign).aggregate(
        b=Sum("used_bytes"), f=Sum("charged_fen")
    )
    assert settled["f"] == domain.rounded_fen(settled["b"], price)
    month = LineCampaignMonth.objects.get(campaign=campaign, line_id=line.pk)
    assert (month.used_bytes, month.charged_fen, month.taken_bytes) == (
        settled["b"],
        settled["f"],
        settled["b"],
    )
