"""On PostgreSQL, the same 流量红包 sent by 8 threads at once (each with its own connection)
is granted once: one grant, its slices and buckets once, every thread answered the same
grant; and grants to many lines at once, from several shards each, never deadlock nor
overspend the budget."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.core.errors import Conflict
from haoka.sponsors import rewards
from haoka.sponsors.models import BudgetShard, RewardGrant, Slice
from tests.support.charging import make_line
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 8


@pytest.fixture(autouse=True)
def postgres_only(db):
    if connection.vendor != "postgresql":  # as tests/conftest.py is_postgres()
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


def at_once(work, count: int) -> list:
    barrier = threading.Barrier(THREADS)

    def run(i: int):
        try:
            barrier.wait(timeout=60)
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(count)))


def test_the_same_grant_sent_at_once_is_granted_once(catalog, now):
    campaign = make_campaign(make_sponsor(), kind="DATA_REWARD")
    line = make_line(plan="CM-MANGO-39", now=now)

    def send(_: int) -> int:
        return rewards.grant(sponsor=campaign.sponsor, campaign_id=campaign.campaign_id,
                             msisdn=line.msisdn, megabytes=300, external_id="order-9",
                             now=now).grant.pk  # fmt: skip

    answers = at_once(send, THREADS)
    assert len(set(answers)) == 1 and RewardGrant.objects.count() == 1
    assert Slice.objects.aggregate(b=Sum("bytes"))["b"] == 300 << 20
    assert Bucket.objects.filter(line=line, source="SPONSOR").aggregate(a=Sum("amount"))["a"] == (
        300 << 20
    )
    assert ledger.trial_balance_fen() == 0


def test_grants_to_many_lines_at_once_spanning_shards_never_deadlock_nor_overspend(catalog, now):
    budget = 16 * 120  # ¥1.20 a shard: a 400 MB grant (¥1.96 at ¥5/GB) needs two shards
    campaign = make_campaign(make_sponsor(), kind="DATA_REWARD", budget_fen=budget)
    lines = [make_line(plan="CM-MANGO-39", now=now) for _ in range(THREADS * 3)]

    def send(worker: int) -> int:
        granted = 0
        for n, line in enumerate(lines[worker::THREADS]):
            try:
                rewards.grant(sponsor=campaign.sponsor, campaign_id=campaign.campaign_id,
                              msisdn=line.msisdn, megabytes=400, external_id=f"{worker}-{n}",
                              now=now)  # fmt: skip
                granted += 1
            except Conflict:  # the budget is spent, or another grant moved a planned shard
                pass
        return granted

    granted = sum(at_once(send, THREADS))
    held = Slice.objects.aggregate(s=Sum("held_fen"))["s"] or 0
    available = BudgetShard.objects.aggregate(a=Sum("available_fen"))["a"]
    assert held + available == budget and held <= budget
    assert granted == RewardGrant.objects.count() >= 1
    assert Slice.objects.aggregate(b=Sum("bytes"))["b"] == granted * (400 << 20)
    assert ledger.trial_balance_fen() == 0
