"""Personal data: encrypted at rest, keyed hashes for lookups, masked on screens."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

from haoka.core import pii, rows
from haoka.core.pii import EncryptedTextField, PiiKeyMissing


def test_encrypt_then_decrypt_gives_the_clear_text_back():
    token = pii.encrypt("张三 110101199003071234")
    assert "张三" not in token
    assert "110101199003071234" not in token
    assert pii.decrypt(token) == "张三 110101199003071234"


def test_encrypting_twice_gives_different_cipher_texts():
    assert pii.encrypt("张三") != pii.encrypt("张三")


def test_cipher_text_from_another_key_is_refused(settings):
    token = pii.encrypt("张三")
    settings.PII_KEYS = [pii.generate_key()]
    with pytest.raises(PiiKeyMissing):
        pii.decrypt(token)


def test_an_old_key_still_decrypts_after_a_new_key_is_put_first(settings):
    token = pii.encrypt("张三")
    settings.PII_KEYS = [pii.generate_key(), *settings.PII_KEYS]
    assert pii.decrypt(token) == "张三"


def test_no_key_configured_is_a_clear_error(settings):
    settings.PII_KEYS = []
    with pytest.raises(PiiKeyMissing):
        pii.encrypt("张三")


def test_the_field_prepares_cipher_text_and_reads_clear_text():
    field = EncryptedTextField()
    stored = field.get_prep_value("张三")
    assert "张三" not in stored
    assert field.from_db_value(stored, None, connection) == "张三"


@pytest.mark.parametrize("value", [None, ""])
def test_the_field_passes_empty_values_through_both_ways(value):
    field = EncryptedTextField()
    assert field.get_prep_value(value) == value
    assert field.from_db_value(value, None, connection) == value


@pytest.fixture
def probe_model(db):
    """A model with an encrypted field and a plain one, on a table made for the test."""
    with isolate_apps("haoka.core"):

        class PiiProbe(models.Model):
            secret = EncryptedTextField(blank=True)
            note = models.TextField(blank=True)

            class Meta:
                app_label = "core"
                db_table = "test_pii_probe"
                managed = False

            def __str__(self) -> str:
                return f"probe {self.pk}"

        with connection.cursor() as cursor:
            # Plain SQL: DDL inside the test transaction works on both SQLite and PostgreSQL.
            cursor.execute(
                "CREATE TABLE test_pii_probe (id integer PRIMARY KEY, secret text NOT NULL, "
                "note text NOT NULL)"
            )
        yield PiiProbe


def test_the_clear_text_never_reaches_the_database_column(probe_model):
    probe_model.objects.create(id=1, secret="欧阳娜娜 110101199003071234")
    probe_model.objects.create(id=2, secret="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM test_pii_probe WHERE id = 1")
        (raw,) = cursor.fetchone()
    assert "欧阳娜娜" not in raw
    assert "110101199003071234" not in raw
    assert pii.decrypt(raw) == "欧阳娜娜 110101199003071234"
    assert probe_model.objects.get(id=1).secret == "欧阳娜娜 110101199003071234"
    assert probe_model.objects.get(id=2).secret == ""


def test_the_lookup_hash_is_stable():
    assert pii.lookup_hash("110101199003071234", purpose="id") == pii.lookup_hash(
        "110101199003071234", purpose="id"
    )
    assert len(pii.lookup_hash("x", purpose="id")) == 64


def test_the_lookup_hash_ignores_case_and_surrounding_whitespace():
    assert pii.lookup_hash(" 11010119900307123x\n", purpose="id") == pii.lookup_hash(
        "11010119900307123X", purpose="id"
    )


def test_the_lookup_hash_separates_purposes():
    assert pii.lookup_hash("张三", purpose="name") != pii.lookup_hash("张三", purpose="id")


def test_the_lookup_hash_differs_between_values():
    assert pii.lookup_hash("张三", purpose="name") != pii.lookup_hash("李四", purpose="name")


def test_the_lookup_hash_depends_on_the_secret_key(settings):
    before = pii.lookup_hash("110101199003071234", purpose="id")
    settings.PII_HASH_KEY = "another-key"
    assert pii.lookup_hash("110101199003071234", purpose="id") != before


def test_the_lookup_hash_is_not_a_plain_hash_of_the_value():
    value = "110101199003071234"
    plain = {hashlib.sha256(v.encode()).hexdigest() for v in (value, f"id:{value}")}
    assert pii.lookup_hash(value, purpose="id") not in plain


def test_a_missing_hash_key_is_a_clear_error(settings):
    settings.PII_HASH_KEY = ""
    with pytest.raises(PiiKeyMissing):
        pii.lookup_hash("x", purpose="id")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "110***********1234"),
        ("11010119900307123X", "110***********123X"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_id_numbers_are_masked_keeping_the_first_3_and_last_4(value, masked):
    assert pii.mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王小明", "王*明"), ("李", "*")],
)
def test_names_are_masked_keeping_the_first_and_for_long_names_the_last_character(value, masked):
    assert pii.mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("1381234", "*******")],
)
def test_phones_are_masked_in_the_middle(value, masked):
    assert pii.mask_phone(value) == masked


def test_instances_built_by_rows_decrypt_a_field_only_when_it_is_read(probe_model, monkeypatch):
    probe_model.objects.create(id=1, secret="110101199003071234", note="")
    probe_model.objects.create(id=2, secret="", note="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM test_pii_probe WHERE id = 1")
        (stored,) = cursor.fetchone()
    opened = []
    real_decrypt = pii.decrypt
    monkeypatch.setattr(pii, "decrypt", lambda token: opened.append(token) or real_decrypt(token))

    probe = rows.get(probe_model, "t.id = %s", [1])
    assert opened == [] and "110101199003071234" not in repr(vars(probe))
    # Written back untouched: the same cipher text, never decrypted.
    probe.note = "已核对"
    rows.update(probe, ["note", "secret"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, note FROM test_pii_probe WHERE id = 1")
        assert cursor.fetchone() == (stored, "已核对")
    assert opened == []
    # Read: decrypted once, then kept.
    assert probe.secret == "110101199003071234" and probe.secret == "110101199003071234"
    assert opened == [stored]
    # Changed and saved: encrypted anew.
    probe.secret = "110101199003071235"
    rows.update(probe, ["secret"])
    assert rows.get(probe_model, "t.id = %s", [1]).secret == "110101199003071235"
    assert rows.get(probe_model, "t.id = %s", [2]).secret == ""
    # The ORM's own reads decrypt as they read, values() included.
    assert probe_model.objects.values_list("secret", flat=True).get(id=1) == "110101199003071235"
