"""On PostgreSQL, ten orders of one ID racing for its fifth slot: exactly one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.kyc import domain, operations
from haoka.kyc.models import IdentityClaim, IdentityClaimCounter, KycRecord
from tests.support.kyc import ID_A, NOW, check, make_user

THREADS = 10


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_orders_with_four_existing_claims_let_exactly_one_pass(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    # Ten orders of one ID within minutes would be flagged for review; this test is about
    # the line limit, so the velocity rule is lifted.
    monkeypatch.setattr(domain, "VELOCITY_LIMIT", 1000)
    user = make_user()
    for i in range(4):
        operations.import_active_claim(
            id_number=ID_A, carrier="CMCC", reference=f"LINE-{i}", staff_id=user.pk, now=NOW
        )
    barrier = threading.Barrier(THREADS)

    def attempt(i: int) -> tuple[str, str]:
        try:
            barrier.wait(timeout=30)
            result = check(user=user, order_ref=f"HKRACE{i:02d}")
            return result.status, result.reason_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(attempt, range(THREADS)))

    assert sorted(results).count(("PASSED", "")) == 1
    assert sorted(results).count(("REJECTED", "id_line_limit")) == THREADS - 1
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == 5
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == 5
    assert KycRecord.objects.filter(status="PASSED").count() == 1
    assert KycRecord.objects.count() == THREADS


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_of_a_new_id_never_exceed_five(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    monkeypatch.setattr(domain, "VELOCITY_LIMIT", 1000)
    user = make_user()
    barrier = threading.Barrier(THREADS)

    def attempt(i: int) -> str:
        try:
            barrier.wait(timeout=30)
            return check(user=user, order_ref=f"HKNEW{i:02d}").status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(attempt, range(THREADS)))

    assert statuses.count("PASSED") == domain.LINE_LIMIT
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == domain.LINE_LIMIT


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_sent_to_review_with_four_in_review_let_exactly_one_take_the_fifth(
    monkeypatch,
):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    # Every check goes to staff review: an order in review holds its slot, so the race for
    # the fifth slot is the same as for passes.
    monkeypatch.setattr(domain, "VELOCITY_LIMIT", 1)
    user = make_user()
    for i in range(4):
        assert check(user=user, order_ref=f"HKREVIEW{i:02d}").status == "FLAGGED"
    barrier = threading.Barrier(THREADS)

    def attempt(i: int) -> tuple[str, str]:
        try:
            barrier.wait(timeout=30)
            result = check(user=user, order_ref=f"HKRACE{i:02d}")
            return result.status, result.reason_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(attempt, range(THREADS)))

    assert results.count(("FLAGGED", "velocity")) == 1
    assert results.count(("REJECTED", "id_line_limit")) == THREADS - 1
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == domain.LINE_LIMIT
    assert IdentityClaimCounter.objects.get(carrier="CMCC").active == domain.LINE_LIMIT
    assert KycRecord.objects.filter(status="FLAGGED").count() == domain.LINE_LIMIT
