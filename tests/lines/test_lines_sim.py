"""补换卡: the owner proves who they are again; the old card dies, the line lives on."""

from __future__ import annotations

import pytest

from haoka.charging import tariffs
from haoka.charging.models import Bucket, ChargingAccount, ChargingSession
from haoka.core.models import AuditRecord
from haoka.lines import domain
from haoka.lines.models import Line, SimCard
from tests.support.charging import BASE, charging_token, data_unit, post, request_body
from tests.support.lines import CT_NUMBERS, NAME, order_line, person, staff_line, wallet_fen
from tests.support.orders import ICCID, id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(client, catalog, carrier, gateway_fake, commits):
    owner = person(client)
    line = order_line(
        owner, msisdn=CT_NUMBERS[0], plan="CT-WUYOU-0", gateway_fake=gateway_fake, commits=commits
    )
    return owner, line


def _replace(who, line, *, name=NAME, id_number_=None):
    body = {"name": name, "id_number": id_number_ or id_number(who.serial)}
    proof = who.step_up(line.msisdn, "sim-replacement")
    return who.call("post", f"/lines/{line.msisdn}/sim-replacement", body, **proof)


def test_the_owner_with_the_right_name_and_id_gets_a_new_card_and_keeps_everything(bought):
    owner, line = bought
    buckets = list(Bucket.objects.filter(line=line).values_list("id", "amount", "used"))
    answer = _replace(owner, line)
    assert answer.status_code == 201, answer.content
    fresh = Line.objects.get(pk=line.pk)
    assert fresh.iccid != ICCID and domain.luhn_valid(fresh.iccid) and len(fresh.iccid) == 20
    assert fresh.iccid.startswith("898603") and fresh.imsi.startswith("46003")
    assert answer.json()["iccid_masked"] == fresh.iccid[:6] + "*" * 10 + fresh.iccid[-4:]
    assert (fresh.msisdn, fresh.status, wallet_fen(fresh)) == (line.msisdn, "ACTIVE", 2000)
    assert list(Bucket.objects.filter(line=line).values_list("id", "amount", "used")) == buckets
    cards = list(SimCard.objects.filter(line=line).order_by("valid_from", "id"))
    assert [(c.iccid, c.status) for c in cards] == [(ICCID, "RETIRED"), (fresh.iccid, "ACTIVE")]
    assert cards[0].valid_to == cards[1].valid_from
    history = owner.call("get", f"/lines/{line.msisdn}/sim-cards").json()
    assert [c["status"] for c in history] == ["RETIRED", "ACTIVE"]
    assert ICCID not in str(history)
    assert AuditRecord.objects.filter(action="lines.sim_replaced").count() == 1


def test_the_old_card_is_dead_for_the_network_and_the_new_one_is_known(bought):
    owner, line = bought
    _replace(owner, line)
    fresh = Line.objects.get(pk=line.pk)
    with pytest.raises(tariffs.UnknownSubscriber):
        tariffs.line_id_for(subscriber=f"imsi-{line.imsi}")
    assert tariffs.line_id_for(subscriber=f"imsi-{fresh.imsi}") == line.pk


def test_a_wrong_id_number_or_name_is_refused_and_changes_nothing(bought):
    owner, line = bought
    wrong_id = _replace(owner, line, id_number_=id_number(owner.serial + 1))
    wrong_name = _replace(owner, line, name="王五")
    for answer in (wrong_id, wrong_name):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "identity_mismatch"
        assert id_number(owner.serial) not in answer.content.decode()
    assert Line.objects.get(pk=line.pk).iccid == ICCID
    assert not SimCard.objects.filter(line=line).exists()


def test_guessing_id_numbers_is_stopped_after_five_tries_even_with_the_right_one(bought):
    owner, line = bought
    for guess in range(5):
        answer = _replace(owner, line, id_number_=id_number(owner.serial + 100 + guess))
        assert answer.status_code == 403
    blocked = _replace(owner, line)
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    assert Line.objects.get(pk=line.pk).iccid == ICCID


def test_a_malformed_id_number_is_a_clear_error_and_still_counts_as_a_try(bought):
    owner, line = bought
    answer = _replace(owner, line, id_number_="12345")
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_id_number"
    for guess in range(4):
        _replace(owner, line, id_number_=id_number(owner.serial + 200 + guess))
    assert _replace(owner, line).status_code == 429


def test_a_line_opened_by_staff_needs_staff_to_replace_its_card(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, now=now)
    refused = _replace(owner, line)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "staff_required"
    done = staff.call("post", f"/lines/{line.msisdn}/sim-replacement", {})
    assert done.status_code == 201, done.content
    card = SimCard.objects.get(line=line, status="ACTIVE")
    assert card.actor == f"staff:{staff.user.pk}" and card.iccid.startswith("898600")


def test_a_closed_line_gets_no_new_card(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, now=now)
    proof = owner.step_up(line.msisdn, "closure")
    closed = owner.call("post", f"/lines/{line.msisdn}/closure", {"confirm": True}, **proof)
    assert closed.status_code == 200
    answer = staff.call("post", f"/lines/{line.msisdn}/sim-replacement", {})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "line_state_conflict"


def test_a_new_card_ends_the_old_cards_charging_sessions(client, catalog, now):
    owner, staff = person(client), person(client, staff=True)
    line = staff_line(owner, balance_fen=1000, now=now)
    token = charging_token(now)
    asked = request_body(line, seq=1, units=[data_unit(100, request=10 * 1024**2)], at=now)
    assert post(client, BASE, asked, token).status_code == 201
    assert staff.call("post", f"/lines/{line.msisdn}/sim-replacement", {}).status_code == 201
    assert ChargingSession.objects.get(line=line).state == "RELEASED"
    assert set(Bucket.objects.filter(line=line).values_list("reserved", flat=True)) == {0}
    assert ChargingAccount.objects.get(line=line).reserved_fen == 0
