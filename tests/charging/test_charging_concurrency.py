"""On PostgreSQL, 20 charging sessions of one line at once with a small wallet: the total
granted never exceeds what the line can pay, and the ledger stays balanced."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections

from haoka.catalog import operations as catalog_ops
from haoka.catalog.models import Plan
from haoka.charging import tariffs
from haoka.charging.models import Bucket, ChargingAccount
from haoka.core import clock, ledger
from tests.support.charging import (
    BASE,
    KB,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.clients import ProductionClient

SESSIONS = 20
PLAN = "CM-MANGO-39"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_sessions_never_grant_more_than_the_line_can_pay():
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    # 2 MB of allowance, then 1 fen per MB from a wallet of ¥0.10: at most 2 MB + ~10 MB.
    Plan.objects.filter(code=PLAN).update(
        general_data_bytes=2 * MB, payg_data_fen_per_mb=Decimal("1.0000")
    )
    tariffs.forget_cached()
    now = clock.now()
    line = make_line(plan=PLAN, balance_fen=10, now=now)
    token = charging_token(now)
    barrier = threading.Barrier(SESSIONS)

    def session(i: int) -> int:
        try:
            client = ProductionClient()
            body = request_body(line, seq=0, units=[data_unit(1003, request=3 * MB)], at=now)
            body["nfConsumerIdentification"]["nFName"] = f"smf-{i}"
            barrier.wait(timeout=30)
            created = post(client, BASE, body, token)
            assert created.status_code == 201, created.content
            granted = created.json()["multipleUnitInformation"][0]["grantedUnit"]["totalVolume"]
            ref = created["Location"].rsplit("/", 1)[1]
            used = body_used = granted  # use everything granted, then end the session
            body = request_body(line, seq=1, units=[data_unit(1003, used=body_used)], at=now)
            assert post(client, f"{BASE}/{ref}/release", body, token).status_code == 204
            return used
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        grants = list(pool.map(session, range(SESSIONS)))

    payable = 2 * MB + 11 * MB  # the allowance + what ¥0.10 buys (< 11 MB with the carry)
    assert sum(grants) <= payable
    assert sum(grants) >= 2 * MB + 9 * MB  # and the money was not left unused either
    bucket = Bucket.objects.get(line=line, label="套餐通用流量")
    assert (bucket.used, bucket.reserved) == (2 * MB, 0)
    assert ChargingAccount.objects.get(line=line).reserved_fen == 0
    wallet = -ledger.balance_fen(account=f"liability:wallet:line:{line.pk}")
    assert 0 <= wallet <= 1 and sum(grants) % KB == 0
    assert ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []
