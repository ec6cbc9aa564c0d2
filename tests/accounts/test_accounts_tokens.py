"""Bearer tokens: session expiry and revocation, API tokens from the CLI, scope checks."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.urls import path
from ninja import NinjaAPI

from haoka import api as haoka_api
from haoka import cli
from haoka import urls as haoka_urls
from haoka.accounts import operations
from haoka.accounts.auth import StaffOrScope
from haoka.accounts.models import AuthToken, User
from haoka.core.models import AuditRecord
from tests.support.accounts import T0

PHONE = "13812345678"

# A test-only API: one endpoint guarded by StaffOrScope, with the real error mapping.
probe_api = NinjaAPI(urls_namespace="test-accounts-probe", docs_url=None)
for _exc, _handler in haoka_api.api._exception_handlers.items():
    probe_api.add_exception_handler(_exc, _handler)


@probe_api.get("/charging-only", auth=StaffOrScope("charging"))
def charging_only(request):
    return {"user_id": request.auth.pk}


urlpatterns = [path("api/v1/probe/", probe_api.urls), *haoka_urls.urlpatterns]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _api_token(*scopes: str, name: str = "svc", username: str | None = None) -> str:
    return operations.create_api_token(
        name=name, scopes=list(scopes), username=username, now=T0
    ).token


def test_a_session_token_works_until_just_before_thirty_days(otp, moment):
    token = otp.sign_in(PHONE)
    moment.set(T0 + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    assert otp.me(token).status_code == 200


def test_a_session_token_expires_after_thirty_days(otp, moment):
    token = otp.sign_in(PHONE)
    moment.set(T0 + dt.timedelta(days=30))
    response = otp.me(token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_token_is_refused(otp, moment):
    token = otp.sign_in(PHONE)
    moment.advance(minutes=1)
    second = otp.sign_in(PHONE)  # another session of the same user survives the revocation
    operations.revoke_token(token=token, now=moment.at)
    assert otp.me(token).status_code == 401
    assert otp.me(second).status_code == 200


def test_a_deactivated_users_token_is_refused(otp, moment):
    token = otp.sign_in(PHONE)
    User.objects.filter(phone=PHONE).update(is_active=False)
    assert otp.me(token).status_code == 401


def test_a_session_token_is_stored_only_as_its_sha256(otp, moment):
    token = otp.sign_in(PHONE)
    record = AuthToken.objects.get()
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert record.kind == "SESSION"
    assert token not in repr(list(AuthToken.objects.values()))


def test_the_cli_prints_a_new_api_token_once_and_stores_only_its_hash(db, capsys):
    assert cli.main(["tokens", "create", "--name", "x", "--scope", "charging"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("hk_")
    assert token not in captured.err
    record = AuthToken.objects.get()
    assert (record.kind, record.name, record.scopes) == ("API", "x", ["charging"])
    assert record.expires_at is None
    assert record.user.username == "svc-x"
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(list(AuthToken.objects.values()))
    assert token not in repr(list(AuditRecord.objects.values()))
    assert AuditRecord.objects.filter(action="token.created").count() == 1


def test_an_api_token_from_the_cli_authenticates(client, db, capsys):
    cli.main(["tokens", "create", "--name", "x", "--scope", "charging"])
    token = capsys.readouterr().out.strip()
    response = client.get("/api/v1/me", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == User.objects.get(username="svc-x").pk


def test_the_cli_refuses_an_unknown_scope_with_exit_code_2(db, capsys):
    assert cli.main(["tokens", "create", "--name", "x", "--scope", "root"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "未知的权限范围" in captured.err
    assert "root" in captured.err
    assert AuthToken.objects.count() == 0


def test_the_cli_refuses_a_token_for_an_unknown_user(db, capsys):
    assert (
        cli.main(["tokens", "create", "--name", "x", "--scope", "orders", "--user", "ghost"]) == 2
    )
    assert "用户不存在" in capsys.readouterr().err
    assert AuthToken.objects.count() == 0


@pytest.fixture
def probe(settings, client):
    settings.ROOT_URLCONF = __name__

    def get(token: str | None):
        headers = _bearer(token) if token else {}
        return client.get("/api/v1/probe/charging-only", headers=headers)

    return get


def test_a_token_with_the_scope_is_let_through(probe, db):
    token = _api_token("charging")
    response = probe(token)
    assert response.status_code == 200
    assert response.json() == {"user_id": User.objects.get(username="svc-svc").pk}


def test_a_token_with_another_scope_is_forbidden(probe, db):
    response = probe(_api_token("orders"))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "无权执行此操作",
        "details": {"required_scope": "charging"},
    }


def test_a_consumer_session_is_forbidden(probe, otp, moment):
    assert probe(otp.sign_in(PHONE)).status_code == 403


def test_a_staff_session_is_let_through(probe, otp, moment):
    token = otp.sign_in(PHONE)
    User.objects.filter(phone=PHONE).update(role="STAFF")
    assert probe(token).status_code == 200


def test_a_django_staff_user_is_let_through(probe, otp, moment):
    token = otp.sign_in(PHONE)
    User.objects.filter(phone=PHONE).update(is_staff=True)
    assert probe(token).status_code == 200


def test_a_staff_scoped_token_is_let_through(probe, db):
    assert probe(_api_token("staff", name="ops")).status_code == 200


def test_no_token_is_unauthenticated_not_forbidden(probe, db):
    response = probe(None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert probe("hk_bogus").status_code == 401
