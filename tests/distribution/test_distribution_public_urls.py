"""An agent's shop link is on the public base URL whatever Host the request named; a Host that is
not ours is a named 400, never a 500 (issue "Hardening", item 8)."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from django.conf import settings
from PIL import Image

from tests.support.distribution import PLAN, make_agent, offer
from tests.support.distribution_api import as_agent, error_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/agents/me", "/agents/me/shop", "/agents/me/poster.png"])
def test_a_foreign_host_is_a_named_400_not_a_500(catalog, api_client, path):
    response = as_agent(api_client, make_agent()).get(path, host="evil.example")
    assert response.status_code == 400, response.content[:300]
    assert error_code(response) == "invalid_host"


def test_the_shop_link_is_on_the_public_base_url_not_on_the_host_asked(catalog, api_client):
    offer()
    agent = make_agent()
    caller = as_agent(api_client, agent)
    caller.put("/agents/me/shop", {"shop_name": "小王号卡店", "items": [{"plan_code": PLAN}]})
    expected = f"{settings.PUBLIC_BASE_URL}/s/{agent.code}"
    assert not expected.startswith("http://localhost")  # the Host below is allowed, not public
    me = caller.get("/agents/me", host="localhost")
    assert me.status_code == 200 and me.json()["shop_url"] == expected
    shop = caller.get("/agents/me/shop", host="localhost")
    assert shop.status_code == 200 and shop.json()["shop_url"] == expected
    poster = caller.get("/agents/me/poster.png", host="localhost")
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(poster.content)))
    assert code.text == expected
