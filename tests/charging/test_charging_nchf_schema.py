"""Requests shaped like TS 32.291's examples (a PDU session's initial, update and release; an
IMS voice call), and every answer checked against a JSON Schema written from the spec's types."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from tests.support import nchf_spec
from tests.support.charging import BASE, MB, charging_token, make_line, post

pytestmark = pytest.mark.django_db
HERE = Path(__file__).parent / "nchf_fixtures"
SCHEMAS = json.loads((HERE / "schemas.json").read_text(encoding="utf-8"))
CHECKER = jsonschema.FormatChecker()


@CHECKER.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 date-time: ISO 8601 with a zone ("Z" or an offset)."""
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(value)
    return dt.datetime.fromisoformat(value).tzinfo is not None


def _check(body: dict, kind: str) -> None:
    """Against haoka's stricter schema (only what it answers), then 3GPP's own."""
    schema = {**SCHEMAS, "$ref": f"#/$defs/{kind}"}
    jsonschema.Draft202012Validator(schema, format_checker=CHECKER).validate(body)
    nchf_spec.check(
        body, kind, spec=nchf_spec.COMMON if kind == "ProblemDetails" else nchf_spec.NCHF
    )


def _fixture(name: str, line) -> dict:
    text = (HERE / name).read_text(encoding="utf-8")
    body = json.loads(text.replace("{imsi}", line.imsi).replace("{msisdn}", line.msisdn))
    nchf_spec.check(body, "ChargingDataRequest")  # the examples are what the spec allows
    return body


def test_a_pdu_session_shaped_like_the_spec_examples_gets_answers_that_fit_the_schema(
    client, catalog, now
):
    token = charging_token(now)
    line = make_line(plan="CM-MANGO-39", balance_fen=100, now=now)
    created = post(client, BASE, _fixture("initial.json", line), token)
    assert created.status_code == 201, created.content
    _check(created.json(), "ChargingDataResponse")
    infos = {i["ratingGroup"]: i for i in created.json()["multipleUnitInformation"]}
    assert infos[1003]["grantedUnit"] == {"totalVolume": 10 * MB}  # the default quota
    assert infos[1011]["grantedUnit"] == {"totalVolume": 50 * MB}  # zero-rated 芒果TV
    ref = created["Location"].rsplit("/", 1)[1]
    updated = post(client, f"{BASE}/{ref}/update", _fixture("update.json", line), token)
    assert updated.status_code == 200, updated.content
    _check(updated.json(), "ChargingDataResponse")
    released = post(client, f"{BASE}/{ref}/release", _fixture("release.json", line), token)
    assert released.status_code == 204


def test_a_voice_call_is_granted_in_seconds(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan="CM-MANGO-39", now=now)
    created = post(client, BASE, _fixture("voice_initial.json", line), token)
    body = created.json()
    _check(body, "ChargingDataResponse")
    assert body["multipleUnitInformation"][0]["grantedUnit"] == {"time": 600}
    assert body["multipleUnitInformation"][0]["timeQuotaThreshold"] == 120


def test_the_schema_check_itself_refuses_what_the_spec_does_not_allow():
    with pytest.raises(jsonschema.ValidationError):
        _check({"invocationTimeStamp": "yesterday", "invocationSequenceNumber": 1},
               "ChargingDataResponse")  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        _check({"invocationTimeStamp": "2026-05-10T04:00:00Z", "invocationSequenceNumber": 1,
                "multipleUnitInformation": [{"ratingGroup": 1, "grantedUnit": {"bytes": 1}}]},
               "ChargingDataResponse")  # fmt: skip


def test_errors_are_problem_details_that_fit_the_schema(client, catalog, now):
    token = charging_token(now)
    line = make_line(plan="CM-MANGO-39", now=now)
    bad = _fixture("initial.json", line)
    bad["multipleUnitUsage"][0]["ratingGroup"] = "video"
    for response in (
        post(client, BASE, bad, token),
        post(client, BASE, {**_fixture("initial.json", line), "subscriberIdentifier": "imsi-1"},
             token),
        post(client, f"{BASE}/nosuchref/update", _fixture("update.json", line), token),
        post(client, BASE, _fixture("initial.json", line), "not-a-token"),
    ):  # fmt: skip
        assert response.status_code >= 400
        assert response["Content-Type"] == "application/problem+json"
        _check(response.json(), "ProblemDetails")
