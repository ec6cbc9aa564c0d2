"""携号转网: who may port a number out, and the authorization code (shown once, hashed,
valid 30 days, replaced by a new request)."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core.models import AuditRecord
from haoka.lines import domain, exits
from haoka.lines.models import PortingCode
from tests.support.lines import CT_NUMBERS, order_line, person, set_wallet, staff_line

pytestmark = pytest.mark.django_db
#: 120 days after the orders' activation (1 March 2026, 10:00 Beijing).
DAY_120 = dt.datetime(2026, 6, 29, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def bought(client, catalog, carrier, gateway_fake, commits):
    owner = person(client)
    line = order_line(
        owner, msisdn=CT_NUMBERS[0], plan="CT-WUYOU-0", gateway_fake=gateway_fake, commits=commits
    )
    return owner, line


def _eligibility(who, line):
    answer = who.call("get", f"/lines/{line.msisdn}/porting-eligibility")
    assert answer.status_code == 200, answer.content
    return answer.json()


def _failed(body) -> dict:
    return {c["code"]: c["reason"] for c in body["checks"] if not c["passed"]}


def test_a_new_line_is_told_it_must_wait_120_days(bought):
    owner, line = bought
    body = _eligibility(owner, line)
    assert body["eligible"] is False and set(_failed(body)) == {"tenure"}
    assert "入网须满 120 天" in _failed(body)["tenure"]
    assert not PortingCode.objects.exists()  # asking issues nothing


def test_after_120_days_the_owner_gets_a_six_character_code_valid_30_days(bought, later):
    owner, line = bought
    later(DAY_120)
    assert _eligibility(owner, line)["eligible"] is True
    answer = owner.call("post", f"/lines/{line.msisdn}/porting-code")
    assert answer.status_code == 201, answer.content
    code = answer.json()["code"]
    assert len(code) == 6 and set(code) <= set(domain.PORTING_CODE_ALPHABET)
    stored = PortingCode.objects.get(line=line)
    assert stored.expires_at == DAY_120 + dt.timedelta(days=30)
    assert stored.code_hash == exits.porting_code_hash(msisdn=line.msisdn, code=code)
    assert code not in stored.code_hash and code not in str(
        list(AuditRecord.objects.values_list("data", flat=True))
    )


def test_a_new_request_replaces_the_earlier_code(bought, later):
    owner, line = bought
    later(DAY_120)
    first = owner.call("post", f"/lines/{line.msisdn}/porting-code").json()["code"]
    later(DAY_120 + dt.timedelta(days=1))
    second = owner.call("post", f"/lines/{line.msisdn}/porting-code").json()["code"]
    codes = list(PortingCode.objects.filter(line=line).order_by("created_at"))
    assert [c.revoked_at is None for c in codes] == [False, True]
    assert codes[1].code_hash == exits.porting_code_hash(msisdn=line.msisdn, code=second)
    assert PortingCode.objects.filter(line=line, revoked_at__isnull=True).count() == 1
    assert codes[0].code_hash == exits.porting_code_hash(msisdn=line.msisdn, code=first)


def test_a_refused_request_lists_every_failing_rule_and_issues_nothing(bought, later):
    owner, line = bought
    later(DAY_120)
    set_wallet(line, -100, key="debt")
    proof = owner.step_up(line.msisdn, "suspend")
    assert owner.call("post", f"/lines/{line.msisdn}/suspend", **proof).status_code == 200
    answer = owner.call("post", f"/lines/{line.msisdn}/porting-code")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "porting_not_eligible"
    assert [f["code"] for f in error["details"]["failed"]] == ["active", "no_arrears"]
    assert "须结清欠费" in error["message"]
    assert not PortingCode.objects.exists()


def test_a_line_under_contract_cannot_port_out_before_it_ends(
    client, catalog, carrier, gateway_fake, commits, later
):
    owner = person(client)
    line = order_line(
        owner, msisdn=CT_NUMBERS[1], plan="CT-CHANGXIANG-59", gateway_fake=gateway_fake,
        commits=commits,
    )  # fmt: skip
    set_wallet(line, 0, key="porting:settled")  # the first month's fee, charged at activation
    later(DAY_120)
    body = _eligibility(owner, line)
    assert set(_failed(body)) == {"no_contract"} and body["contract_end_date"] == "2027-03-01"
    assert "2027-03-01" in _failed(body)["no_contract"]


def test_a_line_without_a_real_name_record_cannot_port_out(client, catalog, now, later):
    owner = person(client)
    line = staff_line(owner, now=now)
    later(DAY_120)
    assert set(_failed(_eligibility(owner, line))) == {"real_name"}


def test_closing_the_line_revokes_its_porting_code(bought, later):
    owner, line = bought
    later(DAY_120)
    owner.call("post", f"/lines/{line.msisdn}/porting-code")
    proof = owner.step_up(line.msisdn, "closure")
    closed = owner.call("post", f"/lines/{line.msisdn}/closure", {"confirm": True}, **proof)
    assert closed.status_code == 200
    assert PortingCode.objects.get(line=line).revoked_at == DAY_120
    body = _eligibility(owner, line)  # the closed line is still the owner's to ask about
    assert "active" in _failed(body)
