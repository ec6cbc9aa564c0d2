"""Pure step-up rules: a code or proof is bound to one user, action and line; a code is
usable while fresh, untried too often and unused; a proof while unspent and unexpired."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.accounts import domain
from haoka.accounts.domain import StepUpAction

NOW = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
LINE_A, LINE_B = "13912340001", "13912340002"
actions = st.sampled_from(list(StepUpAction))
lines = st.sampled_from([LINE_A, LINE_B, "18912340001"])


def _hash(user_id=1, action=StepUpAction.SUSPEND, target=LINE_A, value="123456", secret="s"):
    return domain.step_up_hash(
        secret=secret, user_id=user_id, action=action, target=target, value=value
    )


@given(
    user=st.integers(1, 3),
    action=actions,
    target=lines,
    other_user=st.integers(1, 3),
    other_action=actions,
    other_target=lines,
)
def test_a_code_matches_only_the_user_action_and_line_it_was_sent_for(
    user, action, target, other_user, other_action, other_target
):
    stored = _hash(user_id=user, action=action, target=target)
    matches = domain.step_up_matches(
        secret="s",
        user_id=other_user,
        action=other_action,
        target=other_target,
        value="123456",
        stored_hash=stored,
    )
    assert matches is ((user, action, target) == (other_user, other_action, other_target))


def test_a_code_for_suspending_line_a_cannot_close_line_b_nor_match_another_code_or_secret():
    stored = _hash()
    assert domain.step_up_matches(
        secret="s", user_id=1, action="suspend", target=LINE_A, value="123456", stored_hash=stored
    )
    for secret, action, target, value in (
        ("s", "closure", LINE_B, "123456"),
        ("s", "closure", LINE_A, "123456"),
        ("s", "suspend", LINE_B, "123456"),
        ("s", "suspend", LINE_A, "123457"),
        ("t", "suspend", LINE_A, "123456"),
    ):
        assert not domain.step_up_matches(
            secret=secret, user_id=1, action=action, target=target, value=value, stored_hash=stored
        )


def test_what_is_stored_is_not_the_code():
    stored = _hash(value="123456")
    assert "123456" not in stored and len(stored) == 64


@pytest.mark.parametrize(
    ("minutes", "attempts", "verified", "usable"),
    [
        (0, 0, False, True),
        (4.99, 4, False, True),  # the fifth try still counts
        (5, 0, False, False),  # expired at five minutes
        (1, domain.STEP_UP_MAX_ATTEMPTS, False, False),  # tried five times wrong
        (1, 1, True, False),  # used once already
    ],
)
def test_a_code_is_usable_fresh_unused_and_under_its_attempts(minutes, attempts, verified, usable):
    sent = NOW
    now = sent + dt.timedelta(minutes=minutes)
    expires_at = sent + domain.STEP_UP_CODE_TTL
    assert (
        domain.step_up_code_usable(
            expires_at=expires_at, attempts=attempts, verified=verified, now=now
        )
        is usable
    )


def test_a_proof_is_usable_once_and_for_five_minutes():
    expires_at = NOW + domain.STEP_UP_PROOF_TTL
    assert domain.step_up_proof_usable(expires_at=expires_at, spent=False, now=NOW)
    assert not domain.step_up_proof_usable(expires_at=expires_at, spent=True, now=NOW)
    assert not domain.step_up_proof_usable(expires_at=expires_at, spent=False, now=expires_at)
    assert not domain.step_up_proof_usable(expires_at=None, spent=False, now=NOW)


def test_proofs_are_long_random_and_recognizable():
    proofs = {domain.new_step_up_proof() for _ in range(50)}
    assert len(proofs) == 50
    assert all(p.startswith(domain.STEP_UP_PROOF_PREFIX) and len(p) > 40 for p in proofs)


def test_the_sms_puts_the_code_first_and_names_the_action_and_the_lines_last_four_digits():
    text = domain.step_up_text(code="004211", action="closure", target=LINE_B)
    assert text.startswith("【号卡】验证码 004211")
    assert "尾号0002" in text and "销户" in text and "5 分钟内有效" in text
    assert LINE_B not in text  # the whole number never travels in the SMS
