"""销户 online: refused under contract or in arrears; usage settled, the balance goes back the
way it came (or to staff for a manual refund), the number cools for 90 days."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.db import connection, connections

from haoka.catalog import operations as catalog_ops
from haoka.charging import closure, tariffs, topups
from haoka.charging.models import Bucket, ChargingAccount, ChargingSession
from haoka.core import clock, ledger
from haoka.kyc.models import IdentityClaim
from haoka.lines import exits
from haoka.lines.lifecycle import Caller
from haoka.lines.models import Line, LineClosure, LineEvent
from haoka.numbers import importer
from haoka.numbers.models import PhoneNumber
from haoka.payments.models import Payment, Refund
from tests.support.charging import BASE, charging_token, data_unit, post, request_body
from tests.support.lines import (
    CT_NUMBERS,
    ledger_is_balanced,
    minted_proof,
    order_line,
    person,
    set_wallet,
    staff_line,
    wallet_fen,
)
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db
APRIL = dt.datetime(2026, 4, 15, 4, 0, tzinfo=dt.UTC)
CONFIRM = {"confirm": True}


def _close(who, line, body=CONFIRM):
    proof = who.step_up(line.msisdn, "closure")
    return who.call("post", f"/lines/{line.msisdn}/closure", body, **proof)


@pytest.fixture
def bought(client, catalog, carrier, gateway_fake, commits):
    """A line bought with ¥20 first top-up paid through the gateway (order payment)."""
    owner = person(client)
    line = order_line(
        owner, msisdn=CT_NUMBERS[0], plan="CT-WUYOU-0", gateway_fake=gateway_fake, commits=commits
    )
    return owner, line


def test_closing_refunds_the_balance_to_the_order_payment_and_cools_the_number(bought, later):
    owner, line = bought
    later(APRIL)
    answer = _close(owner, line)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["status"], body["refund_state"]) == ("CLOSED", "DONE")
    assert (body["refund_due_fen"], body["refunded_fen"], body["manual_refund_fen"]) == (
        2000,
        2000,
        0,
    )
    assert "¥20.00 已原路退回" in body["message"]
    payment = Payment.objects.get(reference=line.order_ref)
    assert (payment.status, payment.refunded_fen) == ("REFUNDED", 2000)
    assert Refund.objects.get(payment=payment).reason == f"line_closed:{line.pk}"
    closed = Line.objects.get(pk=line.pk)
    assert (closed.status, closed.closed_at, wallet_fen(closed)) == ("CLOSED", APRIL, 0)
    number = PhoneNumber.objects.get(msisdn=line.msisdn)
    assert number.status == "COOLING"
    assert body["number_cooling_until"].startswith("2026-07-14")  # 90 days on
    assert IdentityClaim.objects.get(order_ref=line.order_ref).status == "RELEASED"
    assert ledger.balance_fen(account=exits.REFUNDS_DUE) == 0
    assert ledger.balance_fen(account=exits.PREPAYMENTS) == 0
    assert ledger_is_balanced()


def test_top_ups_are_refunded_newest_first_before_the_order_payment(
    bought, later, gateway_fake, commits
):
    owner, line = bought
    later(dt.datetime(2026, 3, 20, 4, 0, tzinfo=dt.UTC))
    topup = topups.start_topup(line_id=line.pk, amount_fen=3000, method="wechat", now=APRIL)
    payment = Payment.objects.get(pk=topup.payment_id)
    paid_at = dt.datetime(2026, 3, 20, 4, 0, tzinfo=dt.UTC)
    with commits():
        deliver(gateway_fake.pay(payment.merchant_order_id, at=paid_at), at=paid_at)
    assert wallet_fen(line) == 5000
    set_wallet(line, 4000, key="usage")  # ¥10 spent
    later(APRIL)
    body = _close(owner, line).json()
    assert (body["refund_due_fen"], body["refunded_fen"]) == (4000, 4000)
    order_payment = Payment.objects.get(reference=line.order_ref)
    assert Payment.objects.get(pk=payment.pk).refunded_fen == 3000
    assert order_payment.refunded_fen == 1000
    assert ledger_is_balanced()


def test_money_brought_over_by_staff_is_left_for_a_manual_refund(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, balance_fen=5000, now=now)
    body = _close(owner, line).json()
    assert (body["status"], body["refund_state"], body["manual_refund_fen"]) == (
        "CLOSED",
        "MANUAL",
        5000,
    )
    assert "¥50.00 无法原路退回，将由客服人工退款" in body["message"]
    assert -ledger.balance_fen(account=exits.REFUNDS_DUE) == 5000  # owed until paid by hand
    assert body["number_cooling_until"] is None  # not a pool number
    assert ledger_is_balanced()


def test_a_line_in_arrears_cannot_close_until_it_is_paid(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    set_wallet(line, -550, key="fee")
    answer = _close(owner, line)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "arrears" and "¥5.50" in error["message"]
    assert error["details"]["owed_fen"] == 550
    assert Line.objects.get(pk=line.pk).status == "ACTIVE"
    assert not LineClosure.objects.exists()


def test_a_line_under_contract_cannot_close_and_is_told_when_it_can(
    client, catalog, carrier, gateway_fake, commits, later
):
    owner = person(client)
    line = order_line(
        owner,
        msisdn=CT_NUMBERS[1],
        plan="CT-CHANGXIANG-59",  # 12 months
        gateway_fake=gateway_fake,
        commits=commits,
    )
    assert wallet_fen(line) == 5000 - 5900  # the first month, activated on the 1st: in full
    set_wallet(line, 5000, key="closure:settled")  # the debt topped up
    later(APRIL)
    answer = _close(owner, line)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "contract_locked" and error["details"]["ends_on"] == "2027-03-01"
    assert "2027-03-01" in error["message"]
    assert Line.objects.get(pk=line.pk).status == "ACTIVE" and wallet_fen(line) == 5000
    later(dt.datetime(2027, 3, 1, 0, 0, tzinfo=dt.UTC))  # 08:00 Beijing, the day it ends
    assert _close(owner, line).status_code == 200


def test_the_line_keeps_its_orders_contract_months_and_the_migration_backfills_them(
    client, catalog, carrier, gateway_fake, commits
):
    owner = person(client)
    line = order_line(
        owner,
        msisdn=CT_NUMBERS[1],
        plan="CT-CHANGXIANG-59",  # 12 months
        gateway_fake=gateway_fake,
        commits=commits,
    )
    assert Line.objects.get(pk=line.pk).contract_months == 12  # copied when it was opened
    Line.objects.filter(pk=line.pk).update(contract_months=0)  # as before the migration
    backfill = import_module("haoka.lines.migrations.0005_line_contract_months").backfill
    backfill(django_apps, None)
    assert Line.objects.get(pk=line.pk).contract_months == 12


def test_a_vanity_numbers_contract_holds_a_line_opened_by_staff(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    importer.import_rows(
        rows=[importer.Row(line=1, msisdn=line.msisdn, carrier="CMCC", price="0")], source="t"
    )
    PhoneNumber.objects.filter(msisdn=line.msisdn).update(contract_months=24)
    error = _close(owner, line).json()["error"]
    assert error["code"] == "contract_locked" and error["details"]["ends_on"] == "2028-03-01"


def test_closing_releases_what_open_charging_sessions_hold_and_ends_the_allowances(
    client, catalog, now
):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=1000, now=now)
    token = charging_token(now)
    asked = request_body(line, seq=1, units=[data_unit(100, request=50 * 1024**2)], at=now)
    opened = post(client, BASE, asked, token)
    assert opened.status_code == 201, opened.content
    assert sum(Bucket.objects.filter(line=line).values_list("reserved", flat=True)) > 0
    assert _close(owner, line).status_code == 200
    assert ChargingSession.objects.get(line=line).state == "RELEASED"
    assert set(Bucket.objects.filter(line=line).values_list("reserved", flat=True)) == {0}
    assert set(Bucket.objects.filter(line=line).values_list("valid_to", flat=True)) == {now}
    assert ChargingAccount.objects.get(line=line).reserved_fen == 0
    update = post(
        client, f"{BASE}/{opened.headers['Location'].rsplit('/', 1)[-1]}/update",
        request_body(line, seq=2, units=[data_unit(100, used=1024)], at=now), token,
    )  # fmt: skip
    assert update.status_code == 404


def test_closing_must_be_confirmed(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, balance_fen=100, now=now)
    for body in ({}, {"confirm": False}):
        answer = _close(owner, line, body)
        assert (
            answer.status_code == 422 and answer.json()["error"]["code"] == "confirmation_required"
        )
    assert Line.objects.get(pk=line.pk).status == "ACTIVE" and wallet_fen(line) == 100


def test_closing_twice_returns_the_first_closure_and_refunds_once(bought, later, gateway_fake):
    owner, line = bought
    later(APRIL)
    first = _close(owner, line).json()
    # A repeat changes nothing, so it wants no fresh code.
    second = owner.call("post", f"/lines/{line.msisdn}/closure", CONFIRM).json()
    assert second["refunded_fen"] == first["refunded_fen"] == 2000
    assert gateway_fake.calls["POST /v1/refunds"] == 1
    assert Refund.objects.count() == 1 and ledger_is_balanced()


def test_a_refund_the_gateway_cannot_take_yet_is_sent_again_later(bought, later, gateway_fake):
    owner, line = bought
    later(APRIL)
    gateway_fake.faults.extend(["503"] * 10)
    body = _close(owner, line).json()
    assert (body["status"], body["refund_state"], body["pending_fen"]) == (
        "CLOSED",
        "REFUNDING",
        2000,
    )
    assert "¥20.00 退款处理中" in body["message"]
    gateway_fake.faults.clear()
    assert exits.retry_closure_refunds(now=APRIL) == 1
    closure = LineClosure.objects.get(line=line)
    assert (closure.state, closure.refunded_fen) == ("DONE", 2000)
    assert Payment.objects.get(reference=line.order_ref).refunded_fen == 2000
    assert ledger_is_balanced()


def test_a_refund_the_gateway_refuses_is_left_for_staff(bought, later, gateway_fake):
    owner, line = bought
    later(APRIL)
    for fake in gateway_fake.payments.values():  # refunded meanwhile at the gateway's console
        fake.refunded_fen = fake.amount_fen
    body = _close(owner, line).json()
    assert (body["refund_state"], body["refunded_fen"], body["manual_refund_fen"]) == (
        "MANUAL",
        0,
        2000,
    )
    assert -ledger.balance_fen(account=exits.REFUNDS_DUE) == 2000
    assert ledger_is_balanced()


@pytest.mark.django_db(transaction=True)
def test_two_closures_at_once_close_the_line_once(client):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    now = clock.now()
    owner = person(client)
    line = staff_line(owner, balance_fen=5000, now=now)
    barrier = threading.Barrier(4)
    proofs = [minted_proof(owner.user, line.msisdn, "closure", minute=i, now=now) for i in range(4)]

    def close(i: int) -> tuple[int, int]:
        try:
            barrier.wait(timeout=30)
            body = closure.close_line(
                msisdn=line.msisdn,
                caller=Caller(user_id=owner.user.pk),
                confirm=True,
                now=now,
                step_up=proofs[i],
            )
            return body.closure.pk, body.closure.manual_fen
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = set(pool.map(close, range(4)))
    assert len(outcomes) == 1 and next(iter(outcomes))[1] == 5000
    assert LineEvent.objects.filter(line=line, to_status="CLOSED").count() == 1
    assert -ledger.balance_fen(account=exits.REFUNDS_DUE) == 5000
    assert ledger_is_balanced()
