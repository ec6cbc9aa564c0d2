"""On PostgreSQL, 200 lines in concurrent Nchf sessions (16 threads, each with its own
connection, through the online charging operations) on one 定向免流 campaign whose budget
covers 50 lines' caps: the slices never hold more than the budget, no line draws more than
its cap, and once the worker settles every slice the money and the bytes are conserved
(sponsor's held + revenue = budget; each line pays its own buckets what the sponsor did not;
cumulative rounding charges each line round(bytes x price))."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from haoka.charging import nchf, online, sponsored
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.sponsors import domain
from haoka.sponsors.domain import MB
from haoka.sponsors.models import BudgetShard, Campaign, LineCampaignMonth, Slice
from tests.support.charging import data_unit, make_line, request_body
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db(transaction=True)
THREADS, LINES = 16, 200
CAP_MB, PRICE, APP = 250, 500, 1011  # 芒果TV at ¥5 a GB, 250 MB a line a month
STEP, STEPS = 100 * MB, 4  # each line asks for and uses 100 MB four times: 400 MB
SMF = 1  # the id of the SMF's API token (sessions keep it as a number)


@pytest.fixture(autouse=True)
def postgres_only(db):
    if connection.vendor != "postgresql":  # as tests/conftest.py is_postgres()
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")


@pytest.fixture(autouse=True)
def fresh_campaigns():
    sponsored.forget_cached()
    yield
    sponsored.forget_cached()


def session(line, *, token_id: int, now: dt.datetime) -> None:
    """One Nchf session of the line: create, updates and release, each using STEP."""

    def body(seq: int, **kwargs):
        return nchf.parse(request_body(line, seq=seq, units=[data_unit(APP, **kwargs)], at=now),
                          operation="release" if seq == STEPS else "create" if seq == 0
                          else "update")  # fmt: skip

    ref = online.create(token_id=token_id, request=body(0, request=STEP), now=now).ref
    for seq in range(1, STEPS):
        online.update(
            ref=ref, token_id=token_id, request=body(seq, request=STEP, used=STEP), now=now
        )
    online.release(ref=ref, token_id=token_id, request=body(STEPS, used=STEP), now=now)


def test_two_hundred_lines_in_concurrent_sessions_stay_within_budget_and_caps(catalog, now):
    per_line_fen = 49 + 49 + 25  # one line's cap at ¥5/GB, slice by slice
    budget = 50 * per_line_fen
    campaign = make_campaign(make_sponsor(), budget_fen=budget, per_line_cap_mb=CAP_MB,
                             price_fen_per_gb=PRICE, rating_groups=[APP])  # fmt: skip
    lines = [make_line(plan="CM-SHANGLV-58", now=now) for _ in range(LINES)]
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=60)
            for line in lines[worker::THREADS]:
                session(line, token_id=SMF, now=now)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(work, range(THREADS)))

    held = Slice.objects.filter(campaign=campaign).aggregate(s=Sum("held_fen"))["s"]
    assert held <= budget
    assert held >= budget - 16 * per_line_fen  # the budget was used, not refused early
    assert max(LineCampaignMonth.objects.values_list("taken_bytes", flat=True)) <= CAP_MB * MB
    for line in lines:  # every byte used was paid by someone: the sponsor first, then the line
        theirs = Bucket.objects.filter(line=line, source="SPONSOR").aggregate(u=Sum("used"))["u"]
        assert (theirs or 0) <= CAP_MB * MB
        assert Bucket.objects.filter(line=line).aggregate(u=Sum("used"))["u"] == STEPS * STEP

    assert sponsored.settle(now=domain.month_end(now), limit=10_000) == Slice.objects.count()
    charged = Slice.objects.aggregate(s=Sum("charged_fen"))["s"]
    spent = BudgetShard.objects.aggregate(s=Sum("spent_fen"), a=Sum("available_fen"))
    assert spent["s"] == charged and spent["a"] + charged == budget
    months = LineCampaignMonth.objects.values_list("used_bytes", "charged_fen")
    assert all(fen == domain.rounded_fen(used, PRICE) for used, fen in months)
    sid = campaign.sponsor.sponsor_id
    assert ledger.balance_fen(account=f"liability:sponsor_held:{sid}") == charged - budget
    assert ledger.balance_fen(account="revenue:sponsored_data") == -charged
    assert ledger.trial_balance_fen() == 0
    assert Campaign.objects.get(pk=campaign.pk).status in ("EXHAUSTED", "ACTIVE")
