"""Values that go into an outbound URL's path cannot break it or change what it asks for
(issue "Hardening", item 7): the sandbox parcel proxy refuses what cannot be a tracking number
(control characters used to make httpx raise InvalidURL: a 500), and the carrier and payment
adapters percent-encode every path segment they fill in."""

from __future__ import annotations

import httpx
import pytest

from haoka.carriers.http import HttpCarrierAdapter
from haoka.core import outbound
from haoka.core.outbound import Reply
from haoka.logistics import api as logistics_api
from haoka.payments.gateway import SandboxGatewayClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def courier(monkeypatch):
    """The courier as the sandbox proxy sees it: the paths it was asked for."""
    asked: list[str] = []

    class Courier:
        def __init__(self, **kwargs):
            pass

        def call(self, method, path, **kwargs):
            asked.append(path)
            return Reply(status=200, body={"tracking_no": path.rsplit("/", 1)[1]})

    monkeypatch.setattr(logistics_api, "SignedJsonClient", Courier)
    return asked


@pytest.mark.parametrize("raw", ["SX1%0A2", "SX1%092", "SX1%0D%0AX-Evil:%201", "SX%001"])
def test_a_tracking_number_with_control_characters_is_a_4xx_not_a_500(api_client, courier, raw):
    response = api_client.get(f"/api/v1/sandbox/parcels/{raw}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_characters"
    assert courier == []


@pytest.mark.parametrize("raw", ["SX1%3Fx=1", "SX1%23frag", "SX%201", "..", "%2E%2E", "SX-1.2"])
def test_what_cannot_be_a_tracking_number_is_not_found_and_nobody_is_asked(
    api_client, courier, raw
):
    response = api_client.get(f"/api/v1/sandbox/parcels/{raw}")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert courier == []


def test_a_tracking_number_is_asked_of_the_courier_as_it_is(api_client, courier):
    response = api_client.get("/api/v1/sandbox/parcels/SX000000000042")
    assert response.status_code == 200 and response.json() == {"tracking_no": "SX000000000042"}
    assert courier == ["/v1/parcels/SX000000000042"]


# ---------------------------------------------------------------- the adapters


def _recorder(answer: dict):
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return seen, httpx.MockTransport(handle)


ODD = "HK1/../x?y=1#z\n"


def test_the_carrier_adapter_encodes_the_order_ref_and_carrier_it_puts_in_a_path():
    seen, transport = _recorder({"status": "ACCEPTED", "activated_at": ""})
    adapter = HttpCarrierAdapter(base_url="http://carrier.test", secret="s", transport=transport)
    adapter.query_order(carrier="CM/CC", order_ref=ODD)
    adapter.activate(carrier="CMCC", order_ref=ODD, iccid_last6="123456")
    assert [r.url.raw_path for r in seen] == [
        b"/v1/CM%2FCC/orders/HK1%2F..%2Fx%3Fy%3D1%23z%0A",
        b"/v1/CMCC/orders/HK1%2F..%2Fx%3Fy%3D1%23z%0A/activate",
    ]


def test_the_payment_gateway_client_encodes_the_payment_id_it_puts_in_a_path():
    payment = {"payment_id": "p", "merchant_order_id": "m", "amount_fen": 1, "status": "PENDING"}
    seen, transport = _recorder(payment)
    client = SandboxGatewayClient(base_url="http://gateway.test", secret="s", transport=transport)
    assert client.query_payment(payment_id=ODD).status == "PENDING"
    client.close_payment(payment_id="..")
    assert [r.url.raw_path for r in seen] == [
        b"/v1/payments/HK1%2F..%2Fx%3Fy%3D1%23z%0A",
        b"/v1/payments/%2E%2E/close",
    ]


def test_a_path_segment_is_encoded_whole():
    assert outbound.segment("SX0001") == "SX0001"
    assert outbound.segment("a b/c?d#e%f") == "a%20b%2Fc%3Fd%23e%25f"
    assert outbound.segment(".") == "%2E" and outbound.segment("..") == "%2E%2E"
    assert outbound.segment("号") == "%E5%8F%B7"
