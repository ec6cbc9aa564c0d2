"""No POST keeps a secret for replay: every endpoint whose answer holds a field that looks like
a secret is marked ``idempotency.never_replayed`` (or is listed here, with the reason its field
is no secret). A new endpoint that answers a token or a code cannot forget the mark silently."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django.apps import apps as django_apps

from haoka.api import api
from haoka.core.models import IdempotencyRecord

#: A field whose name says it may be a secret.
SECRET_NAME = re.compile(
    r"(^|_)(token|secret|password|passcode|passwd|otp|pin|puk|key|code)($|_)", re.IGNORECASE
)
#: Field names of public identifiers (plans, packs, courses, agents' invitation codes).
PUBLIC_NAMES = frozenset(
    {"plan_code", "pending_plan_code", "pack_code", "course_code", "agent_code", "parent_code"}
    # GB/T 2260 division codes of an address (the public 省/市/区 table, GET /divisions)
    | {"province_code", "city_code", "district_code"}
)
#: (operation, field) pairs judged not to need the mark, and why.
NOT_SECRETS = {
    # An agent's public invitation code (it goes into shop links).
    ("staff_decide_agent", "code"): "public agent code",
    ("staff_freeze_agent", "code"): "public agent code",
    # Why a usage record was rejected (usage_out_of_window, ...): an error code.
    ("post_usage_records", "code"): "a rejection's error code",
    # The benefit redeem code is kept in clear by charging and listed to its owner by
    # GET /lines/{msisdn}/packs; a replay (to its own signed-in caller) is what keeps a
    # retried purchase from paying twice.
    ("buy_pack", "redeem_code"): "kept in clear and listed to the owner anyway",
    # A coupon (or membership) code bought with points: kept on the redemption and answered
    # again to its own caller for the same key (the points are spent once, the code is theirs).
    ("redeem_points", "coupon_code"): "kept on the redemption; a replay answers its owner",
    # When a family invitation's SMS code stops working: a time, never the code itself.
    **{
        (op, "code_expires_at"): "the invitation code's expiry time, not the code"
        for op in ("create_family", "invite_member", "accept_invite", "leave_family")
    },
}


def _field_names(schema) -> set[str]:
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= _field_names(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= _field_names(value)
    return names


def _posts():
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if "POST" in operation.methods:
                    yield path, operation


def _answer_fields(operation) -> set[str]:
    names: set[str] = set()
    for model in (operation.response_models or {}).values():
        if hasattr(model, "model_json_schema"):
            names |= _field_names(model.model_json_schema())
    return names


def test_every_post_answering_something_like_a_secret_is_never_replayed():
    unmarked = []
    for path, operation in _posts():
        if getattr(operation.view_func, "never_replayed", False):
            continue
        name = operation.view_func.__name__
        for field in sorted(_answer_fields(operation)):
            looks_secret = SECRET_NAME.search(field) and field not in PUBLIC_NAMES
            if looks_secret and (name, field) not in NOT_SECRETS:
                unmarked.append(f"POST {path} ({name}) answers {field!r}")
    assert not unmarked, (
        "mark these idempotency.never_replayed, or list the field in NOT_SECRETS with why it "
        "is no secret:\n" + "\n".join(unmarked)
    )


def test_the_sign_in_token_and_the_porting_code_are_never_replayed():
    marked = {
        operation.view_func.__name__
        for _path, operation in _posts()
        if getattr(operation.view_func, "never_replayed", False)
    }
    assert {"login", "porting_code"} <= marked


def test_the_list_of_exceptions_names_only_real_answers():
    answered = {
        (operation.view_func.__name__, field)
        for _path, operation in _posts()
        for field in _answer_fields(operation)
    }
    assert set(NOT_SECRETS) <= answered


@pytest.mark.django_db
def test_the_migration_forgets_the_kept_logins_and_porting_codes_and_nothing_else():
    migration = importlib.import_module("haoka.core.migrations.0004_forget_replayed_secrets")
    for n, path in enumerate(
        ("/api/v1/auth/login", "/api/v1/lines/13300000000/porting-code", "/api/v1/auth/otp")
    ):
        IdempotencyRecord.objects.create(
            scope="anon:127.0.0.1",
            key=f"k-{n}",
            method="POST",
            path=path,
            request_hash="h",
            status_code=200,
            response_body=b'{"token": "hk_secret"}',
            created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )
    migration.forget(django_apps, None)
    assert list(IdempotencyRecord.objects.values_list("path", flat=True)) == ["/api/v1/auth/otp"]
