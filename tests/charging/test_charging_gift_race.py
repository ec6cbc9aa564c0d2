"""On PostgreSQL, a gift confirmed while the giver's own online sessions ask for quota: the
bytes the sessions are granted and the bytes given away never add up to more than the giver
had (each side takes the line's charging lock first)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.charging import gifts, movements
from haoka.charging.models import Bucket, DataGift
from haoka.core import clock
from tests.support.charging import BASE, GB, MB, charging_token, data_unit, make_line, post
from tests.support.charging import request_body as nchf_body
from tests.support.clients import ProductionClient
from tests.support.money import use_data
from tests.support.web import latest_otp

SESSIONS = 6
PLAN = "CM-MANGO-39"  # 40 GB of general data a month


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("gift_mb", [1024, 2560])
def test_a_gift_racing_the_givers_sessions_never_lets_both_spend_the_same_bytes(catalog, gift_mb):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    now = clock.now()
    giver = make_line(plan=PLAN, now=now)
    receiver = make_line(plan=PLAN, now=now)
    use_data(giver, 37 * GB, at=now)  # 3 GB left; six sessions may ask for 6 GB
    gift = gifts.ask(
        line_id=giver.pk, user_id=giver.user_id, to_msisdn=receiver.msisdn,
        megabytes=gift_mb, client_ip="test", now=now,
    )  # fmt: skip
    code = latest_otp(giver.msisdn)
    token = charging_token(now)
    barrier = threading.Barrier(SESSIONS + 1)

    def session(i: int) -> int:
        try:
            client = ProductionClient()
            body = nchf_body(giver, seq=0, units=[data_unit(1003, request=GB)], at=now)
            body["nfConsumerIdentification"]["nFName"] = f"smf-{i}"
            barrier.wait(timeout=30)
            created = post(client, BASE, body, token)
            assert created.status_code == 201, created.content
            unit = created.json()["multipleUnitInformation"][0]
            return unit.get("grantedUnit", {}).get("totalVolume", 0)
        finally:
            connections.close_all()

    def give() -> str:
        try:
            barrier.wait(timeout=30)
            with contextlib.suppress(movements.NotEnoughData):  # the sessions got there first
                gifts.confirm(
                    gift_id=gift.pk, line_id=giver.pk, user_id=giver.user_id, code=code,
                    now=clock.now(),
                )  # fmt: skip
            return DataGift.objects.get(pk=gift.pk).state
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=SESSIONS + 1) as pool:
        gave = pool.submit(give)
        granted = list(pool.map(session, range(SESSIONS)))
        state = gave.result()

    given = gift_mb * MB if state == "DONE" else 0
    assert state in ("DONE", "FAILED")
    # The giver had 3 GB of its own data; the wallet (¥0) buys nothing more.
    assert sum(granted) + given <= 3 * GB
    plan = Bucket.objects.get(line=giver, origin__endswith=":data", source="PLAN")
    assert plan.amount + plan.moved_out == 40 * GB and plan.moved_out == given
    assert plan.used + plan.reserved <= plan.amount
    assert plan.reserved == sum(granted)
    received = Bucket.objects.filter(line=receiver, source="GIFT")
    assert sum(b.amount for b in received) == given
