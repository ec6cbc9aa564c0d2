"""Security details of the order flow that need no running stack (the end-to-end security
tests are in tests/e2e/test_e2e_security.py): callback signatures that are not even ASCII are
refused, and a crash while handling personal data does not write it into the log."""

from __future__ import annotations

import json
import logging
import time

import pytest
import structlog

from haoka.accounts import operations as account_operations
from haoka.accounts.models import Role, User
from haoka.core import clock, signing
from haoka.orders import operations

ID_NUMBER = "44030519900101003X"
NAME = "欧阳明月"


@pytest.mark.parametrize("digest", ["é", "ａｂｃ", "\u0000"])
def test_a_signature_with_non_ascii_characters_is_refused_not_a_crash(digest):
    header = f"t={int(time.time())},v1={digest}"
    with pytest.raises(signing.SignatureError) as refused:
        signing.verify(secret="s", body=b"{}", header=header)
    assert refused.value.reason == "mismatch"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["carriers/CMCC", "payments/sandbox", "couriers/simexpress"])
def test_every_callback_answers_a_non_ascii_signature_with_401(client, kind):
    response = client.post(
        f"/api/v1/callbacks/{kind}",
        data=b"{}",
        content_type="application/json",
        headers={signing.HEADER: f"t={int(time.time())},v1=é"},
    )
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "bad_signature"


def _as_logged(records: list[logging.LogRecord]) -> str:
    """The records as the deployment's log handler writes them (settings.LOGGING's formatter,
    ``core.logs``), tracebacks included."""
    formatter = next(
        h.formatter
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    )
    return "\n".join(formatter.format(record) for record in records)


@pytest.mark.django_db
def test_a_crash_while_handling_a_real_name_check_logs_neither_the_name_nor_the_id(
    client, monkeypatch, caplog
):
    """Tracebacks in the log carry no local variables: the request body (name, ID number) is
    one of them in the API view's frame."""

    def crash(**kwargs):
        raise RuntimeError("verifier exploded")

    monkeypatch.setattr(operations, "submit_kyc", crash)
    user = User.objects.create(phone="13900000001", username="13900000001", role=Role.CONSUMER)
    token = account_operations._issue_session(user=user, now=clock.now()).token
    response = client.post(
        "/api/v1/orders/HK2222222222222222/kyc",
        data=json.dumps({"name": NAME, "id_number": ID_NUMBER}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 500
    text = _as_logged(caplog.records)
    assert "unexpected_error" in text and "verifier exploded" in text  # it was logged
    assert ID_NUMBER not in text
    assert NAME not in text and json.dumps(NAME)[1:-1] not in text
