"""haoka.core.rows: written-out statements that behave as the ORM's would, on a cursor the
thread's connection keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, IntegrityError, connection, models, transaction
from django.db.models import signals
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext, isolate_apps

from haoka.accounts.models import AuthToken, User
from haoka.core import rows

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _user(name: str) -> User:
    return rows.insert(User(username=name, phone="13800000000", password="!"))


def test_statements_share_one_kept_cursor_on_the_connection():
    _user("a")
    kept = connection._haoka_cursor[1]
    assert rows.get(User, "t.username = %s", ["a"]).username == "a"
    assert rows.count(User, "t.username = %s", ["a"]) == 1
    assert connection._haoka_cursor[1] is kept


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_cursor():
    if getattr(connection, "is_in_memory_db", lambda: False)():
        pytest.skip("an in-memory SQLite database keeps its one connection open")
    _user("f")
    old = connection._haoka_cursor
    connection.close()
    assert rows.count(User, "t.username = %s", ["f"]) == 1  # on a new connection
    assert connection._haoka_cursor[0] is connection.connection
    assert connection._haoka_cursor[1] is not old[1]


def test_a_database_error_on_the_kept_cursor_comes_out_as_djangos():
    _user("same")
    with pytest.raises(IntegrityError), transaction.atomic():
        _user("same")
    # the cursor is still good after the rollback
    assert rows.count(User, "t.username = %s", ["same"]) == 1


def test_a_statement_in_a_broken_transaction_is_refused_as_the_orm_refuses_it():
    _user("b")
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            _user("b")  # no savepoint to go back to: the transaction is now broken
        with pytest.raises(TransactionManagementError):
            rows.count(User, "1 = 1")
        transaction.set_rollback(True)


def test_recorded_statements_are_all_seen_while_someone_records():
    with CaptureQueriesContext(connection) as seen:
        _user("c")
        rows.get(User, "t.username = %s", ["c"])
        rows.change(User, "first_name = %s", "username = %s", ["丙", "c"])
    assert len(seen.captured_queries) == 3
    assert rows.get(User, "t.username = %s", ["c"]).first_name == "丙"


def test_insert_new_reports_an_existing_row_as_none_without_an_error():
    first = rows.insert_new(User(username="d", phone="13800000000", password="!"),
                            conflict=("username",))  # fmt: skip
    again = rows.insert_new(User(username="d", phone="13900000000", password="!"),
                            conflict=("username",))  # fmt: skip
    assert first is not None and first.pk and again is None
    assert rows.get(User, "t.username = %s", ["d"]).phone == "13800000000"


def test_among_with_no_values_matches_nothing():
    _user("e")
    assert rows.count(User, rows.among("t.username", 0), []) == 0
    assert rows.count(User, rows.among("t.username", 2), ["e", "zz"]) == 1


def _state_of(instance) -> dict:
    fields = type(instance)._meta.concrete_fields
    return {
        "values": {f.attname: getattr(instance, f.attname) for f in fields},
        "adding": instance._state.adding,
        "db": instance._state.db,
    }


def test_an_instance_built_from_a_row_is_the_one_the_orm_builds():
    user = _user("g")
    token = rows.insert(
        AuthToken(user=user, kind="session", token_hash="h" * 64, prefix="p", created_at=T0)
    )
    built = rows.get(AuthToken, "t.id = %s", [token.pk], related="user")
    loaded = AuthToken.objects.select_related("user").get(pk=token.pk)
    assert type(built) is AuthToken
    assert _state_of(built) == _state_of(loaded)
    assert _state_of(built.user) == _state_of(loaded.user)
    assert built == loaded and hash(built) == hash(loaded)
    built.name = "改过"
    built.save(update_fields=["name"])  # the ORM takes it as its own
    assert AuthToken.objects.get(pk=token.pk).name == "改过"


def test_a_model_that_does_more_on_init_is_built_through_from_db():
    assert rows._plain(User)

    def receiver(**kwargs):
        pass

    signals.post_init.connect(receiver, sender=User)
    try:
        assert not rows._plain(User)
    finally:
        signals.post_init.disconnect(receiver, sender=User)
    with isolate_apps("haoka.core"):

        class Counted(models.Model):
            class Meta:
                app_label = "core"

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.counted = True

            def __str__(self) -> str:
                return "counted"

        assert not rows._plain(Counted)


def _token(user: User, token_hash: str) -> AuthToken:
    return AuthToken(user=user, kind="session", token_hash=token_hash, prefix="p", created_at=T0)


def test_a_change_and_its_records_go_in_one_statement_on_postgresql():
    user = _user("h")
    user.first_name = "改"
    with CaptureQueriesContext(connection) as seen:
        rows.update_and_insert(
            user, ["first_name"], [_token(user, "a" * 64), _token(user, "b" * 64)]
        )
    assert len(seen.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert User.objects.get(pk=user.pk).first_name == "改"
    assert sorted(AuthToken.objects.filter(user=user).values_list("token_hash", flat=True)) == [
        "a" * 64,
        "b" * 64,
    ]


def test_a_change_whose_record_fails_is_not_kept():
    user = _user("i")
    rows.insert(_token(user, "c" * 64))
    user.first_name = "不该留下"
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update_and_insert(user, ["first_name"], [_token(user, "c" * 64)])
    assert User.objects.get(pk=user.pk).first_name == ""
    assert AuthToken.objects.filter(user=user).count() == 1


def test_a_change_without_records_is_a_plain_update():
    user = _user("j")
    user.first_name = "只改"
    with CaptureQueriesContext(connection) as seen:
        rows.update_and_insert(user, ["first_name"], [])
    assert len(seen.captured_queries) == 1
    assert User.objects.get(pk=user.pk).first_name == "只改"


def test_a_new_row_and_its_records_go_in_one_statement_on_postgresql():
    user = User(username="k", phone="13800000000", password="!")
    tokens = [_token(None, "d" * 64), _token(None, "e" * 64)]
    with CaptureQueriesContext(connection) as seen:
        rows.insert_with(user, tokens, link="user")
    assert len(seen.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert user.pk and not user._state.adding
    assert [t.user_id for t in tokens] == [user.pk, user.pk]
    stored = AuthToken.objects.filter(user=user).order_by("token_hash")
    assert [(t.token_hash, t.created_at, t.scopes) for t in stored] == [
        ("d" * 64, T0, []),
        ("e" * 64, T0, []),
    ]


def test_a_row_replaced_on_conflict_takes_its_records_and_keeps_its_key():
    first = _user("l")
    again = User(username="l", phone="13900000000", password="!")
    rows.insert_with(
        again, [_token(None, "f" * 64)], link="user", conflict=("username",), update=["phone"]
    )
    assert again.pk == first.pk
    assert User.objects.get(pk=first.pk).phone == "13900000000"
    assert AuthToken.objects.get(token_hash="f" * 64).user_id == first.pk


def test_a_record_too_long_for_its_column_is_refused_not_cut():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    user = User(username="m", phone="13800000000", password="!")
    with pytest.raises(DataError), transaction.atomic():
        rows.insert_with(user, [_token(None, "g" * 65)], link="user")
    assert not User.objects.filter(username="m").exists()


def test_a_connection_shared_between_threads_keeps_no_cursor():
    # a test's live server shares an in-memory SQLite connection with the test's thread:
    # one kept cursor used by both at once would fail ("Recursive use of cursors")
    _user("n")
    connection.inc_thread_sharing()
    try:
        with rows.cursor() as first:
            pass
        with rows.cursor() as second:
            pass
        assert first is not second
        assert rows.count(User, "t.username = %s", ["n"]) == 1
    finally:
        connection.dec_thread_sharing()
