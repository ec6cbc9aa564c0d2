"""Staff screens: the review queue with approve/reject actions, blacklists entered in clear and
stored as hashes, claims registered and released, photos opened one by one."""

from __future__ import annotations

import pytest

from haoka.accounts.models import Role, User
from haoka.core import clock
from haoka.core.models import AuditRecord
from haoka.kyc.models import Blacklist, IdentityClaim, KycRecord
from tests.support.kyc import ID_A, ID_B, ID_C, JPEG, NAME, NOW, check, new_ref

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(username="ops", password="pw-123456", role=Role.STAFF)
    client.force_login(user)
    return user


@pytest.fixture
def flagged() -> KycRecord:
    check(id_number=ID_A)
    check(id_number=ID_B)
    ref = new_ref()
    assert check(order_ref=ref, id_number=ID_C, photos=[JPEG]).status == "FLAGGED"
    return KycRecord.objects.get(order_ref=ref)


def test_the_review_queue_lists_flagged_checks_masked(client, staff, flagged):
    response = client.get("/admin/kyc/kycrecord/", {"status__exact": "FLAGGED"})
    page = response.content.decode()
    assert response.status_code == 200
    assert flagged.order_ref in page and "李*龙" in page and "440***********" in page
    assert NAME not in page and ID_C not in page


def test_the_approve_action_asks_for_a_note_then_calls_review(client, staff, flagged):
    url = "/admin/kyc/kycrecord/"
    form = {"action": "approve_selected", "_selected_action": [flagged.pk]}
    confirm = client.post(url, form)
    assert confirm.status_code == 200 and "审核意见" in confirm.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == "FLAGGED"
    done = client.post(url, {**form, "apply": "1", "note": "电话核实为本人"})
    assert done.status_code == 302
    flagged.refresh_from_db()
    assert (flagged.status, flagged.reviewed_by_id, flagged.review_note) == (
        "PASSED",
        staff.pk,
        "电话核实为本人",
    )
    assert IdentityClaim.objects.get(order_ref=flagged.order_ref).status == "ACTIVE"


def test_the_reject_action_rejects(client, staff, flagged):
    client.post(
        "/admin/kyc/kycrecord/",
        {
            "action": "reject_selected",
            "_selected_action": [flagged.pk],
            "apply": "1",
            "note": "资料不符",
        },
    )
    flagged.refresh_from_db()
    assert (flagged.status, flagged.reason_code) == ("REJECTED", "review_rejected")


def test_a_full_id_number_finds_its_records_through_the_hash(client, staff, flagged):
    response = client.get("/admin/kyc/kycrecord/", {"q": ID_C.lower()})
    page = response.content.decode()
    assert flagged.order_ref in page
    assert KycRecord.objects.exclude(pk=flagged.pk).first().order_ref not in page


def test_staff_open_a_photo_and_the_viewing_is_audited(client, staff, flagged):
    response = client.get(f"/admin/kyc/kycrecord/{flagged.pk}/photo/FRONT/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg" and response.content == JPEG
    assert "no-store" in response["Cache-Control"]
    assert AuditRecord.objects.filter(action="kyc.document_viewed").count() == 1
    assert client.get(f"/admin/kyc/kycrecord/{flagged.pk}/photo/BACK/").status_code == 404


def test_a_consumer_cannot_open_records_or_photos(client, flagged):
    client.force_login(User.objects.create(username="c", role=Role.CONSUMER))
    for url in ("/admin/kyc/kycrecord/", f"/admin/kyc/kycrecord/{flagged.pk}/photo/FRONT/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_blacklist_form_takes_the_clear_value_and_stores_only_its_hash(client, staff):
    response = client.post(
        "/admin/kyc/blacklist/add/",
        {"kind": "ADDRESS", "value": "广东省深圳市南山区科技园科苑路8号1201室", "reason": "欺诈"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = Blacklist.objects.get()
    assert entry.created_by_id == staff.pk and len(entry.value_hash) == 64
    assert "科苑路" not in repr(Blacklist.objects.values().get())
    assert check().reason_code == "blacklisted_address"


def test_the_blacklist_form_refuses_invalid_and_duplicate_values(client, staff):
    bad = client.post("/admin/kyc/blacklist/add/", {"kind": "ID", "value": "123", "reason": "x"})
    assert bad.status_code == 200 and "身份证号码" in bad.content.decode()
    client.post(
        "/admin/kyc/blacklist/add/", {"kind": "PHONE", "value": "13912345678", "reason": "x"}
    )
    again = client.post(
        "/admin/kyc/blacklist/add/", {"kind": "PHONE", "value": "139 1234 5678", "reason": "y"}
    )
    assert again.status_code == 200 and "已在黑名单中" in again.content.decode()
    assert Blacklist.objects.count() == 1


def test_deleting_a_blacklist_entry_in_admin_is_audited(client, staff):
    client.post(
        "/admin/kyc/blacklist/add/", {"kind": "PHONE", "value": "13912345678", "reason": "x"}
    )
    entry = Blacklist.objects.get()
    response = client.post(f"/admin/kyc/blacklist/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Blacklist.objects.exists()
    assert AuditRecord.objects.filter(action="kyc.blacklist_removed").count() == 1


def test_staff_register_an_existing_line_and_release_it(client, staff):
    response = client.post(
        "/admin/kyc/identityclaim/add/",
        {"id_number": ID_A, "carrier": "CMCC", "order_ref": "LINE-77"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    claim = IdentityClaim.objects.get(order_ref="LINE-77")
    assert (claim.status, claim.source) == ("ACTIVE", "IMPORT")
    client.post(
        "/admin/kyc/identityclaim/",
        {"action": "release_selected", "_selected_action": [claim.pk]},
    )
    claim.refresh_from_db()
    assert claim.status == "RELEASED"
    assert AuditRecord.objects.filter(action="kyc.claim_released").count() == 1


def test_registering_a_sixth_line_in_admin_is_refused_with_a_form_error(client, staff):
    for i in range(5):
        client.post(
            "/admin/kyc/identityclaim/add/",
            {"id_number": ID_A, "carrier": "CMCC", "order_ref": f"LINE-{i}"},
        )
    response = client.post(
        "/admin/kyc/identityclaim/add/",
        {"id_number": ID_A, "carrier": "CMCC", "order_ref": "LINE-5"},
    )
    assert response.status_code == 200 and "无法再登记" in response.content.decode()
    assert IdentityClaim.objects.filter(status="ACTIVE").count() == 5


def test_now_is_used_for_reviews_from_the_admin(client, staff, flagged):
    with clock.frozen(NOW):
        client.post(
            "/admin/kyc/kycrecord/",
            {
                "action": "approve_selected",
                "_selected_action": [flagged.pk],
                "apply": "1",
                "note": "ok",
            },
        )
    flagged.refresh_from_db()
    assert flagged.reviewed_at == NOW
