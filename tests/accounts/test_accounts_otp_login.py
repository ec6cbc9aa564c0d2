"""Phone + OTP sign-in over the API: codes, their limits, brute-force protection."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts import domain
from haoka.accounts.models import OtpChallenge, SandboxSms, User
from haoka.core.models import AuditRecord
from tests.support.accounts import T0, wrong_code

PHONE = "13812345678"
OWNER_IP = "198.51.100.20"
STRANGER_IP = "203.0.113.66"


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def test_requesting_a_code_sends_one_sms_to_the_sandbox_outbox(otp, moment):
    response = otp.request("+86 138 1234 5678")
    assert response.status_code == 200
    assert response.json()["phone"] == PHONE
    assert dt.datetime.fromisoformat(response.json()["expires_at"]) == T0 + dt.timedelta(minutes=5)
    messages = otp.outbox(PHONE)
    assert len(messages) == 1
    assert "验证码" in messages[0]["text"]
    code = otp.last_code(PHONE)
    assert len(code) == 6
    assert code not in OtpChallenge.objects.get().code_hash  # only a keyed hash is kept


def test_signing_in_with_the_code_gives_a_token_that_works_as_a_bearer_token(otp, moment):
    otp.request(PHONE)
    response = otp.login(PHONE, otp.last_code(PHONE))
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("hk_")
    assert body["role"] == "CONSUMER"
    assert dt.datetime.fromisoformat(body["expires_at"]) == T0 + dt.timedelta(days=30)
    me = otp.me(body["token"])
    assert me.status_code == 200
    assert me.json() == {
        "id": body["user_id"],
        "phone": PHONE,
        "phone_masked": "138****5678",
        "role": "CONSUMER",
    }


def test_the_first_sign_in_registers_the_user_and_the_next_reuses_it(otp, moment):
    otp.sign_in(PHONE)
    moment.advance(minutes=1)
    otp.sign_in(PHONE)
    assert User.objects.filter(phone=PHONE).count() == 1
    assert AuditRecord.objects.filter(action="user.registered").count() == 1


def test_me_without_a_valid_token_is_401(otp):
    assert otp.client.get("/api/v1/me").status_code == 401
    response = otp.me("hk_not-a-real-token")
    assert response.status_code == 401
    assert _error_code(response) == "unauthenticated"


@pytest.mark.parametrize("code", ["wrong", "12345", "1234567", "１２３４５６", ""])
def test_a_wrong_or_malformed_code_is_refused_with_otp_invalid(otp, moment, code):
    otp.request(PHONE)
    real = otp.last_code(PHONE)
    response = otp.login(PHONE, code if code != "wrong" else wrong_code(real))
    assert response.status_code == 401
    assert _error_code(response) == "otp_invalid"
    assert User.objects.count() == 0


def test_a_code_without_any_request_is_refused(otp, moment):
    assert otp.login(PHONE, "123456").status_code == 401


def test_a_code_still_works_just_before_five_minutes(otp, moment):
    otp.request(PHONE)
    moment.advance(minutes=4, seconds=59)
    assert otp.login(PHONE, otp.last_code(PHONE)).status_code == 200


def test_a_code_expires_after_five_minutes(otp, moment):
    otp.request(PHONE)
    moment.advance(minutes=5)
    response = otp.login(PHONE, otp.last_code(PHONE))
    assert response.status_code == 401
    assert _error_code(response) == "otp_invalid"


def test_four_wrong_attempts_still_leave_the_code_usable(otp, moment):
    otp.request(PHONE)
    code = otp.last_code(PHONE)
    for _ in range(4):
        assert otp.login(PHONE, wrong_code(code)).status_code == 401
    assert otp.login(PHONE, code).status_code == 200


def test_five_wrong_attempts_burn_the_code(otp, moment):
    otp.request(PHONE)
    code = otp.last_code(PHONE)
    for _ in range(5):
        assert otp.login(PHONE, wrong_code(code)).status_code == 401
    assert otp.login(PHONE, code).status_code == 401
    assert OtpChallenge.objects.get().attempts == 5


def test_a_code_works_only_once(otp, moment):
    otp.request(PHONE)
    code = otp.last_code(PHONE)
    assert otp.login(PHONE, code).status_code == 200
    response = otp.login(PHONE, code)
    assert response.status_code == 401
    assert _error_code(response) == "otp_invalid"


def test_only_the_latest_code_counts(otp, moment):
    otp.request(PHONE)
    older = otp.last_code(PHONE)
    moment.advance(minutes=1)
    otp.request(PHONE)
    newer = otp.last_code(PHONE)
    assert otp.login(PHONE, older).status_code == 401
    assert otp.login(PHONE, newer).status_code == 200


def test_an_older_code_is_not_revived_once_the_latest_is_used(otp, moment):
    otp.request(PHONE)
    older = otp.last_code(PHONE)
    moment.advance(minutes=1)
    otp.request(PHONE)
    assert otp.login(PHONE, otp.last_code(PHONE)).status_code == 200
    assert otp.login(PHONE, older).status_code == 401


def test_a_second_code_within_a_minute_is_refused_for_the_same_phone(otp, moment):
    assert otp.request(PHONE).status_code == 200
    moment.advance(seconds=45)
    response = otp.request(PHONE)
    assert response.status_code == 429
    assert _error_code(response) == "rate_limited"
    assert response.json()["error"]["details"] == {"retry_after_seconds": 15}
    assert SandboxSms.objects.count() == 1
    moment.advance(seconds=15)
    assert otp.request(PHONE).status_code == 200


def test_a_phone_gets_at_most_five_codes_an_hour(otp, moment):
    for _ in range(5):
        assert otp.request(PHONE).status_code == 200
        moment.advance(minutes=1)
    assert otp.request(PHONE).status_code == 429
    assert SandboxSms.objects.count() == 5


def test_one_address_may_ask_for_twenty_codes_an_hour(otp, moment):
    phones = [f"1380013{n:04d}" for n in range(21)]
    for phone in phones[:20]:
        assert otp.request(phone, ip="10.1.1.1").status_code == 200
    response = otp.request(phones[20], ip="10.1.1.1")
    assert response.status_code == 429
    assert _error_code(response) == "rate_limited"
    assert otp.request(phones[20], ip="10.1.1.2").status_code == 200


def test_a_strangers_wrong_guesses_do_not_keep_the_owner_out_once_a_fresh_code_comes(otp, moment):
    otp.request(PHONE, ip=OWNER_IP)
    code = otp.last_code(PHONE)
    for _ in range(12):  # the code dies after five; the rest guess at nothing
        assert otp.login(PHONE, wrong_code(code), ip=STRANGER_IP).status_code == 401
    assert otp.login(PHONE, code, ip=OWNER_IP).status_code == 401  # that code is dead
    moment.advance(minutes=1)
    assert otp.request(PHONE, ip=OWNER_IP).status_code == 200
    response = otp.login(PHONE, otp.last_code(PHONE), ip=OWNER_IP)
    assert response.status_code == 200, response.content
    assert User.objects.filter(phone=PHONE).count() == 1


def test_guesses_on_one_code_are_capped_whatever_address_they_come_from(otp, moment):
    otp.request(PHONE, ip=OWNER_IP)
    code = otp.last_code(PHONE)
    for n in range(domain.OTP_MAX_ATTEMPTS):
        assert otp.login(PHONE, wrong_code(code), ip=f"10.66.0.{n + 1}").status_code == 401
    assert otp.login(PHONE, code, ip="10.66.0.99").status_code == 401
    assert OtpChallenge.objects.get().attempts == domain.OTP_MAX_ATTEMPTS
    assert User.objects.count() == 0


def test_a_phone_gets_at_most_five_codes_of_five_guesses_an_hour(otp, moment):
    for n in range(domain.OTP_SEND_PER_PHONE_HOUR[0]):
        assert otp.request(PHONE, ip=f"10.66.1.{n + 1}").status_code == 200
        code = otp.last_code(PHONE)
        for _ in range(domain.OTP_MAX_ATTEMPTS):
            assert otp.login(PHONE, wrong_code(code), ip=f"10.66.1.{n + 1}").status_code == 401
        moment.advance(minutes=1)
    assert otp.request(PHONE, ip="10.66.1.99").status_code == 429  # no sixth code to guess
    assert otp.login(PHONE, code, ip="10.66.1.99").status_code == 401
    assert sum(OtpChallenge.objects.values_list("attempts", flat=True)) == 25
    moment.set(T0 + dt.timedelta(hours=1))  # a new hour: the owner signs in
    otp.request(PHONE, ip=OWNER_IP)
    assert otp.login(PHONE, otp.last_code(PHONE), ip=OWNER_IP).status_code == 200


def test_one_address_guessing_across_many_phones_is_stopped_after_fifty_guesses(otp, moment):
    phones = [f"1380013{n:04d}" for n in range(11)]
    for phone in phones:
        assert otp.request(phone, ip=OWNER_IP).status_code == 200
    for phone in phones[:10]:
        code = otp.last_code(phone)
        for _ in range(5):
            assert otp.login(phone, wrong_code(code), ip=STRANGER_IP).status_code == 401
    response = otp.login(phones[10], otp.last_code(phones[10]), ip=STRANGER_IP)
    assert response.status_code == 429  # even the right code: this address guessed enough
    assert _error_code(response) == "rate_limited"
    assert OtpChallenge.objects.get(phone=phones[10]).attempts == 0
    assert otp.login(phones[10], otp.last_code(phones[10]), ip=OWNER_IP).status_code == 200


def _via_proxy(otp, phone: str, client: str, *, proxy: str = "10.0.0.2"):
    return otp.post("/auth/otp", {"phone": phone}, ip=proxy, **{"X-Forwarded-For": client})


def test_two_clients_behind_a_trusted_proxy_are_limited_separately(otp, moment, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    limit = domain.OTP_SEND_PER_IP_HOUR[0]
    phones = [f"1390013{n:04d}" for n in range(limit + 2)]
    for phone in phones[:limit]:
        assert _via_proxy(otp, phone, "203.0.113.1").status_code == 200
    assert _via_proxy(otp, phones[limit], "203.0.113.1").status_code == 429
    assert _via_proxy(otp, phones[limit], "203.0.113.2").status_code == 200
    # A forged address left of the real one does not buy the first client a fresh count.
    forged = _via_proxy(otp, phones[limit + 1], "198.51.100.7, 203.0.113.1")
    assert forged.status_code == 429


def test_a_client_that_is_no_trusted_proxy_cannot_escape_its_limit_by_forging_the_header(
    otp, moment, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    limit = domain.OTP_SEND_PER_IP_HOUR[0]
    phones = [f"1390013{n:04d}" for n in range(limit + 1)]
    for n, phone in enumerate(phones[:limit]):
        assert _via_proxy(otp, phone, f"198.51.100.{n}", proxy="203.0.113.9").status_code == 200
    response = _via_proxy(otp, phones[limit], "198.51.100.99", proxy="203.0.113.9")
    assert response.status_code == 429


@pytest.mark.parametrize("phone", ["123", "1381234567", "010-12345678", "abc", "+1 415 555 0100"])
def test_a_malformed_phone_is_refused_with_invalid_msisdn_and_sends_nothing(otp, moment, phone):
    for response in (otp.request(phone), otp.login(phone, "123456")):
        assert response.status_code == 422
        assert _error_code(response) == "invalid_msisdn"
    assert otp.client.get("/api/v1/sandbox/sms", {"phone": phone}).status_code == 422
    assert SandboxSms.objects.count() == 0
    assert OtpChallenge.objects.count() == 0


def test_the_sandbox_outbox_is_hidden_outside_the_sandbox(otp, moment, settings):
    otp.request(PHONE)
    settings.SANDBOX = False
    response = otp.client.get("/api/v1/sandbox/sms", {"phone": PHONE})
    assert response.status_code == 404
    assert _error_code(response) == "not_found"
    assert PHONE not in response.content.decode()


def test_the_outbox_lists_only_the_phones_own_messages_newest_first(otp, moment):
    otp.request(PHONE)
    moment.advance(minutes=1)
    otp.request(PHONE)
    otp.request("13912345678")
    messages = otp.outbox(PHONE)
    assert len(messages) == 2
    assert {m["phone"] for m in messages} == {PHONE}
    assert messages[0]["sent_at"] > messages[1]["sent_at"]
