"""Step-up codes and proofs against the database: one code per (user, action, line), sent to
the phone of record, verified into a proof that is spent once; the limits that stop a
stranger holding a stolen session without locking the owner out for longer than an hour."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts import domain, stepup
from haoka.accounts.models import SandboxSms, StepUpChallenge, User
from haoka.core.errors import RateLimited
from tests.support.accounts import wrong_code
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
LINE_A, LINE_B = "13912340001", "13912340002"
PHONE = "13700000009"


@pytest.fixture
def owner(db):
    return User.objects.create(username=PHONE, phone=PHONE)


def _send(moment, owner, action="suspend", target=LINE_A, ip="10.0.0.1"):
    return stepup.send_code(
        user_id=owner.pk, action=action, target=target, client_ip=ip, now=moment.at
    )


def _verify(moment, owner, code, action="suspend", target=LINE_A):
    return stepup.verify_code(
        user_id=owner.pk, action=action, target=target, code=code, now=moment.at
    )


def _spend(moment, owner, proof, action="suspend", target=LINE_A, user_id=None):
    stepup.spend(
        user_id=user_id or owner.pk, action=action, target=target, proof=proof, now=moment.at
    )


def test_a_code_goes_to_the_phone_of_record_and_only_its_hash_is_kept(moment, owner):
    sent = _send(moment, owner)
    assert (sent.phone_masked, sent.resend_after_seconds) == ("137****0009", 60)
    assert sent.expires_at == moment.at + dt.timedelta(minutes=5)
    code = latest_otp(PHONE)
    row = StepUpChallenge.objects.get()
    assert (row.user_id, row.action, row.target, row.phone) == (owner.pk, "suspend", LINE_A, PHONE)
    assert code not in row.code_hash and row.proof_hash is None


def test_a_verified_code_gives_a_proof_spent_once(moment, owner):
    _send(moment, owner)
    proof = _verify(moment, owner, latest_otp(PHONE))
    assert proof.expires_at == moment.at + dt.timedelta(minutes=5)
    assert proof.proof not in StepUpChallenge.objects.get().proof_hash
    live = {"user_id": owner.pk, "action": "suspend", "target": LINE_A, "proof": proof.proof}
    stepup.check(**live, now=moment.at)
    _spend(moment, owner, proof.proof)
    with pytest.raises(stepup.StepUpRequired):  # replayed
        _spend(moment, owner, proof.proof)
    with pytest.raises(stepup.StepUpRequired):
        stepup.check(**live, now=moment.at)


def test_a_code_is_used_once(moment, owner):
    _send(moment, owner)
    code = latest_otp(PHONE)
    _verify(moment, owner, code)
    with pytest.raises(stepup.StepUpCodeInvalid):
        _verify(moment, owner, code)


def test_a_proof_for_one_action_and_line_opens_nothing_else(moment, owner):
    other = User.objects.create(username="13700000010", phone="13700000010")
    _send(moment, owner)
    proof = _verify(moment, owner, latest_otp(PHONE)).proof
    for action, target, user_id in (
        ("closure", LINE_A, owner.pk),
        ("suspend", LINE_B, owner.pk),
        ("closure", LINE_B, owner.pk),
        ("suspend", LINE_A, other.pk),
    ):
        with pytest.raises(stepup.StepUpRequired):
            _spend(moment, owner, proof, action=action, target=target, user_id=user_id)
    _spend(moment, owner, proof)  # still there for what it was made for


def test_a_code_for_one_action_and_line_verifies_nothing_else(moment, owner):
    _send(moment, owner)
    code = latest_otp(PHONE)
    for action, target in (("closure", LINE_A), ("suspend", LINE_B)):
        with pytest.raises(stepup.StepUpCodeInvalid):
            _verify(moment, owner, code, action=action, target=target)
    _verify(moment, owner, code)


def test_codes_and_proofs_expire_after_five_minutes(moment, owner):
    _send(moment, owner)
    code = latest_otp(PHONE)
    moment.advance(minutes=5)
    with pytest.raises(stepup.StepUpCodeInvalid):
        _verify(moment, owner, code)
    moment.advance(seconds=1)
    _send(moment, owner)
    proof = _verify(moment, owner, latest_otp(PHONE)).proof
    moment.advance(minutes=5)
    with pytest.raises(stepup.StepUpRequired):
        _spend(moment, owner, proof)


def test_five_wrong_tries_kill_a_code_and_a_fresh_one_works(moment, owner):
    _send(moment, owner)
    code = latest_otp(PHONE)
    for _ in range(5):
        with pytest.raises(stepup.StepUpCodeInvalid):
            _verify(moment, owner, wrong_code(code))
    with pytest.raises(stepup.StepUpCodeInvalid):
        _verify(moment, owner, code)  # dead, right or not
    assert StepUpChallenge.objects.get().attempts == 5
    moment.advance(seconds=60)
    _send(moment, owner)
    _verify(moment, owner, latest_otp(PHONE))


def test_only_the_latest_code_counts(moment, owner, monkeypatch):
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(domain, "new_otp_code", lambda: next(codes))
    _send(moment, owner)
    moment.advance(seconds=60)
    _send(moment, owner)
    with pytest.raises(stepup.StepUpCodeInvalid):
        _verify(moment, owner, "111111")
    _verify(moment, owner, "222222")


def test_the_resend_countdown_runs_from_the_last_code(moment, owner):
    assert stepup.resend_wait_seconds(user_id=owner.pk, now=moment.at) == 0
    _send(moment, owner)
    moment.advance(seconds=25)
    assert stepup.resend_wait_seconds(user_id=owner.pk, now=moment.at) == 35
    moment.advance(seconds=35)
    assert stepup.resend_wait_seconds(user_id=owner.pk, now=moment.at) == 0


def test_one_code_a_minute_and_five_an_hour_then_the_owner_is_back_next_hour(moment, owner):
    _send(moment, owner)
    with pytest.raises(RateLimited) as early:
        _send(moment, owner, action="closure")  # the minute's limit spans actions and lines
    assert early.value.details["retry_after_seconds"] == 60
    for _ in range(4):
        moment.advance(seconds=60)
        _send(moment, owner)
    moment.advance(seconds=60)
    with pytest.raises(RateLimited):
        _send(moment, owner)
    assert SandboxSms.objects.filter(phone=PHONE).count() == 5
    moment.set(moment.at.replace(minute=0, second=0) + dt.timedelta(hours=1))
    _send(moment, owner)  # a stranger spending the hour's codes holds the owner up an hour
    _verify(moment, owner, latest_otp(PHONE))


def test_unknown_actions_and_accounts_without_a_phone_are_refused(moment, owner):
    with pytest.raises(stepup.UnknownStepUpAction):
        _send(moment, owner, action="porting")
    nophone = User.objects.create(username="svc-x")
    with pytest.raises(stepup.StepUpUnavailable):
        _send(moment, nophone)
    assert not SandboxSms.objects.exists()


@pytest.mark.parametrize("proof", ["", "su_", "su_forged", "hk_token", "x" * 500])
def test_missing_or_forged_proofs_are_refused(moment, owner, proof):
    with pytest.raises(stepup.StepUpRequired) as refused:
        _spend(moment, owner, proof)
    assert (refused.value.code, refused.value.status) == ("step_up_required", 403)
