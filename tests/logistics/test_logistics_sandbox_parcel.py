"""The sandbox's parcel page asks the courier simulator for a parcel by its tracking number."""

from __future__ import annotations

import httpx
import pytest

from haoka.logistics import api as logistics_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def courier_paths(monkeypatch):
    """The paths haoka asks the courier for (the courier knows no parcel: 404)."""
    paths = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"error": "no such parcel"})

    real = logistics_api.SignedJsonClient
    monkeypatch.setattr(
        logistics_api,
        "SignedJsonClient",
        lambda **kw: real(**kw, transport=httpx.MockTransport(handle)),
    )
    return paths


def test_a_tracking_number_with_a_newline_is_refused_at_the_edge_not_a_server_error(
    client, courier_paths
):
    response = client.get("/api/v1/sandbox/parcels/zK%C3%9E3*%0A")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    assert courier_paths == []


def test_a_tracking_number_no_courier_writes_is_unknown_and_the_courier_is_not_asked(
    client, courier_paths
):
    response = client.get("/api/v1/sandbox/parcels/zK%C3%9E3*")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert courier_paths == []


def test_a_plain_tracking_number_is_asked_for_as_it_is(client, courier_paths):
    response = client.get("/api/v1/sandbox/parcels/SX100")
    assert response.status_code == 404
    assert courier_paths == ["/v1/parcels/SX100"]
