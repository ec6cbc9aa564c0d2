"""家庭共享 over the API: the main line's owner makes the group, invites (an SMS code to the
invited line's number), changes caps, removes, dissolves; the invited owner accepts with the
code and may leave. Anyone else's line answers 404; a line in another group 409."""

from __future__ import annotations

import pytest

from haoka.accounts.models import SandboxSms
from haoka.notices.models import Notification
from tests.support.charging import GB, MB, make_line
from tests.support.family import ask_data, make_family
from tests.support.money import call, session_token, staff_token, use_data
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


@pytest.fixture
def trio(catalog, now):
    main, a, b = (make_line(plan=PLAN, now=now) for _ in range(3))
    return main, a, b


def _masked(msisdn: str) -> str:
    return msisdn[:3] + "****" + msisdn[-4:]


def _invite(client, token, main, line, cap_mb=1024):
    body = {"msisdn": line.msisdn, "monthly_cap_mb": cap_mb}
    return call(client, token, "post", f"/lines/{main.msisdn}/family/invites", body)


def _accept(client, token, line, member_id, code=None):
    path = f"/lines/{line.msisdn}/family-invites/{member_id}/accept"
    return call(client, token, "post", path, {"code": code or latest_otp(line.msisdn)})


def test_an_owner_makes_a_group_invites_a_line_and_its_owner_joins_with_the_code(client, trio, now):
    main, a, _ = trio
    owner = session_token(main, now)
    made = call(client, owner, "post", f"/lines/{main.msisdn}/family")
    assert made.status_code == 201, made.content
    assert made.json()["role"] == "MAIN" and made.json()["pool_left"] == "40GB"
    invited = _invite(client, owner, main, a, cap_mb=2048)
    assert invited.status_code == 201, invited.content
    assert (invited.json()["state"], invited.json()["cap"]) == ("INVITED", "2GB")
    sms = SandboxSms.objects.filter(phone=a.msisdn).latest("id").text  # the invited SIM
    assert "家庭共享" in sms and main.msisdn[-4:] in sms
    joined = _accept(client, session_token(a, now), a, invited.json()["member_id"])
    assert joined.status_code == 200, joined.content
    assert joined.json()["state"] == "ACTIVE"
    told = set(Notification.objects.filter(kind="FAMILY_JOINED").values_list("recipient_id"))
    assert told == {(main.user_id,), (a.user_id,)}


def test_the_owner_sees_each_members_use_and_a_member_only_its_own(client, trio, now):
    main, a, b = trio
    use_data(a, 40 * GB, at=now)
    make_family(main, [a, b], cap_mb=2048, now=now)
    ask_data(client, a, 300 * MB, now=now)
    seen = call(client, session_token(main, now), "get", f"/lines/{main.msisdn}/family").json()
    rows = {m["msisdn"]: m for m in seen["members"]}
    assert set(rows) == {_masked(main.msisdn), _masked(a.msisdn), _masked(b.msisdn)}
    assert (rows[_masked(a.msisdn)]["taken_bytes"], rows[_masked(a.msisdn)]["reserved_bytes"]) == (
        300 * MB, 300 * MB,
    )  # fmt: skip
    assert rows[_masked(b.msisdn)]["taken_bytes"] == 0
    assert seen["pool_left_bytes"] == 40 * GB - 300 * MB
    mine = call(client, session_token(a, now), "get", f"/lines/{a.msisdn}/family").json()
    assert mine["role"] == "MEMBER" and mine["main_msisdn"] == _masked(main.msisdn)
    assert [m["msisdn"] for m in mine["members"]] == [_masked(a.msisdn)]
    assert mine["pool_left_bytes"] == 0


def test_anyone_elses_line_answers_not_found(client, trio, now):
    main, a, b = trio
    make_family(main, [a], cap_mb=1024, now=now)
    stranger = session_token(b, now)
    member_id = _member_id(client, main, a, now)
    for method, path, body in (
        ("post", f"/lines/{main.msisdn}/family", None),
        ("get", f"/lines/{main.msisdn}/family", None),
        ("delete", f"/lines/{main.msisdn}/family", None),
        ("post", f"/lines/{main.msisdn}/family/invites", {"msisdn": b.msisdn, "monthly_cap_mb": 1}),
        ("patch", f"/lines/{main.msisdn}/family/members/{member_id}", {"monthly_cap_mb": 1}),
        ("delete", f"/lines/{main.msisdn}/family/members/{member_id}", None),
        ("post", f"/lines/{a.msisdn}/family/leave", None),
    ):
        answer = call(client, stranger, method, path, body)
        assert answer.status_code == 404, (method, path, answer.content)
        assert answer.json()["error"]["code"] == "line_not_found"


