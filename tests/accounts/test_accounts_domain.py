"""Pure sign-in rules: codes, their usability, token formats."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts import domain

NOW = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def test_new_codes_are_six_ascii_digits_and_vary():
    codes = {domain.new_otp_code() for _ in range(200)}
    assert all(domain.is_code_shaped(c) for c in codes)
    assert len(codes) > 150


@pytest.mark.parametrize(
    ("code", "shaped"),
    [
        ("000123", True),
        ("12345", False),
        ("12345a", False),
        ("１２３４５６", False),
        ("", False),
        ("1234567", False),
    ],
)
def test_only_six_ascii_digits_are_code_shaped(code, shaped):
    assert domain.is_code_shaped(code) is shaped


def test_a_code_matches_only_for_its_phone_and_secret():
    stored = domain.otp_hash(secret="s", phone="13812345678", code="123456")
    assert domain.otp_matches(secret="s", phone="13812345678", code="123456", stored_hash=stored)
    assert not domain.otp_matches(
        secret="s", phone="13812345679", code="123456", stored_hash=stored
    )
    assert not domain.otp_matches(
        secret="t", phone="13812345678", code="123456", stored_hash=stored
    )
    assert not domain.otp_matches(
        secret="s", phone="13812345678", code="123457", stored_hash=stored
    )


@pytest.mark.parametrize(
    ("expires_in", "attempts", "consumed", "usable"),
    [
        (dt.timedelta(seconds=1), 0, False, True),
        (dt.timedelta(0), 0, False, False),
        (dt.timedelta(seconds=1), domain.OTP_MAX_ATTEMPTS - 1, False, True),
        (dt.timedelta(seconds=1), domain.OTP_MAX_ATTEMPTS, False, False),
        (dt.timedelta(seconds=1), 0, True, False),
    ],
)
def test_a_code_is_usable_only_unused_unexpired_and_under_the_attempt_limit(
    expires_in, attempts, consumed, usable
):
    assert (
        domain.otp_usable(
            expires_at=NOW + expires_in, attempts=attempts, consumed=consumed, now=NOW
        )
        is usable
    )


def test_tokens_carry_the_prefix_and_enough_randomness():
    tokens = {domain.new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(t.startswith(domain.TOKEN_PREFIX) and len(t) >= 40 for t in tokens)


def test_the_sms_text_carries_the_code():
    assert "123456" in domain.otp_text("123456")
