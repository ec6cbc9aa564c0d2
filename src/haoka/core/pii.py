"""Personal data: encrypted at rest (Fernet, keys from the environment), a keyed hash beside
it for exact-match lookups, and masking for screens. Never log the clear text."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute


class PiiKeyMissing(ImproperlyConfigured):
    pass


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise PiiKeyMissing("HAOKA_PII_KEYS is not set (make demo writes one into .env)")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _hash_key() -> bytes:
    key = settings.PII_HASH_KEY
    if not key:
        raise PiiKeyMissing("HAOKA_PII_HASH_KEY is not set (make demo writes one into .env)")
    return key.encode()


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.PII_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.PII_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered cipher text
        raise PiiKeyMissing("cannot decrypt personal data with the configured keys") from exc


def lookup_hash(value: str, *, purpose: str) -> str:
    """Keyed hash for equality lookups; ``purpose`` separates e.g. id numbers from names."""
    normalized = value.strip().upper()
    return hmac.new(_hash_key(), f"{purpose}:{normalized}".encode(), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode()


class _Sealed:
    """Cipher text as read, held on an instance until the attribute is first read."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<sealed>"


class DecryptOnRead(DeferredAttribute):
    """The attribute of an :class:`EncryptedTextField`: a value read sealed (see
    ``EncryptedTextField.sealed_from_db_value``) is decrypted when first read, and kept."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if type(value) is _Sealed:
            value = decrypt(value.token)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Stores Fernet cipher text; Python side sees clear text. Not queryable: pair it with a
    ``*_hash`` column filled by :func:`lookup_hash`.

    Instances built by ``haoka.core.rows`` hold the cipher text until the attribute is read
    (most reads of an order never look at its address or its contract); the ORM's own
    queries (``values()`` included) decrypt as they read."""

    descriptor_class = DecryptOnRead

    def from_db_value(self, value, expression, connection):
        # get_prep_value stores "" as "" (nothing to hide), so it must read back as "".
        return value if value is None or value == "" else decrypt(value)

    def sealed_from_db_value(self, value, expression, connection):
        """What rows.build converts with instead of :meth:`from_db_value`."""
        return value if value is None or value == "" else _Sealed(value)

    def pre_save(self, model_instance, add):
        held = model_instance.__dict__.get(self.attname)
        if type(held) is _Sealed:
            return held  # never read: written back as the same cipher text
        return super().pre_save(model_instance, add)

    def get_prep_value(self, value):
        if type(value) is _Sealed:
            return value.token  # never read, so unchanged
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def mask_id_number(value: str) -> str:
    """110101199003071234 -> 110***********1234 (first 3 and last 4 kept)."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧**娜; the first character (and the last of long names) kept."""
    if len(value) <= 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if len(value) != 11:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]
