"""Names, ID numbers and photos never appear in clear in the database or the logs; pages get
masked values, the contract and the carrier the clear identity of a PASSED check only."""

from __future__ import annotations

import base64
import hashlib
import logging

import pytest
from django.apps import apps
from django.db import connection

from haoka.core import pii
from haoka.kyc import blacklists, operations, queries
from haoka.kyc.domain import PhotoTooLarge
from haoka.kyc.models import KycDocument
from tests.support.kyc import ID_A, JPEG, NAME, NOW, PNG, check, make_user, new_ref

pytestmark = pytest.mark.django_db


def _dump_tables() -> str:
    """Every row of every kyc table and the audit chain, as the database holds it."""
    tables = [m._meta.db_table for m in apps.get_app_config("kyc").get_models()]
    tables.append("core_auditrecord")
    rows = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            rows.extend(cursor.fetchall())
    return repr(rows)


def test_name_and_id_number_are_stored_encrypted_with_keyed_hashes_beside_them():
    ref = new_ref()
    check(order_ref=ref)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, id_hash, name_hash FROM kyc_kycrecord WHERE order_ref = %s",
            [ref],
        )
        name, id_number, id_hash, name_hash = cursor.fetchone()
    assert NAME not in name and ID_A not in id_number
    assert pii.decrypt(name) == NAME and pii.decrypt(id_number) == ID_A
    assert id_hash == pii.lookup_hash(ID_A, purpose="id_number")
    assert name_hash == pii.lookup_hash(NAME, purpose="name")


def test_no_table_holds_the_clear_name_id_number_or_address_after_every_use_case():
    staff = make_user("ops")
    ref = new_ref()
    check(order_ref=ref, photos=[JPEG, PNG, JPEG])
    check(id_number="51010719930811222x", name="假名字")
    operations.import_active_claim(
        id_number="440305198512310018",
        carrier="CMCC",
        reference="LINE-1",
        staff_id=staff.pk,
        now=NOW,
    )
    blacklists.add_blacklist(kind="ID", value=ID_A, reason="测试", staff_id=staff.pk, now=NOW)
    dump = _dump_tables()
    for clear in (NAME, ID_A, "51010719930811222", "假名字", "440305198512310018", "科苑路"):
        assert clear not in dump
    assert base64.b64encode(JPEG[:60]).decode() not in dump


def test_nothing_personal_reaches_the_logs_not_even_sql_parameters(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    try:
        staff = make_user("ops")
        check(id_number=ID_A)
        check(id_number="51010719930811222X", name="假名字")
        ref = new_ref()
        check(order_ref=ref, id_number="440305198512310018")
        operations.review(order_ref=ref, approve=True, staff_id=staff.pk, note="核实", now=NOW)
        queries.verified_identity(order_ref=ref)
    finally:
        connection.force_debug_cursor = False
    assert "kyc_kycrecord" in caplog.text  # SQL was logged, parameters included
    for clear in (NAME, ID_A, "51010719930811222X", "假名字", "440305198512310018", "科苑路"):
        assert clear not in caplog.text


def test_photos_are_encrypted_at_rest_and_read_back_for_staff():
    ref = new_ref()
    check(order_ref=ref, photos=[JPEG, PNG, JPEG])
    docs = {d.kind: d for d in KycDocument.objects.filter(order_ref=ref)}
    assert set(docs) == {"FRONT", "BACK", "SELFIE"}
    back = docs["BACK"]
    assert (back.content_type, back.size, back.sha256) == (
        "image/png",
        len(PNG),
        hashlib.sha256(PNG).hexdigest(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM kyc_kycdocument WHERE id = %s", [back.pk])
        (stored,) = cursor.fetchone()
    assert base64.b64encode(PNG).decode()[:40] not in stored
    assert queries.document_content(order_ref=ref, kind="BACK") == ("image/png", PNG)


def test_photos_that_are_not_jpeg_or_png_or_too_large_are_refused_before_anything_is_stored():
    with pytest.raises(PhotoTooLarge):
        check(photos=[JPEG[:4] + bytes(5 * 1024 * 1024)])
    assert not KycDocument.objects.exists()


def test_pages_get_masked_data_only():
    ref = new_ref()
    check(order_ref=ref, photos=[JPEG])
    view = queries.record_for(order_ref=ref)
    assert (view.name_masked, view.id_masked) == ("李*龙", "110***********1233")
    assert view.status == "PASSED" and view.documents == ("FRONT",)
    assert NAME not in repr(view) and ID_A not in repr(view)
    assert queries.record_for(order_ref="HKNONE") is None


def test_the_contract_and_the_carrier_get_the_clear_identity_of_a_passed_check():
    ref = new_ref()
    check(order_ref=ref)
    assert operations.verified_name(order_ref=ref) == NAME
    identity = operations.verified_identity(order_ref=ref)
    assert (identity.name, identity.id_number) == (NAME, ID_A)
    assert NAME not in repr(identity) and ID_A not in repr(identity)


def test_a_rejected_or_missing_check_has_no_verified_name():
    ref = new_ref()
    check(order_ref=ref, name="假名字")
    with pytest.raises(queries.KycNotPassed):
        operations.verified_name(order_ref=ref)
    with pytest.raises(queries.KycNotFound):
        operations.verified_name(order_ref="HKNONE")


def test_the_result_repr_shows_masked_values_only():
    result = check()
    assert NAME not in repr(result) and ID_A not in repr(result)
