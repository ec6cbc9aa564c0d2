"""The bearer-token cache on PostgreSQL: served from memory, forgotten when the database says
a token or its user changed (by whatever means, from whichever process), and never trusted
while nobody is listening."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.accounts import domain, operations, tokencache
from haoka.accounts.models import User
from haoka.core.errors import Unauthenticated
from tests.support.accounts import T0
from tests.support.tokencache import elsewhere, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("token_cache")]
cache = tokencache.cache


def _session(phone: str) -> tuple[User, str]:
    user = User.objects.create(username=phone, phone=phone)
    return user, operations._issue_session(user=user, now=T0).token


def _cached(token: str) -> None:
    """Authenticate until the token is kept: the first request records its use (a change,
    announced like any other, so that row is not kept); one after the announcement is heard
    is kept, and then no request sends SQL for it."""

    def kept() -> bool:
        with CaptureQueriesContext(connection) as sent:
            user, record = operations.authenticate_token(token=token, now=T0)
        assert record.user_id == user.pk
        return not sent.captured_queries

    until(kept, "the token being kept")
    for _ in range(3):
        assert kept(), "a kept token was read from the database again"


def _refused(token: str) -> bool:
    try:
        operations.authenticate_token(token=token, now=T0)
    except Unauthenticated:
        return True
    return False


def test_a_token_once_read_is_answered_from_memory_as_a_fresh_instance_each_time():
    user, token = _session("13900000001")
    _cached(token)
    first, _ = operations.authenticate_token(token=token, now=T0)
    first.first_name = "改过"  # one request changing its instance...
    second, _ = operations.authenticate_token(token=token, now=T0)
    assert second.first_name == ""  # ...does not change the next request's
    assert second.pk == user.pk and second is not first


def test_a_token_revoked_from_another_connection_is_refused_once_the_commit_is_heard():
    _, token = _session("13900000002")
    _cached(token)
    heard = cache.heard
    elsewhere(
        "UPDATE accounts_authtoken SET revoked_at = now() WHERE token_hash = %s",
        [tokencache_hash(token)],
    )
    until(lambda: cache.heard > heard, "the revocation's notification")
    assert _refused(token)


def test_logging_out_through_the_operation_refuses_the_token():
    _, token = _session("13900000003")
    _cached(token)
    heard = cache.heard
    operations.revoke_token(token=token, now=T0)
    until(lambda: cache.heard > heard, "the revocation's notification")
    assert _refused(token)


def test_deactivating_a_user_refuses_all_of_their_kept_tokens():
    user, token = _session("13900000004")
    other = operations._issue_session(user=user, now=T0).token
    _cached(token)
    _cached(other)
    heard = cache.heard
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal: the trigger tells
    until(lambda: cache.heard > heard, "the user's notification")
    assert _refused(token) and _refused(other)


def test_a_change_to_another_users_token_leaves_this_one_kept():
    _, mine = _session("13900000005")
    _, theirs = _session("13900000006")
    _cached(mine)
    heard = cache.heard
    operations.revoke_token(token=theirs, now=T0)
    until(lambda: cache.heard > heard, "the other revocation's notification")
    with CaptureQueriesContext(connection) as sent:
        operations.authenticate_token(token=mine, now=T0)
    assert sent.captured_queries == []


def test_while_the_listener_is_down_every_request_reads_the_database():
    _, token = _session("13900000007")
    _cached(token)
    elsewhere(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'haoka-token-cache'"
    )
    until(lambda: not cache.live(), "the cache noticing its listener is gone", seconds=5)
    # Revoked while nobody listens: the database is asked, so the token is refused at once.
    elsewhere(
        "UPDATE accounts_authtoken SET revoked_at = now() WHERE token_hash = %s",
        [tokencache_hash(token)],
    )
    assert _refused(token)
    # The listener comes back with nothing kept from before.
    until(cache.live, "the listener reconnecting")
    assert _refused(token)


def test_a_row_read_while_a_change_was_heard_is_not_kept():
    _, token = _session("13900000008")
    digest = tokencache_hash(token)
    generation = cache.generation()
    cache.drop("token:someone-else")  # a notification arrives while the row is being read
    cache.keep(digest, user_id=1, row=("stale",), generation=generation)
    assert cache.lookup(digest) is None
    cache.keep(digest, user_id=1, row=("fresh",), generation=cache.generation())
    assert cache.lookup(digest) == ("fresh",)


def test_rows_holding_mutable_values_are_not_kept():
    generation = cache.generation()
    cache.keep("abc", user_id=1, row=(1, ["scope"]), generation=generation)
    assert cache.lookup("abc") is None


def tokencache_hash(token: str) -> str:
    return domain.token_hash(token)
