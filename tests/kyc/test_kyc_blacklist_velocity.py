"""Blacklists (ID, phone, address; normalized variants match) and the 24-hour velocity flag."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from haoka.core.models import AuditRecord
from haoka.core.phone import InvalidMsisdn
from haoka.kyc import blacklists
from haoka.kyc.blacklists import InvalidBlacklistValue
from haoka.kyc.domain import InvalidIdNumber
from haoka.kyc.models import Blacklist, IdentityClaim, KycRecord
from tests.support.kyc import DAY, ID_A, ID_B, ID_C, NOW, address, check, make_user, new_ref

pytestmark = pytest.mark.django_db


def _block(kind: str, value: str) -> Blacklist:
    return blacklists.add_blacklist(
        kind=kind, value=value, reason="历史欺诈", staff_id=make_user("ops").pk, now=NOW
    )


def test_a_blacklisted_id_is_rejected_even_typed_with_a_lower_case_x():
    upper = "51010719930811222X"
    _block("ID", upper.lower())
    result = check(id_number=upper)
    assert (result.status, result.reason_code) == ("REJECTED", "blacklisted_id")
    assert "风险" in result.message


def test_a_blacklisted_phone_matches_however_it_was_written():
    _block("PHONE", "+86 139-1234-5678")
    assert check(phone="13912345678").reason_code == "blacklisted_phone"


def test_a_blacklisted_receiver_phone_is_rejected_too():
    _block("PHONE", "18612345678")
    result = check(phone="13912345678", address=address(phone="186 1234 5678"))
    assert result.reason_code == "blacklisted_phone"


@pytest.mark.parametrize(
    "shipping",
    [
        address(province="广东", city="深圳", detail="科技园科苑路8号1201室"),
        address(detail="科技园，科苑路８号 1201室"),
        address(district="", detail="南山区科技园科苑路 8 号 1201 室"),
        address(detail="广东省深圳市南山区科技园科苑路8号1201室"),
    ],
)
def test_a_blacklisted_address_matches_its_normalized_variants(shipping):
    _block("ADDRESS", "广东省深圳市南山区 科技园科苑路8号1201室")
    result = check(address=shipping)
    assert (result.status, result.reason_code) == ("REJECTED", "blacklisted_address")
    assert not IdentityClaim.objects.exists()


def test_a_different_address_is_not_blacklisted():
    _block("ADDRESS", "广东省深圳市南山区科技园科苑路8号1202室")
    assert check().status == "PASSED"


def test_the_blacklist_stores_only_a_hash_never_the_clear_value():
    _block("ID", ID_A)
    _block("PHONE", "13912345678")
    _block("ADDRESS", "广东省深圳市南山区科技园科苑路8号1201室")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM kyc_blacklist")
        dump = repr(cursor.fetchall())
    for clear in (ID_A, "13912345678", "科技园", "深圳"):
        assert clear not in dump
    assert AuditRecord.objects.filter(action="kyc.blacklist_added").count() == 3


def test_adding_the_same_entry_twice_keeps_one_row():
    first = _block("PHONE", "13912345678")
    assert _block("PHONE", "139 1234 5678").pk == first.pk
    assert Blacklist.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "value", "error"),
    [
        ("ID", "110101199003071234", InvalidIdNumber),
        ("PHONE", "12345", InvalidMsisdn),
        ("ADDRESS", "，。", InvalidBlacklistValue),
        ("EMAIL", "a@b.c", InvalidBlacklistValue),
    ],
)
def test_invalid_blacklist_values_are_refused(kind, value, error):
    with pytest.raises(error):
        _block(kind, value)
    assert not Blacklist.objects.exists()


def test_removing_an_entry_lets_the_identity_pass_again():
    entry = _block("ID", ID_A)
    assert check().reason_code == "blacklisted_id"
    blacklists.remove_blacklist(entry_id=entry.pk, staff_id=None)
    assert check().status == "PASSED"


# --- velocity ---------------------------------------------------------------------------------


def test_the_third_order_from_one_phone_within_a_day_is_flagged_for_review():
    assert check(id_number=ID_A, now=NOW).status == "PASSED"
    assert check(id_number=ID_B, now=NOW + dt.timedelta(hours=1)).status == "PASSED"
    ref = new_ref()
    third = check(order_ref=ref, id_number=ID_C, now=NOW + dt.timedelta(hours=2))
    assert (third.status, third.reason_code) == ("FLAGGED", "velocity")
    assert "人工审核" in third.message
    assert KycRecord.objects.get(order_ref=ref).status == "FLAGGED"
    # an order in review is in flight: it holds one of the ID's five slots
    assert IdentityClaim.objects.get(order_ref=ref).status == "ACTIVE"


def test_the_third_order_to_one_address_is_flagged_even_from_other_phones():
    check(id_number=ID_A, phone="13800138000")
    check(id_number=ID_B, phone="13800138001")
    third = check(
        id_number=ID_C, phone="13800138002", address=address(detail="科技园科苑路8号1201室")
    )
    assert third.status == "FLAGGED"


def test_the_third_order_of_one_id_is_flagged_even_to_other_addresses_and_phones():
    check(phone="13800138000", address=address(detail="甲 1 号"))
    check(phone="13800138001", address=address(detail="乙 2 号"))
    assert check(phone="13800138002", address=address(detail="丙 3 号")).status == "FLAGGED"


def test_orders_older_than_a_day_do_not_count():
    check(id_number=ID_A, now=NOW - DAY - dt.timedelta(minutes=1))
    check(id_number=ID_B, now=NOW - dt.timedelta(hours=23))
    assert check(id_number=ID_C, now=NOW).status == "PASSED"


def test_re_checks_of_one_order_count_once():
    ref = new_ref()
    for minutes in range(4):
        result = check(order_ref=ref, now=NOW + dt.timedelta(minutes=minutes))
    assert result.status == "PASSED"
    assert check(id_number=ID_B, now=NOW + dt.timedelta(minutes=5)).status == "PASSED"


def test_a_rejection_outweighs_the_velocity_flag():
    check(id_number=ID_A)
    check(id_number=ID_B)
    result = check(name="假名字", id_number=ID_C)
    assert (result.status, result.reason_code) == ("REJECTED", "identity_mismatch")
