"""A Host that is not ours is refused at the edge with a named 400, never a 500, and no URL
haoka hands out is built on the Host a request named (issue "Hardening", item 8). The agents'
links and Nchf's Location: tests/distribution, tests/charging."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from haoka.core import links
from haoka.web.common import safe_next

pytestmark = pytest.mark.django_db
FOREIGN = ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "bad host"]


@pytest.mark.parametrize("host", FOREIGN)
@pytest.mark.parametrize("path", ["/api/v1/plans", "/api/v1/agents/me", "/api/v1/nowhere"])
def test_an_api_request_for_a_foreign_host_is_a_named_400(api_client, path, host):
    response = api_client.get(path, HTTP_HOST=host)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "invalid_host"


@pytest.mark.parametrize("host", FOREIGN)
def test_a_page_request_for_a_foreign_host_is_a_plain_400(client, host):
    for response in (client.get("/", HTTP_HOST=host), client.post("/login/", HTTP_HOST=host)):
        assert response.status_code == 400
        assert "Host" in response.content.decode()


def test_absolute_urls_are_on_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://haoka.example/"
    assert links.absolute_url("/s/AB12") == "https://haoka.example/s/AB12"
    assert (
        links.absolute_url("agent/apply?invite=X") == "https://haoka.example/agent/apply?invite=X"
    )


def test_a_next_url_is_followed_on_the_public_base_url_only(settings):
    settings.PUBLIC_BASE_URL = "https://haoka.example"
    request = RequestFactory().get("/login/", HTTP_HOST="localhost")
    assert safe_next(request, "/numbers/") == "/numbers/"
    assert safe_next(request, "http://localhost/numbers/") == ""  # allowed Host, not public
    assert safe_next(request, "https://haoka.example/numbers/") == "https://haoka.example/numbers/"
    assert safe_next(request, "https://evil.example/numbers/") == ""
