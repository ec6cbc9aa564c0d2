"""The OpenAPI document lists the error answers of every operation, in the API's error shape,
so that a client (and schemathesis's status-code check) knows what to expect."""

from __future__ import annotations

import json

import jsonschema
import pytest
from schemathesis.openapi import from_dict as openapi_from_dict

from haoka.api import ERROR_SCHEMA, api

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return json.loads(json.dumps(api.get_openapi_schema()))  # as served: keys are strings


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def _error_ref(operation, status: int) -> str:
    response = operation["responses"][str(status)]
    return response["content"]["application/json"]["schema"]["$ref"]


def test_the_served_document_is_a_valid_openapi_3_schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    openapi_from_dict(document).validate()  # raises on an invalid document
    assert document["components"]["schemas"]["Error"] == ERROR_SCHEMA


def test_every_operation_with_auth_lists_401_and_403_and_names_the_bearer_scheme(schema):
    authenticated = [(m, p, op) for m, p, op in _operations(schema) if op.get("security")]
    assert len(authenticated) > 40
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for method, path, operation in authenticated:
        assert operation["security"] == [{"bearer": []}], (method, path)
        for status in (401, 403):
            assert _error_ref(operation, status) == "#/components/schemas/Error", (method, path)


def test_operations_with_path_parameters_or_a_body_to_write_list_404_and_reads_do_not(schema):
    for method, path, operation in _operations(schema):
        in_path = any(p["in"] == "path" for p in operation.get("parameters", []))
        if in_path or (method != "GET" and "requestBody" in operation):
            assert _error_ref(operation, 404) == "#/components/schemas/Error", (method, path)
        elif path != "/api/v1/sandbox/sms":  # 404 outside a sandbox
            assert "404" not in operation["responses"], (method, path)


def test_operations_taking_a_body_list_413_415_and_422_and_reads_without_input_do_not(schema):
    statuses = {
        (method, path): set(operation["responses"])
        for method, path, operation in _operations(schema)
    }
    assert {"413", "415", "422"} <= statuses[("POST", "/api/v1/orders")]
    assert {"413", "415", "422"} <= statuses[("PUT", "/api/v1/agents/me/shop")]
    assert statuses[("GET", "/api/v1/carriers")] == {"200", "400", "401", "414"}
    assert "422" not in statuses[("GET", "/api/v1/lines")]
    assert "413" not in statuses[("GET", "/api/v1/plans")]


def test_only_rate_limited_operations_list_429(schema):
    limited = {(m, p) for m, p, op in _operations(schema) if "429" in op["responses"]}
    assert limited == {
        ("POST", "/api/v1/auth/otp"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/lines/{msisdn}/sim-replacement"),
    }


def test_every_operation_lists_the_servers_own_414_without_a_body_schema(schema):
    for method, path, operation in _operations(schema):
        assert "content" not in operation["responses"]["414"], (method, path)


def test_the_3gpp_charging_api_is_not_in_the_document(schema):
    assert not [path for path in schema["paths"] if "nchf" in path]


def _validates_as_error(response):
    jsonschema.validate(response.json(), ERROR_SCHEMA)
    return response.json()["error"]["code"]


def test_real_401_404_and_422_answers_match_the_documented_error_schema(client):
    unauthenticated = client.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    assert _validates_as_error(unauthenticated) == "unauthenticated"

    bad_token = client.get("/api/v1/carriers", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    _validates_as_error(bad_token)

    missing = client.get("/api/v1/plans/NO-SUCH-PLAN")
    assert missing.status_code == 404
    _validates_as_error(missing)

    invalid = client.post("/api/v1/auth/otp", data="{}", content_type="application/json")
    assert invalid.status_code == 422
    assert _validates_as_error(invalid) == "validation_error"


def test_the_error_schema_refuses_a_body_outside_the_shape():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": "Not Found"}, ERROR_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"error": {"code": "x", "message": "y"}}, ERROR_SCHEMA)
