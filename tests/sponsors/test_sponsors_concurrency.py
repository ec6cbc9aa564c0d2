"""On PostgreSQL, 200 lines take slices of one campaign at once (32 threads, each with its own
connection) while its budget covers only 50 lines' caps: the slices never hold more than the
budget, no line passes its cap, no shard goes negative, and nothing deadlocks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from haoka.core import clock, ledger
from haoka.sponsors import slices
from haoka.sponsors.domain import GB, MB
from haoka.sponsors.models import BudgetShard, Campaign, LineCampaignMonth, Slice
from tests.support.charging import make_line
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db(transaction=True)
THREADS, LINES = 32, 200
CAP_MB = 250  # three slices a line: 100 + 100 + 50 MB
PRICE = 500  # ¥5 a GB


@pytest.fixture(autouse=True)
def postgres_only(db):
    if connection.vendor != "postgresql":  # as tests/conftest.py is_postgres()
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


def test_two_hundred_lines_at_once_never_overspend_the_budget_nor_pass_their_caps(catalog, now):
    per_line_fen = 49 + 49 + 25  # what one line's cap holds at ¥5/GB, slice by slice
    budget = 50 * per_line_fen
    campaign = make_campaign(
        make_sponsor(), budget_fen=budget, per_line_cap_mb=CAP_MB, price_fen_per_gb=PRICE
    )
    lines = [make_line(plan="CM-MANGO-39", now=now).pk for _ in range(LINES)]
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> int:
        taken = 0
        try:
            barrier.wait(timeout=60)
            with clock.frozen(now):
                for line_id in lines[worker::THREADS]:
                    for _ in range(5):  # more than the cap allows
                        grant = slices.take_slice(
                            campaign_id=campaign.campaign_id, line_id=line_id, want_bytes=GB,
                            now=now,
                        )  # fmt: skip
                        if grant is None:
                            break
                        taken += grant.held_fen
            return taken
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        taken = sum(pool.map(work, range(THREADS)))

    held = Slice.objects.filter(campaign=campaign).aggregate(s=Sum("held_fen"))["s"]
    available = BudgetShard.objects.filter(campaign=campaign).aggregate(s=Sum("available_fen"))["s"]
    assert taken == held <= budget
    assert held + available == budget  # every fen is in a shard or a slice
    assert held >= budget - 16 * per_line_fen  # and the budget was used, not refused early
    assert not BudgetShard.objects.filter(campaign=campaign, available_fen__lt=0).exists()
    worst = max(
        LineCampaignMonth.objects.filter(campaign=campaign).values_list("taken_bytes", flat=True)
    )
    assert worst <= CAP_MB * MB
    per_line = Slice.objects.filter(campaign=campaign).values("line_id").annotate(b=Sum("bytes"))
    assert all(row["b"] <= CAP_MB * MB for row in per_line)
    assert Campaign.objects.get(pk=campaign.pk).status == "EXHAUSTED"
    assert ledger.trial_balance_fen() == 0
