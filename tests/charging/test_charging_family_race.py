"""On PostgreSQL, the main line and its 4 members in concurrent online sessions (threads with
their own connections, through the Nchf API): the pool never gives more than it has and no
member more than its cap; what members took is exactly what left the main line's plan."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from haoka.charging import family, gifts, movements
from haoka.charging.models import Bucket, DataGift
from haoka.core import clock
from tests.support.charging import GB, MB, charging_token, make_line
from tests.support.clients import ProductionClient
from tests.support.family import ask_data, make_family, plan_data
from tests.support.money import use_data
from tests.support.web import latest_otp

PLAN = "CM-MANGO-39"  # 40 GB of general data a month
CAP_MB = 1536
PER_LINE = 3  # sessions of each line, each asking 1 GB


@pytest.mark.django_db(transaction=True)
def test_five_lines_of_a_family_at_once_never_spend_more_than_the_pool_or_a_cap(catalog):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    now = clock.now()
    main = make_line(plan=PLAN, now=now)
    members = [make_line(plan=PLAN, now=now) for _ in range(4)]
    for line in members:
        use_data(line, 40 * GB, at=now)  # their own data is gone
    use_data(main, 36 * GB, at=now)  # 4 GB left in the pool; 15 sessions ask for 15 GB
    make_family(main, members, cap_mb=CAP_MB, now=now)
    token = charging_token(now)
    lines = [main, *members]
    barrier = threading.Barrier(len(lines) * PER_LINE)

    def session(job: tuple[int, int]) -> tuple[int, int]:
        i, k = job
        try:
            barrier.wait(timeout=30)
            got = ask_data(ProductionClient(), lines[i], GB, now=now, token=token,
                           smf=f"smf-{i}-{k}")  # fmt: skip
            return i, got
        finally:
            connections.close_all()

    jobs = [(i, k) for i in range(len(lines)) for k in range(PER_LINE)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        granted = list(pool.map(session, jobs))

    by_line = {i: sum(g for j, g in granted if j == i) for i in range(len(lines))}
    assert sum(by_line.values()) <= 4 * GB  # the pool's 4 GB, and not a byte more
    assert sum(by_line.values()) == 4 * GB  # 15 GB asked: all of it was granted
    for i, line in enumerate(members, start=1):
        taken = Bucket.objects.filter(line=line, source="FAMILY").aggregate(s=Sum("amount"))["s"]
        assert by_line[i] <= CAP_MB * MB and (taken or 0) <= CAP_MB * MB
        assert (taken or 0) == by_line[i]
    pool = plan_data(main)
    assert pool.amount + pool.moved_out == 40 * GB
    assert pool.used + pool.reserved <= pool.amount
    assert pool.reserved == by_line[0]
    moved = Bucket.objects.filter(source="FAMILY").aggregate(s=Sum("amount"))["s"] or 0
    assert moved == pool.moved_out


@pytest.mark.django_db(transaction=True)
def test_a_gift_and_a_leave_racing_members_sessions_neither_deadlock_nor_overspend(catalog):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    now = clock.now()
    main = make_line(plan=PLAN, now=now)  # the lowest id: its lock comes first in movements
    members = [make_line(plan=PLAN, now=now) for _ in range(2)]
    for line in members:
        use_data(line, 40 * GB, at=now)
    use_data(main, 36 * GB, at=now)  # 4 GB in the pool
    make_family(main, members, cap_mb=4096, now=now)
    gift = gifts.ask(line_id=main.pk, user_id=main.user_id, to_msisdn=members[0].msisdn,
                     megabytes=1024, client_ip="test", now=now)  # fmt: skip
    code = latest_otp(main.msisdn)
    token = charging_token(now)
    jobs = [("ask", i % 2, i) for i in range(6)] + [("gift", 0, 0), ("leave", 1, 0)]
    barrier = threading.Barrier(len(jobs))

    def run(job) -> int:
        kind, who, k = job
        try:
            barrier.wait(timeout=30)
            if kind == "gift":
                with contextlib.suppress(movements.NotEnoughData):
                    gifts.confirm(gift_id=gift.pk, line_id=main.pk, user_id=main.user_id,
                                  code=code, now=now)  # fmt: skip
                return 0
            if kind == "leave":
                family.leave(line_id=members[1].pk, now=now)
                return 0
            return ask_data(ProductionClient(), members[who], GB, now=now, token=token,
                            smf=f"smf-{who}-{k}")  # fmt: skip
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        granted = sum(pool.map(run, jobs))  # a deadlock would raise here

    given = GB if DataGift.objects.get(pk=gift.pk).state == "DONE" else 0
    pool_bucket = plan_data(main)
    assert pool_bucket.amount + pool_bucket.moved_out == 40 * GB
    assert pool_bucket.used + pool_bucket.reserved <= pool_bucket.amount
    taken = Bucket.objects.filter(source="FAMILY").aggregate(s=Sum("amount"))["s"] or 0
    assert taken + given == pool_bucket.moved_out
    assert granted <= 4 * GB  # pool and gift together: the 4 GB the main line had
