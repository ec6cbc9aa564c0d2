"""Nchf's ``Location`` is on the public base URL, whatever Host the network function named or
left out, on the WSGI fast path and through Django alike (issue "Hardening", item 8)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from tests.support.charging import BASE, MB, charging_token, data_unit, make_line, request_body

pytestmark = pytest.mark.django_db
PLAN, VIDEO = "CM-MANGO-39", 1003


@pytest.fixture
def token(catalog, now):
    return charging_token(now)


def _create(client, token, now, **extra):
    body = request_body(
        make_line(plan=PLAN, now=now), seq=0, units=[data_unit(VIDEO, request=MB)], at=now
    )
    return client.post(
        BASE, data=json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {token}"}, **extra,
    )  # fmt: skip


def _on_the_public_base(response) -> None:
    assert response.status_code == 201, response.content
    location = response["Location"]
    assert location.startswith(f"{settings.PUBLIC_BASE_URL}{BASE}/"), location
    assert ":80/" not in location


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "localhost"])
def test_the_fast_path_puts_the_public_base_url_in_location_not_the_host(
    api_client, token, now, host
):
    _on_the_public_base(_create(api_client, token, now, HTTP_HOST=host))


def test_the_fast_path_without_a_host_header_adds_no_server_port(api_client, token, now):
    api_client.defaults.pop("HTTP_HOST")  # an HTTP/1.0 caller: SERVER_NAME and SERVER_PORT
    _on_the_public_base(_create(api_client, token, now))


def test_the_django_views_put_the_public_base_url_in_location_too(token, now):
    _on_the_public_base(_create(Client(), token, now, HTTP_HOST="localhost"))