def test_a_member_of_another_group_or_someone_elses_invitation_is_not_found(client, trio, now):
    main, a, b = trio
    make_family(main, [a], cap_mb=1024, now=now)
    other_group_member = _member_id(client, main, a, now)
    own = session_token(b, now)
    call(client, own, "post", f"/lines/{b.msisdn}/family")
    patched = call(client, own, "patch", f"/lines/{b.msisdn}/family/members/{other_group_member}",
                   {"monthly_cap_mb": 5})  # fmt: skip
    assert patched.status_code == 404
    assert patched.json()["error"]["code"] == "family_member_not_found"
    accepted = _accept(client, own, b, other_group_member, code="123456")
    assert accepted.status_code == 404
    assert accepted.json()["error"]["code"] == "family_member_not_found"


def test_inviting_a_line_of_another_group_answers_conflict(client, trio, now):
    main, a, b = trio
    make_family(main, [a], cap_mb=1024, now=now)
    own = session_token(b, now)
    call(client, own, "post", f"/lines/{b.msisdn}/family")
    answer = _invite(client, own, b, a)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "family_line_in_group"
    again = call(client, session_token(a, now), "post", f"/lines/{a.msisdn}/family")
    assert again.status_code == 409 and again.json()["error"]["code"] == "family_line_in_group"


def test_a_wrong_code_or_a_bad_cap_is_refused_and_nothing_changes(client, trio, now):
    main, a, _ = trio
    owner = session_token(main, now)
    call(client, owner, "post", f"/lines/{main.msisdn}/family")
    bad = _invite(client, owner, main, a, cap_mb=-1)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "family_cap_out_of_range"
    member_id = _invite(client, owner, main, a).json()["member_id"]
    right = latest_otp(a.msisdn)
    wrong = _accept(client, session_token(a, now), a, member_id, f"{(int(right) + 1) % 10**6:06d}")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "step_up_code_invalid"
    seen = call(client, owner, "get", f"/lines/{main.msisdn}/family").json()
    assert [m["state"] for m in seen["members"]] == ["ACTIVE", "INVITED"]
    by_main = _accept(client, owner, a, member_id, right)  # the main's owner holds not line a
    assert by_main.status_code == 404


def test_a_member_leaves_and_the_owner_changes_caps_removes_and_dissolves(client, trio, now):
    main, a, b = trio
    make_family(main, [a, b], cap_mb=1024, now=now)
    owner = session_token(main, now)
    left = call(client, session_token(a, now), "post", f"/lines/{a.msisdn}/family/leave")
    assert left.status_code == 200 and left.json()["state"] == "LEFT"
    b_id = _member_id(client, main, b, now)
    capped = call(client, owner, "patch", f"/lines/{main.msisdn}/family/members/{b_id}",
                  {"monthly_cap_mb": 3072})  # fmt: skip
    assert capped.status_code == 200 and capped.json()["cap"] == "3GB"
    removed = call(client, owner, "delete", f"/lines/{main.msisdn}/family/members/{b_id}")
    assert removed.status_code == 200 and removed.json()["state"] == "REMOVED"
    gone = call(client, owner, "delete", f"/lines/{main.msisdn}/family")
    assert gone.status_code == 200
    none = call(client, owner, "get", f"/lines/{main.msisdn}/family")
    assert none.status_code == 404 and none.json()["error"]["code"] == "family_not_found"


def test_staff_may_read_a_group_but_not_change_it(client, trio, now):
    main, a, _ = trio
    make_family(main, [a], cap_mb=1024, now=now)
    staff = staff_token(now)
    assert call(client, staff, "get", f"/lines/{main.msisdn}/family").status_code == 200
    assert call(client, staff, "delete", f"/lines/{main.msisdn}/family").status_code == 404


def _member_id(client, main, line, now) -> int:
    seen = call(client, session_token(main, now), "get", f"/lines/{main.msisdn}/family").json()
    return next(m["member_id"] for m in seen["members"] if m["msisdn"] == _masked(line.msisdn))
