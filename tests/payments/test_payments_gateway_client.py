"""The gateway client over httpx.MockTransport: signing, retries, backoff, named errors."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from haoka.core import signing
from haoka.payments import gateway as gw
from tests.support.payments import SECRET, FakeGateway

CREATE = {
    "merchant_order_id": "ord_A_1",
    "amount_fen": 9_900,
    "method": "WECHAT",
    "description": "号卡订单 A",
    "notify_url": "http://haoka.test/api/v1/callbacks/payments/sandbox",
    "return_url": "http://haoka.test/orders/A/",
}


@pytest.fixture
def fake():
    return FakeGateway()


@pytest.fixture
def slept():
    return []


@pytest.fixture
def client(fake, slept):
    return fake.client(sleep=slept.append, jitter=lambda: 0.5)


def test_every_request_is_signed_over_its_raw_body_and_a_get_over_the_empty_body(fake, client):
    created = client.create_payment(**CREATE)
    client.query_payment(payment_id=created.payment_id)
    post, get = fake.seen
    for request in (post, get):
        signing.verify(secret=SECRET, body=request.content, header=request.headers[signing.HEADER])
    assert get.content == b""
    assert post.headers["content-type"] == "application/json"


def test_the_method_goes_to_the_gateway_in_lower_case(fake, client):
    client.create_payment(**CREATE)
    assert fake.payments[fake.by_merchant_order["ord_A_1"]].method == "wechat"


def test_create_returns_the_pending_payment_with_its_pay_url(client):
    created = client.create_payment(**CREATE)
    assert created.status == "PENDING"
    assert created.amount_fen == 9_900
    assert created.pay_url.endswith(f"/pay/{created.payment_id}")


def test_timeouts_are_connect_two_seconds_and_read_ten(client):
    timeout = client._http.timeout
    assert (timeout.connect, timeout.read) == (2.0, 10.0)


def test_a_503_is_retried_and_then_succeeds(fake, client, slept):
    fake.faults.extend(["503", "503"])
    created = client.create_payment(**CREATE)
    assert created.status == "PENDING"
    assert len(fake.seen) == 3
    assert len(slept) == 2


def test_timeouts_and_connection_errors_are_retried_and_then_succeed(fake, client):
    fake.faults.extend(["timeout", "connect", "500"])
    created = client.create_payment(**CREATE)
    assert created.merchant_order_id == "ord_A_1"
    assert len(fake.seen) == 4
    assert fake.calls["POST /v1/payments"] == 1  # only the request that got in did anything


def test_after_four_failed_attempts_the_client_gives_up_as_unavailable(fake, client, slept):
    fake.faults.extend(["503", "timeout", "503", "connect", "503"])
    with pytest.raises(gw.GatewayUnavailable) as info:
        client.create_payment(**CREATE)
    assert info.value.code == "payment_gateway_unavailable"
    assert info.value.status == 503
    assert len(fake.seen) == 4
    assert fake.faults == type(fake.faults)(["503"])  # the fifth was never tried
    assert len(slept) == 3


def test_backoff_doubles_with_jitter_between_half_and_the_whole_step(fake, slept):
    fake.faults.extend(["503"] * 4)
    low = fake.client(sleep=slept.append, jitter=lambda: 0.0, backoff_base_s=1.0)
    with pytest.raises(gw.GatewayUnavailable):
        low.create_payment(**CREATE)
    fake.faults.extend(["503"] * 4)
    high = fake.client(sleep=slept.append, jitter=lambda: 1.0, backoff_base_s=1.0)
    with pytest.raises(gw.GatewayUnavailable):
        high.create_payment(**CREATE)
    assert slept == [0.5, 1.0, 2.0, 1.0, 2.0, 4.0]


def test_a_repeated_create_returns_the_first_payment_and_creates_nothing_new(fake, client):
    first = client.create_payment(**CREATE)
    again = client.create_payment(**CREATE)
    assert again.payment_id == first.payment_id
    assert len(fake.payments) == 1


def test_a_4xx_is_a_definitive_rejection_that_is_not_retried(fake, client):
    with pytest.raises(gw.GatewayRejected) as info:
        client.query_payment(payment_id="nope")
    assert info.value.gateway_error == "unknown_payment"
    assert info.value.details["http_status"] == 404
    assert len(fake.seen) == 1


def test_a_wrong_secret_is_rejected_as_bad_signature(fake):
    client = fake.client()
    client.secret = "not-the-secret"
    with pytest.raises(gw.GatewayRejected) as info:
        client.create_payment(**CREATE)
    assert info.value.gateway_error == "bad_signature"
    assert info.value.details["http_status"] == 401


def test_a_success_answer_that_is_not_json_is_an_unknown_outcome():
    client = gw.SandboxGatewayClient(
        base_url="http://gateway.test",
        secret=SECRET,
        transport=httpx.MockTransport(lambda request: httpx.Response(201, text="<html>")),
        sleep=lambda s: None,
    )
    with pytest.raises(gw.GatewayUnavailable):
        client.create_payment(**CREATE)


def test_query_reads_paid_at_and_refunded_fen(fake, client):
    created = client.create_payment(**CREATE)
    fake.pay("ord_A_1")
    client.refund(refund_id="rf_1_1", payment_id=created.payment_id, amount_fen=900, reason="x")
    seen = client.query_payment(payment_id=created.payment_id)
    assert seen.status == "PARTIALLY_REFUNDED"
    assert seen.refunded_fen == 900
    assert seen.paid_at == dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def test_a_repeated_refund_is_refunded_once(fake, client):
    created = client.create_payment(**CREATE)
    fake.pay("ord_A_1")
    for _ in range(2):
        done = client.refund(
            refund_id="rf_1_1", payment_id=created.payment_id, amount_fen=9_900, reason="x"
        )
        assert done.status == "SUCCEEDED"
    assert fake.payments[created.payment_id].refunded_fen == 9_900


def test_closing_a_paid_payment_is_rejected_with_already_paid(fake, client):
    created = client.create_payment(**CREATE)
    fake.pay("ord_A_1")
    with pytest.raises(gw.GatewayRejected) as info:
        client.close_payment(payment_id=created.payment_id)
    assert info.value.gateway_error == "already_paid"


def test_an_unknown_gateway_name_is_refused():
    with pytest.raises(gw.UnknownGateway):
        gw.for_name("paypal")


def test_each_thread_gets_its_own_client_of_the_sandbox_gateway_and_keeps_it():
    mine = gw.for_name(gw.SANDBOX)
    assert gw.for_name(gw.SANDBOX) is mine
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs = pool.submit(gw.for_name, gw.SANDBOX).result()
        again = pool.submit(gw.for_name, gw.SANDBOX).result()
    assert theirs is again and theirs is not mine
    assert isinstance(theirs, gw.SandboxGatewayClient)
