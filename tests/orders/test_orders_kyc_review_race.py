"""On PostgreSQL: staff reviewing a flagged check while the consumer submits a new one for the
same order. Both lock the order first, so they take turns instead of deadlocking."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.accounts.models import User
from haoka.kyc import domain as kyc_domain
from haoka.kyc import operations as kyc_operations
from haoka.orders import operations
from haoka.orders.models import Order
from tests.support.orders import T0, id_number, make_buyer

pytestmark = pytest.mark.django_db(transaction=True)
PAID_PLAN, CT1 = "CT-WUYOU-0", "18912340001"


def _someone_waits_for_a_lock() -> bool:
    with connections["default"].cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0] > 0


def test_a_staff_review_and_a_new_check_of_one_order_take_turns_instead_of_deadlocking(
    client, pool, carrier, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("row-level lock order needs PostgreSQL; SQLite serializes every writer")
    monkeypatch.setattr(kyc_domain, "VELOCITY_LIMIT", 1)  # every check goes to staff review
    buyer = make_buyer(client, 21)
    ref = buyer.hold_and_order(msisdn=CT1, plan=PAID_PLAN)["ref"]
    body = {"name": "李四", "id_number": id_number(21)}
    assert buyer.call("post", f"/orders/{ref}/kyc", body).json()["state"] == "KYC_REVIEW"
    staff = User.objects.create(username="reviewer", phone="13700000099", is_staff=True)

    holding, go_on = threading.Event(), threading.Event()
    record = kyc_operations.record_identity

    def record_slowly(screened, *, now):
        holding.set()  # the consumer's transaction holds the order's lock now
        assert go_on.wait(10)
        return record(screened, now=now)

    monkeypatch.setattr(kyc_operations, "record_identity", record_slowly)

    def consumer() -> str:
        try:
            return operations.submit_kyc(
                ref=ref, user_id=buyer.user.pk, name="李四", id_number=id_number(21),
                photos=None, now=T0,
            ).state  # fmt: skip
        finally:
            connections.close_all()

    def reviewer() -> str:
        assert holding.wait(10)
        try:
            return kyc_operations.review(
                order_ref=ref, approve=True, staff_id=staff.pk, note="核实无误", now=T0
            ).status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as threads:
        checked, reviewed = threads.submit(consumer), threads.submit(reviewer)
        deadline = time.monotonic() + 10
        while not _someone_waits_for_a_lock():  # the reviewer is stopped at a lock
            assert time.monotonic() < deadline, "the review never waited for the consumer"
            time.sleep(0.02)
        go_on.set()
        outcome = (checked.result(timeout=30), reviewed.result(timeout=30))

    assert outcome == ("KYC_REVIEW", "PASSED")  # the new check first, then the approval
    assert Order.objects.get(ref=ref).state == "KYC_PASSED"
