"""Plan change, 停机保号 and 复机 over the API, and who may touch a line at all."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.lines import operations as line_ops
from haoka.lines.models import Line, LineEvent, Notification
from tests.support.lines import ledger_is_balanced, person, staff_line, wallet_fen

pytestmark = pytest.mark.django_db
GB = 1024**3
#: Noon in Beijing on 10 March 2026: 22 of March's 31 days are left (today counts).
MID_MARCH = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


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


# ---------------------------------------------------------------- 停机保号 / 复机


def test_the_owner_suspends_to_keep_the_number_and_resumes(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    suspended = owner.call("post", f"/lines/{line.msisdn}/suspend")
    assert suspended.status_code == 200, suspended.content
    assert (suspended.json()["status"], suspended.json()["suspend_reason"]) == (
        "SUSPENDED",
        "USER_REQUEST",
    )
    notice = Notification.objects.get(line=line, kind="SUSPENDED")
    assert "保号费 ¥5.00" in notice.body and notice.sms_sent
    twice = owner.call("post", f"/lines/{line.msisdn}/suspend")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "line_state_conflict"
    resumed = owner.call("post", f"/lines/{line.msisdn}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "ACTIVE"
    events = LineEvent.objects.filter(line=line).order_by("at", "id")
    assert [(e.from_status, e.to_status) for e in events][1:] == [
        ("ACTIVE", "SUSPENDED"),
        ("SUSPENDED", "ACTIVE"),
    ]
    assert all(e.actor == f"user:{owner.user.pk}" for e in list(events)[1:])


def test_a_suspension_for_arrears_is_not_lifted_by_asking(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, now=now)
    line_ops.change_status(
        line_id=line.pk, to="SUSPENDED", actor="system", reason="欠费", now=now,
        suspend_reason="ARREARS",
    )  # fmt: skip
    for who in (owner, staff):
        answer = who.call("post", f"/lines/{line.msisdn}/resume")
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "resume_not_allowed"
    assert _line(line).status == "SUSPENDED"


def test_a_policy_suspension_is_lifted_by_staff_only(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, now=now)
    line_ops.change_status(
        line_id=line.pk, to="SUSPENDED", actor="staff:1", reason="风控", now=now,
        suspend_reason="POLICY",
    )  # fmt: skip
    assert owner.call("post", f"/lines/{line.msisdn}/resume").status_code == 409
    answer = staff.call("post", f"/lines/{line.msisdn}/resume")
    assert answer.status_code == 200 and _line(line).status == "ACTIVE"
    assert LineEvent.objects.filter(line=line).last().actor == f"staff:{staff.user.pk}"


# ---------------------------------------------------------------- who may touch a line


ENDPOINTS = [
    ("post", "plan-change", {"plan_code": "CM-MANGO-39"}),
    ("delete", "plan-change", None),
    ("post", "suspend", None),
    ("post", "resume", None),
    ("post", "sim-replacement", {"name": "李四", "id_number": "440305199001010010"}),
    ("get", "sim-cards", None),
    ("post", "closure", {"confirm": True}),
    ("get", "porting-eligibility", None),
    ("post", "porting-code", None),
]


@pytest.mark.parametrize(("method", "action", "body"), ENDPOINTS)
def test_someone_elses_line_is_not_found_and_left_alone(client, catalog, now, method, action, body):
    owner, intruder = person(client), person(client)
    line = staff_line(owner, balance_fen=1_000, now=now)
    answer = intruder.call(method, f"/lines/{line.msisdn}/{action}", body)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "line_not_found"
    unknown = intruder.call(method, f"/lines/13800000000/{action}", body)
    assert unknown.status_code == 404  # the same answer as for a number nobody has
    assert unknown.json()["error"]["message"] == answer.json()["error"]["message"]
    assert _line(line).status == "ACTIVE" and wallet_fen(line) == 1_000


@pytest.mark.parametrize(("method", "action", "body"), ENDPOINTS)
def test_without_signing_in_nothing_is_answered(client, catalog, now, method, action, body):
    line = staff_line(person(client), now=now)
    answer = getattr(client, method)(f"/api/v1/lines/{line.msisdn}/{action}")
    assert answer.status_code == 401
