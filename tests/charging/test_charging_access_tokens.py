"""NRF-issued OAuth2 access tokens on Nchf (TS 29.510 Nnrf_AccessToken, TS 33.501 13.4.1):
the checks themselves without a database, then through the Nchf endpoints, trying to get in
with every kind of bad token; and the HTTP-level answers (401 WWW-Authenticate, 403
insufficient_scope, 405 Allow, TS 29.500 causes)."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from haoka.charging import accesstoken
from haoka.charging.accesstoken import TokenRefused, Trust
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)

NRF_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
CHF_ID = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
SMF_A = "11111111-2222-4333-8444-555555555555"
SMF_B = "66666666-7777-4888-9999-aaaaaaaaaaaa"
NOW = 1_778_385_600.0  # 2026-05-10 04:00 UTC, the charging tests' NOON
SCOPE = "nchf-convergedcharging"
NRF_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
TRUST = Trust(key=NRF_KEY.public_key(), issuer=NRF_ID, audiences=(CHF_ID, "CHF"))


def claims(**changes) -> dict:
    base = {"iss": NRF_ID, "sub": SMF_A, "aud": "CHF", "scope": SCOPE, "exp": int(NOW) + 600}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def token(key=NRF_KEY, algorithm="RS256", **changes) -> str:
    return jwt.encode(claims(**changes), key, algorithm=algorithm)


def refused(raw: str) -> TokenRefused:
    with pytest.raises(TokenRefused) as caught:
        accesstoken.verify(raw, trust=TRUST, now=NOW)
    return caught.value


def _public_pem(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# ---------------------------------------------------------------- the checks, no database


def test_a_token_the_nrf_signed_for_this_chf_names_its_consumer():
    assert accesstoken.verify(token(), trust=TRUST, now=NOW) == SMF_A
    assert accesstoken.verify(token(aud=[CHF_ID]), trust=TRUST, now=NOW) == SMF_A
    broad = token(scope=f"nudm-sdm {SCOPE} npcf-smpolicycontrol")
    assert accesstoken.verify(broad, trust=TRUST, now=NOW) == SMF_A


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("expired", lambda: token(exp=int(NOW))),
        ("long expired", lambda: token(exp=int(NOW) - 3600)),
        ("another CHF's", lambda: token(aud=["00000000-0000-4000-8000-000000000000"])),
        ("another NF type's", lambda: token(aud="UDM")),
        ("another issuer's", lambda: token(iss="00000000-0000-4000-8000-000000000001")),
        ("signed with another key", lambda: token(key=OTHER_KEY)),
        ("unsigned (alg none)", lambda: token(key=None, algorithm="none")),
        ("HMAC keyed with the public key", lambda: _hmac_with_public_key()),
        ("without exp", lambda: token(exp=None)),
        ("without sub", lambda: token(sub=None)),
        ("without aud", lambda: token(aud=None)),
        ("exp not a number", lambda: token(exp="tomorrow")),
        ("tampered", lambda: _tampered()),
        ("not a JWT at all", lambda: "a.b.c"),
    ],
)
def test_a_token_failing_any_check_is_invalid(name, raw):
    assert (refused(raw()).status, refused(raw()).error) == (401, "invalid_token"), name


def _hmac_with_public_key() -> str:
    # The classic confusion: an HS256 token whose secret is the (public) RSA key's PEM.
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(json.dumps(claims()).encode())
    import hmac  # noqa: PLC0415

    signing_input = header + b"." + payload
    mac = hmac.new(_public_pem(NRF_KEY), signing_input, "sha256").digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(mac)).decode()


def _tampered() -> str:
    header, _payload, signature = token().split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(sub=SMF_B)).encode()).decode()
    return f"{header}.{forged}.{signature}"


def test_a_good_token_without_the_charging_service_in_its_scope_is_insufficient():
    for scope in ("nudm-sdm", "nchf-spendinglimitcontrol", "nchf-convergedchargingx"):
        answer = refused(token(scope=scope))
        assert (answer.status, answer.error) == (403, "insufficient_scope")


def test_an_ec_key_is_trusted_for_es256_only():
    key = ec.generate_private_key(ec.SECP256R1())
    trust = Trust(key=key.public_key(), issuer=NRF_ID, audiences=(CHF_ID, "CHF"))
    assert accesstoken.verify(token(key=key, algorithm="ES256"), trust=trust, now=NOW) == SMF_A
    with pytest.raises(TokenRefused):
        accesstoken.verify(token(), trust=trust, now=NOW)  # RS256 against an EC key


def test_each_consumer_nf_gets_its_own_caller_id_never_an_api_tokens():
    a, b = accesstoken.caller_id(SMF_A), accesstoken.caller_id(SMF_B)
    assert a != b and a < 0 and b < 0 and a >= -(2**63)
    assert accesstoken.caller_id(SMF_A) == a  # stable across processes and restarts


# ---------------------------------------------------------------- through Nchf


@pytest.fixture
def nrf_trusted(settings, tmp_path):
    key_file = tmp_path / "nrf.pub"
    key_file.write_bytes(_public_pem(NRF_KEY))
    settings.NRF_PUBLIC_KEY = str(key_file)
    settings.NRF_INSTANCE_ID = NRF_ID
    settings.NF_INSTANCE_ID = CHF_ID


def _create(client, line, bearer: str, now: dt.datetime):
    body = request_body(line, seq=0, units=[data_unit(1003, request=MB)], at=now)
    return post(client, BASE, body, bearer)


@pytest.mark.django_db
def test_an_smf_charges_with_its_nrf_token_and_only_it_follows_up_its_session(
    client, catalog, now, nrf_trusted
):
    line = make_line(plan="CM-MANGO-39", balance_fen=1000, now=now)
    created = _create(client, line, token(), now)
    assert created.status_code == 201, created.content
    ref = created["Location"].rsplit("/", 1)[1]
    update = request_body(line, seq=1, units=[data_unit(1003, request=MB, used=MB)], at=now)
    other = post(client, f"{BASE}/{ref}/update", update, token(sub=SMF_B))
    assert other.status_code == 404  # another SMF's session does not exist for it
    api_token = post(client, f"{BASE}/{ref}/update", update, charging_token(now))
    assert api_token.status_code == 404  # nor for a haoka API token
    assert post(client, f"{BASE}/{ref}/update", update, token()).status_code == 200


@pytest.mark.django_db
def test_bad_nrf_tokens_get_401_with_the_bearer_challenge(client, catalog, now, nrf_trusted):
    line = make_line(plan="CM-MANGO-39", now=now)
    challenge = 'Bearer realm="nchf-convergedcharging", error="invalid_token"'
    for bad in (token(exp=int(NOW) - 1), token(aud=[SMF_B]), token(key=OTHER_KEY),
                token(key=None, algorithm="none")):  # fmt: skip
        answer = _create(client, line, bad, now)
        assert answer.status_code == 401 and answer["WWW-Authenticate"] == challenge
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == 401 and "cause" not in answer.json()
    scoped = _create(client, line, token(scope="nudm-sdm"), now)
    assert scoped.status_code == 403
    assert scoped["WWW-Authenticate"] == (
        'Bearer realm="nchf-convergedcharging", error="insufficient_scope", '
        'scope="nchf-convergedcharging"'
    )


@pytest.mark.django_db
def test_without_an_nrf_key_configured_an_nrf_token_is_just_an_unknown_token(
    client, catalog, now, settings
):
    settings.NRF_PUBLIC_KEY = ""
    line = make_line(plan="CM-MANGO-39", now=now)
    assert _create(client, line, token(), now).status_code == 401
    assert _create(client, line, charging_token(now), now).status_code == 201  # as before


@pytest.mark.django_db
def test_http_level_errors_carry_their_headers_and_ts_29500_causes(client, catalog, now):
    anonymous = client.post(BASE, data="{}", content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="nchf-convergedcharging"'
    bearer = {"Authorization": f"Bearer {charging_token(now)}"}
    for method in (client.get, client.put, client.delete):
        wrong = method(BASE, headers=bearer)
        assert wrong.status_code == 405 and wrong["Allow"] == "POST"
        assert wrong["Content-Type"] == "application/problem+json"
    unknown = client.post("/nchf-convergedcharging/v3/somethingelse", data="{}",
                          content_type="application/json", headers=bearer)  # fmt: skip
    assert unknown.status_code == 404
    assert unknown.json()["cause"] == "RESOURCE_URI_STRUCTURE_NOT_FOUND"
    garbled = client.post(BASE, data="{", content_type="application/json", headers=bearer)
    assert garbled.status_code == 400 and garbled.json()["cause"] == "INVALID_MSG_FORMAT"
