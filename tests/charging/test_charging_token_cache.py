"""On PostgreSQL with the token cache on: a network function's token is answered from memory,
and a revocation from anywhere stops it as soon as the database announces it (no TTL)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.accounts import domain as account_domain
from haoka.accounts import tokencache
from haoka.charging import nchf_api
from tests.support.charging import BASE, charging_token, data_unit, make_line, request_body
from tests.support.tokencache import elsewhere, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("token_cache")]
PLAN, VIDEO, MB = "CM-MANGO-39", 1003, 1024 * 1024


@pytest.fixture(autouse=True)
def forgetting():
    nchf_api.forget_tokens()
    yield
    nchf_api.forget_tokens()


def test_a_charging_token_revoked_elsewhere_stops_charging_once_the_commit_is_heard(catalog, now):
    token = charging_token(now)
    line = make_line(plan=PLAN, now=now)

    def charge():
        """Through the framework-free handler that haoka.wsgi sends these paths to."""
        body = request_body(line, seq=0, units=[data_unit(VIDEO, request=MB)], at=now)
        return nchf_api.handle(
            method="POST", path=BASE, authorization=f"Bearer {token}",
            body=json.dumps(body).encode(), base_url="http://haoka.test",
        )  # fmt: skip

    # The first requests read the token (and record its first use); then it is remembered.
    until(lambda: charge().status == 201 and nchf_api._tokens, "the token being kept")
    with CaptureQueriesContext(connection) as sent:
        assert charge().status == 201
    assert not [q for q in sent.captured_queries if "accounts_authtoken" in q["sql"]]

    heard = tokencache.cache.heard
    elsewhere(
        "UPDATE accounts_authtoken SET revoked_at = now() WHERE token_hash = %s",
        [account_domain.token_hash(token)],
    )
    until(lambda: tokencache.cache.heard > heard, "the revocation's notification")
    refused = charge()
    assert refused.status == 401 and dict(refused.headers)["WWW-Authenticate"].startswith("Bearer")
