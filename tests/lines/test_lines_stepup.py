"""Step-up over the API: 停机保号, 补换卡 and 销户 want a proof of a fresh SMS code for that
action on that line (``Step-Up-Proof``); without one, with one made for something else, or
with one already spent, the answer is 403 ``step_up_required`` and nothing changes. Staff act
without one; nobody can ask for a code about someone else's line."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from haoka.accounts.models import SandboxSms, StepUpChallenge
from haoka.catalog import operations as catalog_ops
from haoka.charging import closure, tariffs
from haoka.core import clock
from haoka.core.errors import HaokaError
from haoka.lines.lifecycle import Caller
from haoka.lines.models import Line, LineEvent
from tests.support.accounts import wrong_code
from tests.support.lines import minted_proof, person, set_wallet, staff_line
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
ACTIONS = [
    ("suspend", None),
    ("sim-replacement", {"name": "李四", "id_number": "440305199001010010"}),
    ("closure", {"confirm": True}),
]


def _status(line) -> str:
    return Line.objects.get(pk=line.pk).status


def _refused(answer) -> bool:
    return answer.status_code == 403 and answer.json()["error"]["code"] == "step_up_required"


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_an_owner_without_a_proof_is_refused_and_nothing_changes(
    client, catalog, now, action, body
):
    owner = person(client)
    line = staff_line(owner, balance_fen=1_000, now=now)
    if action == "sim-replacement":
        Line.objects.filter(pk=line.pk).update(order_ref="HKTESTREF")  # bought online
    answer = owner.call("post", f"/lines/{line.msisdn}/{action}", body)
    assert _refused(answer), answer.content
    assert "短信验证" in answer.json()["error"]["message"]
    forged = owner.call("post", f"/lines/{line.msisdn}/{action}", body, **{"Step-Up-Proof": "x"})
    assert _refused(forged)
    assert _status(line) == "ACTIVE" and LineEvent.objects.filter(line=line).count() == 1


def test_the_api_sends_a_code_to_the_accounts_phone_and_trades_it_for_a_proof(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    base = f"/lines/{line.msisdn}/step-up"
    sent = owner.call("post", f"{base}/code", {"action": "suspend"})
    assert sent.status_code == 200, sent.content
    phone = owner.user.phone
    assert sent.json()["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"
    assert sent.json()["resend_after_seconds"] == 60
    again = owner.call("post", f"{base}/code", {"action": "suspend"})
    assert again.status_code == 429 and again.json()["error"]["details"]["retry_after_seconds"]
    code = latest_otp(phone)
    wrong = owner.call("post", f"{base}/verify", {"action": "suspend", "code": wrong_code(code)})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "step_up_code_invalid"
    verified = owner.call("post", f"{base}/verify", {"action": "suspend", "code": code})
    assert verified.status_code == 201 and verified.json()["proof"].startswith("su_")
    proof = {"Step-Up-Proof": verified.json()["proof"]}
    assert owner.call("post", f"/lines/{line.msisdn}/suspend", **proof).status_code == 200
    assert _status(line) == "SUSPENDED"
    unknown = owner.call("post", f"{base}/code", {"action": "porting"})
    assert (
        unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_step_up_action"
    )


def test_a_proof_is_spent_once_and_a_replay_changes_nothing(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    proof = owner.step_up(line.msisdn, "suspend")
    assert owner.call("post", f"/lines/{line.msisdn}/suspend", **proof).status_code == 200
    assert owner.call("post", f"/lines/{line.msisdn}/resume").status_code == 200
    replay = owner.call("post", f"/lines/{line.msisdn}/suspend", **proof)
    assert _refused(replay) and _status(line) == "ACTIVE"


def test_a_proof_to_suspend_line_a_cannot_close_it_nor_touch_line_b(client, catalog, now):
    owner = person(client)
    line_a = staff_line(owner, now=now)
    line_b = line_a.__class__.objects.get(pk=staff_line(person(client), now=now).pk)
    Line.objects.filter(pk=line_b.pk).update(user_id=owner.user.pk)  # both the owner's
    proof = owner.step_up(line_a.msisdn, "suspend")
    closing = owner.call("post", f"/lines/{line_a.msisdn}/closure", {"confirm": True}, **proof)
    assert _refused(closing)
    other_line = owner.call("post", f"/lines/{line_b.msisdn}/suspend", **proof)
    assert _refused(other_line)
    assert (_status(line_a), _status(line_b)) == ("ACTIVE", "ACTIVE")
    assert owner.call("post", f"/lines/{line_a.msisdn}/suspend", **proof).status_code == 200


def test_a_stolen_proof_opens_nothing_for_someone_else(client, catalog, now):
    owner, thief = person(client), person(client)
    line = staff_line(owner, now=now)
    theirs = staff_line(thief, now=now)
    proof = owner.step_up(line.msisdn, "suspend")
    on_owners = thief.call("post", f"/lines/{line.msisdn}/suspend", **proof)
    assert on_owners.status_code == 404  # not theirs: not found, as always
    assert _refused(thief.call("post", f"/lines/{theirs.msisdn}/suspend", **proof))
    assert (_status(line), _status(theirs)) == ("ACTIVE", "ACTIVE")


def test_nobody_gets_a_code_sent_about_someone_elses_line(client, catalog, now):
    owner, intruder = person(client), person(client)
    line = staff_line(owner, now=now)
    for path, body in (
        ("step-up/code", {"action": "closure"}),
        ("step-up/verify", {"action": "closure", "code": "123456"}),
    ):
        answer = intruder.call("post", f"/lines/{line.msisdn}/{path}", body)
        assert answer.status_code == 404
    assert not SandboxSms.objects.exists() and not StepUpChallenge.objects.exists()


def test_a_refused_closure_leaves_its_proof_for_the_next_try(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    set_wallet(line, -300, key="fee")
    proof = owner.step_up(line.msisdn, "closure")
    arrears = owner.call("post", f"/lines/{line.msisdn}/closure", {"confirm": True}, **proof)
    assert arrears.status_code == 409 and arrears.json()["error"]["code"] == "arrears"
    set_wallet(line, 0, key="paid")
    done = owner.call("post", f"/lines/{line.msisdn}/closure", {"confirm": True}, **proof)
    assert done.status_code == 200 and _status(line) == "CLOSED"


def test_a_sim_replacement_without_a_proof_looks_at_no_id_number(client, catalog, now):
    owner = person(client)
    line = staff_line(owner, now=now)
    Line.objects.filter(pk=line.pk).update(order_ref="HKTESTREF")  # bought online
    for _ in range(8):  # past the five ID checks a day, had any been made
        body = {"name": "李四", "id_number": "440305199001010010"}
        assert _refused(owner.call("post", f"/lines/{line.msisdn}/sim-replacement", body))


def test_staff_act_without_a_step_up(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, now=now)
    assert staff.call("post", f"/lines/{line.msisdn}/suspend").status_code == 200
    assert not SandboxSms.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_proof_raced_by_four_closures_closes_the_line_once(client):
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite serializes every writer")
    catalog_ops.load_seed_catalog()
    tariffs.forget_cached()
    now = clock.now()
    owner = person(client)
    line = staff_line(owner, balance_fen=1000, now=now)
    proof = minted_proof(owner.user, line.msisdn, "closure", minute=0, now=now)
    barrier = threading.Barrier(4)

    def close(_: int) -> str:
        try:
            barrier.wait(timeout=30)
            caller = Caller(user_id=owner.user.pk)
            closure.close_line(
                msisdn=line.msisdn, caller=caller, confirm=True, now=now, step_up=proof
            )
            return "closed"
        except HaokaError as exc:
            return exc.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(close, range(4)))
    assert outcomes == ["closed"] + ["step_up_required"] * 3
    assert LineEvent.objects.filter(line=line, to_status="CLOSED").count() == 1
