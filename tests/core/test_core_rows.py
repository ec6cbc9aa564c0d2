"""haoka.core.rows: written-out statements that behave as the ORM's would, on a cursor the
thread's connection keeps."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from haoka.accounts.models import User
from haoka.core import rows

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
