"""Applying to become a sponsor, staff's review and a sponsor's API tokens, over HTTP: the
USCC is checked and unique, the review is staff's (or a ``sponsors`` token's), approval makes
the applicant a SPONSOR and tells them, and every ``/sponsor/...`` call acts for the caller's
own approved sponsor only."""

from __future__ import annotations

import pytest
from django.db import connection

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.core import ledger
from haoka.notices.models import Notification
from haoka.sponsors.models import Sponsor, SponsorMember
from tests.support.sponsors import (
    Caller,
    application,
    error_code,
    make_sponsor,
    make_user,
    member_of,
    signed_in,
    staff,
)

pytestmark = pytest.mark.django_db


def test_a_signed_in_person_applies_and_becomes_the_first_member(client, now):
    person = signed_in(client, make_user())
    body = application(uscc=" 9144030071526726xg ")
    response = person.post("/sponsors/apply", body)
    assert response.status_code == 201, response.content
    sponsor_id = response.json()["id"]
    assert response.json()["status"] == "PENDING"
    assert sponsor_id.startswith("SP") and len(sponsor_id) == 12 and sponsor_id.isupper()
    sponsor = Sponsor.objects.get(sponsor_id=sponsor_id)
    assert sponsor.uscc == "9144030071526726XG"
    assert SponsorMember.objects.get(sponsor=sponsor).user_id == person.user.pk
    assert list(sponsor.events.values_list("from_status", "to_status")) == [("", "PENDING")]
    with connection.cursor() as cursor:  # the contact person is encrypted at rest
        cursor.execute(
            "SELECT contact_name, contact_phone FROM sponsors_sponsor WHERE id = %s", [sponsor.pk]
        )
        stored = cursor.fetchone()
    assert "张小明" not in stored[0] and "13800138000" not in stored[1]
    assert (sponsor.contact_name, sponsor.contact_phone) == ("张小明", "13800138000")


def test_a_code_applied_with_before_is_refused_with_409(client, now):
    body = application()
    assert signed_in(client, make_user()).post("/sponsors/apply", body).status_code == 201
    again = signed_in(client, make_user()).post("/sponsors/apply", {**body, "company_name": "别家"})
    assert again.status_code == 409 and error_code(again) == "uscc_already_registered"
    assert Sponsor.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("uscc", "9144030071526726XH", "invalid_uscc"),
        ("uscc", "12345", "invalid_uscc"),
        ("kind", "BANK", "invalid_sponsor_application"),
        ("company_name", " ", "invalid_sponsor_application"),
        ("contact_phone", "12345", "invalid_msisdn"),
    ],
)
def test_bad_applications_are_refused_with_422_and_change_nothing(client, now, field, value, code):
    response = signed_in(client, make_user()).post("/sponsors/apply", application(**{field: value}))
    assert response.status_code == 422 and error_code(response) == code, response.content
    assert not Sponsor.objects.exists()


def test_nobody_applies_without_signing_in(client, now):
    assert Caller(client, None).post("/sponsors/apply", application()).status_code == 401


def test_a_member_of_a_sponsor_cannot_apply_for_another(client, now):
    sponsor = make_sponsor(approved=False)
    again = member_of(client, sponsor).post("/sponsors/apply", application())
    assert again.status_code == 409 and error_code(again) == "already_sponsor_member"


def test_staff_approve_and_the_applicant_becomes_a_sponsor_and_is_told(client, now):
    sponsor = make_sponsor(approved=False)
    response = staff(client).post(
        f"/staff/sponsors/{sponsor.sponsor_id}/decision", {"approve": True, "reason": "资料齐全"}
    )
    assert response.status_code == 200, response.content
    shown = response.json()
    assert (shown["status"], shown["status_label"]) == ("APPROVED", "已通过")
    assert (
        shown["contact_name_masked"] == "张*明" and shown["contact_phone_masked"] == "138****8000"
    )
    assert User.objects.get(pk=sponsor.applicant_id).role == "SPONSOR"
    notice = Notification.objects.get(recipient_id=sponsor.applicant_id)
    assert notice.kind == "SPONSOR_APPROVED" and sponsor.sponsor_id in notice.body
    assert ledger.balance_fen(account=f"liability:sponsor:{sponsor.sponsor_id}") == 0
    assert ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}") == 0
    twice = staff(client).post(f"/staff/sponsors/{sponsor.sponsor_id}/decision", {"approve": False})
    assert twice.status_code == 409 and error_code(twice) == "illegal_transition"


