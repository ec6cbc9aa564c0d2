"""停机保号 and 复机 over the API, and who may touch a line at all (plan change: charging,
``tests/charging/test_charging_plans.py``)."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.lines import operations as line_ops
from haoka.lines.models import Line, LineEvent, Notification
from tests.support.lines import person, staff_line, wallet_fen

pytestmark = pytest.mark.django_db
GB = 1024**3
#: Noon in Beijing on 10 March 2026: 22 of March's 31 days are left (today counts).
MID_MARCH = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


def _line(line: Line) -> Line:
    return Line.objects.get(pk=line.pk)


# ---------------------------------------------------------------- 停机保号 / 复机


def test_the_owner_suspends_to_keep_the_number_and_resumes(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    proof = owner.step_up(line.msisdn, "suspend")
    suspended = owner.call("post", f"/lines/{line.msisdn}/suspend", **proof)
    assert suspended.status_code == 200, suspended.content
    assert (suspended.json()["status"], suspended.json()["suspend_reason"]) == (
        "SUSPENDED",
        "USER_REQUEST",
    )
    notice = Notification.objects.get(line=line, kind="SUSPENDED")
    assert "保号费 ¥5.00" in notice.body and notice.sms_sent
    twice = owner.call("post", f"/lines/{line.msisdn}/suspend")  # explained before any code
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
    ("post", "step-up/code", {"action": "closure"}),
    ("post", "step-up/verify", {"action": "closure", "code": "123456"}),
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
