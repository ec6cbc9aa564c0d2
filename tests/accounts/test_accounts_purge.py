"""Old sign-in and step-up codes are deleted a month after they ended; live ones, and the
proofs still open, stay; signing in works the same after a purge."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts import domain, operations, stepup
from haoka.accounts.models import OtpChallenge, StepUpChallenge, User
from haoka.accounts.tasks import purge_challenges
from haoka.core import clock, worker
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
PHONE = "13700000019"


def _otp(*, ended_days_ago: float) -> OtpChallenge:
    expires = NOW - dt.timedelta(days=ended_days_ago)
    return OtpChallenge.objects.create(
        phone=PHONE, code_hash="x" * 64, created_at=expires - domain.OTP_TTL, expires_at=expires
    )


def _step_up(user: User, *, ended_days_ago: float, proof_days_ago: float | None = None):
    expires = NOW - dt.timedelta(days=ended_days_ago)
    proof = {}
    if proof_days_ago is not None:
        proof = dict(
            verified_at=expires - dt.timedelta(minutes=1),
            proof_hash=f"{proof_days_ago:064}",
            proof_expires_at=NOW - dt.timedelta(days=proof_days_ago),
        )
    return StepUpChallenge.objects.create(
        user=user, action="suspend", target="13912340001", phone=PHONE, code_hash="y" * 64,
        created_at=expires - dt.timedelta(minutes=5), expires_at=expires, **proof,
    )  # fmt: skip


def test_codes_that_ended_over_a_month_ago_go_and_the_rest_stay():
    user = User.objects.create(username=PHONE, phone=PHONE)
    old_otp, fresh_otp = _otp(ended_days_ago=31), _otp(ended_days_ago=29)
    live_otp = _otp(ended_days_ago=-0.001)  # still usable
    old_step, fresh_step = _step_up(user, ended_days_ago=45), _step_up(user, ended_days_ago=2)
    old_proof = _step_up(user, ended_days_ago=40, proof_days_ago=40)
    # Not a real case (proofs live minutes) but the rule: a proof still open is never purged.
    open_proof = _step_up(user, ended_days_ago=40, proof_days_ago=-1)

    assert operations.purge_challenges(now=NOW) == 3

    assert set(OtpChallenge.objects.values_list("pk", flat=True)) == {fresh_otp.pk, live_otp.pk}
    assert set(StepUpChallenge.objects.values_list("pk", flat=True)) == {
        fresh_step.pk,
        open_proof.pk,
    }
    assert not OtpChallenge.objects.filter(pk=old_otp.pk).exists()
    assert not StepUpChallenge.objects.filter(pk__in=[old_step.pk, old_proof.pk]).exists()
    assert operations.purge_challenges(now=NOW) == 0  # twice is the same as once


def test_a_purge_leaves_signing_in_and_step_up_working(client, settings):
    user = User.objects.create(username=PHONE, phone=PHONE)
    for days in (40, 35):
        _otp(ended_days_ago=days)
        _step_up(user, ended_days_ago=days)
    now = clock.now()
    operations.request_otp(phone=PHONE, client_ip="10.0.0.9", now=now)
    operations.purge_challenges(now=now + domain.CHALLENGE_RETENTION)  # the old ones only
    signed_in = operations.verify_otp(
        phone=PHONE, code=latest_otp(PHONE), client_ip="10.0.0.9", now=now
    )
    assert signed_in.pk == user.pk
    stepup.send_code(
        user_id=user.pk, action="suspend", target="13912340001", client_ip="10.0.0.9", now=now
    )
    proof = stepup.verify_code(
        user_id=user.pk, action="suspend", target="13912340001", code=latest_otp(PHONE), now=now
    )
    assert proof.proof.startswith(domain.STEP_UP_PROOF_PREFIX)


def test_the_worker_runs_the_purge_every_six_hours():
    job = {j.name: j for j in worker.PERIODIC}["accounts.purge_challenges"]
    assert job.every == dt.timedelta(hours=6)
    assert job.task == "haoka.accounts.tasks.purge_challenges"
    _otp(ended_days_ago=31)
    assert purge_challenges.call() == 1