def test_a_token_with_the_sponsors_scope_may_decide_and_others_may_not(client, now):
    sponsor = make_sponsor(approved=False)
    path = f"/staff/sponsors/{sponsor.sponsor_id}/decision"
    other = account_ops.create_api_token(name="ops", scopes=["orders"], username=None, now=now)
    assert Caller(client, None, other.token).post(path, {"approve": True}).status_code == 403
    consumer = signed_in(client, make_user())
    assert consumer.post(path, {"approve": True}).status_code == 403
    assert consumer.get("/staff/sponsors").status_code == 403
    review = account_ops.create_api_token(name="rev", scopes=["sponsors"], username=None, now=now)
    response = Caller(client, None, review.token).post(path, {"approve": False, "reason": "不符"})
    assert response.status_code == 200 and response.json()["status"] == "REJECTED"
    assert Notification.objects.get(recipient_id=sponsor.applicant_id).kind == "SPONSOR_REJECTED"
    assert (
        staff(client).post("/staff/sponsors/SP0000000000/decision", {"approve": True}).status_code
        == 404
    )


def test_staff_list_the_queue_of_pending_applications(client, now):
    pending = make_sponsor(approved=False)
    make_sponsor()
    page = staff(client).get("/staff/sponsors?status=pending").json()
    assert [s["id"] for s in page["items"]] == [pending.sponsor_id]
    assert len(staff(client).get("/staff/sponsors").json()["items"]) == 2


def test_a_rejected_applicant_may_apply_again_with_the_same_code(client, now):
    sponsor = make_sponsor(approved=False)
    staff(client).post(f"/staff/sponsors/{sponsor.sponsor_id}/decision", {"approve": False})
    person = member_of(client, sponsor)
    body = application(uscc=sponsor.uscc, company_name="改名后的公司")
    response = person.post("/sponsors/apply", body)
    assert response.status_code == 201 and response.json() == {
        "id": sponsor.sponsor_id,
        "status": "PENDING",
    }
    moves = list(Sponsor.objects.get(pk=sponsor.pk).events.values_list("to_status", flat=True))
    assert moves == ["PENDING", "REJECTED", "PENDING"]
    stranger = signed_in(client, make_user()).post("/sponsors/apply", body)
    assert error_code(stranger) == "uscc_already_registered"


def test_a_member_makes_lists_and_revokes_api_tokens_shown_once(client, now):
    sponsor = make_sponsor()
    member = member_of(client, sponsor)
    made = member.post("/sponsor/tokens", {"name": "app 后端"})
    assert made.status_code == 201, made.content
    token = made.json()["token"]
    assert made.json()["scopes"] == ["sponsor"] and token.startswith(made.json()["prefix"])
    listed = member.get("/sponsor/tokens").json()
    assert [t["name"] for t in listed] == ["app 后端"] and "token" not in listed[0]
    integration = Caller(client, None, token)
    assert integration.get("/sponsor").json()["sponsor_id"] == sponsor.sponsor_id
    assert integration.post("/sponsor/tokens", {"name": "more"}).status_code == 403
    other = member_of(client, make_sponsor())
    assert other.delete(f"/sponsor/tokens/{made.json()['id']}").status_code == 404
    assert member.delete(f"/sponsor/tokens/{made.json()['id']}").status_code == 204
    assert integration.get("/sponsor").status_code == 401
    assert member.get("/sponsor/tokens").json() == []


def test_only_members_of_an_approved_sponsor_reach_the_sponsor_console(client, now):
    assert signed_in(client, make_user()).get("/sponsor").status_code == 403
    pending = member_of(client, make_sponsor(approved=False))
    assert error_code(pending.get("/sponsor")) == "not_a_sponsor"
    staff_token = account_ops.create_api_token(name="x", scopes=["staff"], username=None, now=now)
    assert Caller(client, None, staff_token.token).get("/sponsor").status_code == 403
    assert Caller(client, None).get("/sponsor").status_code == 401
