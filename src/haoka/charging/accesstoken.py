"""OAuth2 access tokens the NRF issues to network functions (3GPP TS 29.510 Nnrf_AccessToken,
TS 33.501 13.4.1), checked by the CHF on every Nchf request that carries one.

A token is accepted when it is a JWT signed by the NRF's key (RS256 or ES256 as the key is;
``alg: none`` and HMAC never), issued by the NRF (``iss``), for this CHF (``aud``: our NF
instance id, or the NF type ``CHF``), not expired (``exp``, by haoka's clock), and names a
consumer (``sub``). Any failure is :class:`TokenRefused` 401 ``invalid_token``; a good token
whose ``scope`` lacks ``nchf-convergedcharging`` is 403 ``insufficient_scope`` (RFC 6750).

What to trust comes from settings: ``NRF_PUBLIC_KEY`` (a PEM file: the public key or
certificate of the NRF's signing key), ``NRF_INSTANCE_ID`` (the NRF's nfInstanceId, the
tokens' issuer) and ``NF_INSTANCE_ID`` (ours). Without a key no token of this kind is
accepted: haoka's own API tokens only, as before.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings

SERVICE = "nchf-convergedcharging"
NF_TYPE = "CHF"
REQUIRED = ("iss", "sub", "aud", "scope", "exp")


class TokenRefused(Exception):
    """A token that does not let its bearer in: ``status`` 401 (``error`` invalid_token) or 403
    (insufficient_scope), ``reason`` for the log and the problem's detail."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


@dataclass(frozen=True)
class Trust:
    """Whose tokens the CHF accepts: the NRF's public key and instance id, our audiences."""

    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    issuer: str
    audiences: tuple[str, ...]

    @property
    def algorithms(self) -> list[str]:
        return ["RS256"] if isinstance(self.key, rsa.RSAPublicKey) else ["ES256"]


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token is a JWT (``header.payload.signature``) rather than one of
    haoka's own API tokens (which hold no dot)."""
    return token.count(".") == 2


def verify(token: str, *, trust: Trust, now: float) -> str:
    """The consumer's NF instance id (``sub``) of an acceptable token.

    Raises TokenRefused (401 invalid_token, 403 insufficient_scope).
    """
    try:
        claims = jwt.decode(
            token, trust.key, algorithms=trust.algorithms, audience=list(trust.audiences),
            issuer=trust.issuer,
            options={"require": list(REQUIRED), "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )  # fmt: skip
    except jwt.InvalidTokenError as exc:
        raise TokenRefused(401, "invalid_token", type(exc).__name__) from None
    exp, subject, scope = claims["exp"], claims["sub"], claims["scope"]
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        raise TokenRefused(401, "invalid_token", "expired")
    if not isinstance(subject, str) or not subject or not isinstance(scope, str):
        raise TokenRefused(401, "invalid_token", "bad claims")
    if SERVICE not in scope.split():
        raise TokenRefused(403, "insufficient_scope", "scope")
    return subject


def caller_id(subject: str) -> int:
    """The caller id under which a consumer NF's charging sessions are kept: a negative
    integer derived from its NF instance id, so it never meets an API token's (positive) id
    and one SMF cannot touch another's sessions."""
    digest = hashlib.sha256(f"nrf:{subject}".encode()).digest()
    return -1 - (int.from_bytes(digest[:8], "big") >> 1)


def trust() -> Trust | None:
    """What settings say to trust; None when no NRF key is configured."""
    path = getattr(settings, "NRF_PUBLIC_KEY", "")
    if not path:
        return None
    audiences = (settings.NF_INSTANCE_ID, NF_TYPE)
    return Trust(key=_load_key(path), issuer=settings.NRF_INSTANCE_ID, audiences=audiences)


@functools.cache
def _load_key(path: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """The public key in a PEM file (a public key or an X.509 certificate)."""
    data = Path(path).read_bytes()
    if b"CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"{path}: the NRF's key must be RSA or EC")
    return key
