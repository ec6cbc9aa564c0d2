"""A line's plan change over the API (charging's use case, ``charging.plans``): next cycle by
default, an upgrade at once paid pro rata from the wallet, cancelled while pending."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.lines.models import Line
from tests.support import line_fixtures
from tests.support.lines import ledger_is_balanced, person, staff_line, wallet_fen

pytestmark = pytest.mark.django_db
GB = 1024**3
#: Noon in Beijing on 10 March 2026: 22 of March's 31 days are left (today counts).
MID_MARCH = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


# The lines' fixtures: the lines of these tests are made by lines' helpers.
now = line_fixtures.now
catalog = line_fixtures.catalog
later = line_fixtures.later


def _line(line: Line) -> Line:
    return Line.objects.get(pk=line.pk)


# ---------------------------------------------------------------- plan change


def test_a_downgrade_waits_for_the_next_cycle_and_can_be_cancelled(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", now=now)
    answer = owner.call("post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-XIAOXIN-8"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["timing"], body["plan_code"], body["pending_plan_code"]) == (
        "NEXT_CYCLE",
        "CM-HUAKA-19",
        "CM-XIAOXIN-8",
    )
    assert body["effective_at"].startswith("2026-03-31T16:00:00")  # 1 April, Beijing midnight
    cancelled = owner.call("delete", f"/lines/{line.msisdn}/plan-change")
    assert cancelled.status_code == 200 and cancelled.json()["pending_plan_code"] == ""
    again = owner.call("delete", f"/lines/{line.msisdn}/plan-change")
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_pending_plan_change"


def test_an_upgrade_by_default_also_waits_for_the_next_cycle(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=10_000, now=now)
    answer = owner.call("post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-MANGO-39"})
    assert answer.json()["timing"] == "NEXT_CYCLE" and answer.json()["charged_fen"] == 0
    assert wallet_fen(line) == 10_000 and _line(line).pending_plan_code == "CM-MANGO-39"


def test_an_upgrade_now_charges_this_months_difference_and_tops_up_the_allowances(
    client, catalog, now, later
):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=5_000, now=now)
    owner.call("post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-XIAOXIN-8"})
    later(MID_MARCH)
    answer = owner.call(
        "post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-MANGO-39", "when": "now"}
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    charge = 1419  # (¥39 - ¥19) × 22/31 = 1419.35 fen
    assert (body["timing"], body["charged_fen"], body["charged"]) == ("NOW", charge, "¥14.19")
    assert (body["plan_code"], body["pending_plan_code"]) == ("CM-MANGO-39", "")  # replaces it
    assert wallet_fen(line) == 5_000 - charge
    assert -ledger.balance_fen(account="revenue:monthly_fees") == charge
    topped = Bucket.objects.get(origin=f"upgrade:{line.pk}:2026-03:CM-MANGO-39:data")
    assert topped.amount == 35 * GB * 22 // 31 == body["granted"]["data"]
    assert (topped.source, topped.unit, topped.valid_from) == ("PLAN", "BYTES", MID_MARCH)
    assert topped.valid_to == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    assert "targeted" not in body["granted"]  # MANGO has no more targeted data than HUAKA
    assert ledger_is_balanced()


def test_an_upgrade_sent_twice_with_one_idempotency_key_is_charged_once(
    client, catalog, now, later
):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=5_000, now=now)
    later(MID_MARCH)
    body = {"plan_code": "CM-MANGO-39", "when": "now"}
    path = f"/lines/{line.msisdn}/plan-change"
    first = owner.call("post", path, body, **{"Idempotency-Key": "upgrade-1"})
    again = owner.call("post", path, body, **{"Idempotency-Key": "upgrade-1"})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert wallet_fen(line) == 5_000 - 1419
    without_key = owner.call("post", path, body)  # a plain repeat: already on that plan
    assert without_key.status_code == 422 and wallet_fen(line) == 5_000 - 1419


def test_an_upgrade_now_is_refused_when_the_wallet_cannot_pay_and_nothing_changes(
    client, catalog, now, later
):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=1_000, now=now)
    later(MID_MARCH)
    answer = owner.call(
        "post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-MANGO-39", "when": "now"}
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "insufficient_balance" and "¥14.19" in error["message"]
    assert _line(line).plan_code == "CM-HUAKA-19" and wallet_fen(line) == 1_000
    assert not Bucket.objects.filter(origin__startswith="upgrade:").exists()


def test_a_downgrade_cannot_take_effect_now(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", balance_fen=5_000, now=now)
    answer = owner.call(
        "post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-XIAOXIN-8", "when": "now"}
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_an_upgrade"
    assert _line(line).pending_plan_code == ""


@pytest.mark.parametrize(
    "plan_code",
    ["CU-DAWANG-19", "HK-XINREN-19", "CM-HUAKA-19", "NO-SUCH-PLAN"],
    ids=["other carrier", "draft", "the same plan", "unknown"],
)
def test_only_another_on_sale_plan_of_the_same_carrier_can_be_chosen(
    client, catalog, now, plan_code
):
    owner = person(client)
    line = staff_line(owner, plan="CM-HUAKA-19", now=now)
    answer = owner.call("post", f"/lines/{line.msisdn}/plan-change", {"plan_code": plan_code})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "plan_not_for_line"


def test_a_bad_when_is_refused(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    answer = owner.call(
        "post", f"/lines/{line.msisdn}/plan-change", {"plan_code": "CM-MANGO-39", "when": "soon"}
    )
    assert answer.status_code == 422 and _line(line).pending_plan_code == ""
