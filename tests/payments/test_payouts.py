"""Payouts to agents against the real payment simulator process (``haoka.payments.payouts``
and the simulator's ``/v1/payouts``): paid once per ref, failures with their reasons, retries
through injected faults, and a named error when the provider cannot answer."""

from __future__ import annotations

import pytest

from haoka.payments import payouts
from tests.support.payouts import (
    READ_TIMEOUT,
    SECRET,
    LosingAnswers,
    Provider,
    nothing_listening,
    payee,
    simulator_process,
)


@pytest.fixture(scope="module")
def running_provider():
    """One simulator process for the module; every test uses its own refs."""
    with simulator_process("payment", "--secret", SECRET, "--latency-ms", "0,5") as url:
        yield Provider(url)


@pytest.fixture
def provider(running_provider, settings) -> Provider:
    """The simulator back at its baseline, and haoka configured to pay through it."""
    running_provider.configure()
    settings.PAYOUT_URL = running_provider.url
    settings.PAYOUT_SECRET = SECRET
    settings.PAYOUT_READ_TIMEOUT = READ_TIMEOUT
    return running_provider


def test_a_payout_to_a_good_account_succeeds_and_pays_once(provider):
    before = provider.stats()
    result = payouts.send_payout(ref="wd_ok_1", **payee())
    assert result.status == "SUCCEEDED"
    assert result.provider_ref.startswith("po_")
    assert (result.reason_code, result.reason) == ("", "")
    grew = provider.since(before)
    assert (grew["payouts"], grew["payouts_succeeded"], grew["payouts_paid_fen"]) == (1, 1, 12_345)


def test_sending_the_same_ref_again_returns_the_first_answer_and_pays_once(provider):
    before = provider.stats()
    first = payouts.send_payout(ref="wd_repeat_1", **payee())
    again = payouts.send_payout(ref="wd_repeat_1", **payee())
    assert again == first
    grew = provider.since(before)
    assert (grew["create_requests"], grew["repeats"], grew["created"]) == (2, 1, 1)
    assert grew["payouts_paid_fen"] == 12_345


def test_a_payee_account_ending_in_0000_fails_as_account_invalid_and_stays_failed(provider):
    before = provider.stats()
    result = payouts.send_payout(ref="wd_bad_account", **payee(payee_account="6222021230000"))
    assert (result.status, result.reason_code) == ("FAILED", "ACCOUNT_INVALID")
    assert result.reason
    assert payouts.send_payout(ref="wd_bad_account", **payee(payee_account="6222021230000")) == (
        result
    )
    grew = provider.since(before)
    assert (grew["payouts"], grew["payouts_succeeded"], grew["payouts_paid_fen"]) == (1, 0, 0)


def test_the_configured_payout_failure_rate_declines_with_provider_declined(provider):
    provider.configure(reject_rate=1)
    before = provider.stats()
    result = payouts.send_payout(ref="wd_declined", **payee(channel="BANK"))
    assert (result.status, result.reason_code) == ("FAILED", "PROVIDER_DECLINED")
    assert payouts.query_payout(ref="wd_declined") == result
    grew = provider.since(before)
    assert (grew["payouts"], grew["payouts_paid_fen"]) == (1, 0)


def test_a_request_signed_with_another_secret_is_refused_and_pays_nothing(provider, settings):
    settings.PAYOUT_SECRET = "not-the-shared-secret"
    before = provider.stats()
    with pytest.raises(payouts.PayoutRejected) as refused:
        payouts.send_payout(ref="wd_forged", **payee())
    assert refused.value.provider_error == "bad_signature"
    assert refused.value.details["http_status"] == 401
    grew = provider.since(before)
    assert (grew["bad_signatures"], grew["create_requests"], grew["payouts"]) == (1, 0, 0)


def test_the_same_ref_with_another_amount_is_refused_as_a_conflict_and_pays_once(provider):
    before = provider.stats()
    payouts.send_payout(ref="wd_conflict", **payee())
    with pytest.raises(payouts.PayoutRejected) as refused:
        payouts.send_payout(ref="wd_conflict", **payee(amount_fen=99_999))
    assert refused.value.provider_error == "ref_conflict"
    assert provider.since(before)["payouts_paid_fen"] == 12_345


def test_injected_5xx_and_timeouts_are_retried_and_every_payout_is_paid_exactly_once(provider):
    # Seeded: the fault draws follow the request order, so the run is the same every time.
    provider.configure(failure_rate=0.3, timeout_rate=0.2, seed=5)
    before = provider.stats()
    refs = [f"wd_faulty_{n}" for n in range(6)]
    results = [payouts.send_payout(ref=ref, **payee()) for ref in refs]
    assert [r.status for r in results] == ["SUCCEEDED"] * 6
    grew = provider.since(before)
    assert grew["failures_injected"] >= 1 and grew["timeouts_injected"] >= 1
    assert (grew["payouts"], grew["payouts_paid_fen"]) == (6, 6 * 12_345)
    provider.configure()
    assert [payouts.query_payout(ref=ref) for ref in refs] == results


def test_an_answer_lost_after_the_provider_paid_is_found_by_asking_not_by_paying_again(
    provider,
):
    network = LosingAnswers(lose=1)
    client = payouts.PayoutClient(base_url=provider.url, secret=SECRET, transport=network)
    before = provider.stats()
    result = client.send(ref="wd_lost_answer", **payee())
    assert result.status == "SUCCEEDED"
    assert network.methods == ["POST", "GET"]  # asked, found it paid, did not send again
    grew = provider.since(before)
    assert (grew["create_requests"], grew["payouts"], grew["payouts_paid_fen"]) == (1, 1, 12_345)
    assert payouts.query_payout(ref="wd_lost_answer") == result


def test_a_provider_that_is_down_raises_payout_unavailable(provider, settings):
    settings.PAYOUT_URL = nothing_listening()
    with pytest.raises(payouts.PayoutUnavailable) as unavailable:
        payouts.send_payout(ref="wd_down", **payee())
    assert unavailable.value.code == "payout_unavailable"
    assert unavailable.value.status == 503
    assert unavailable.value.details["attempts"] == payouts.MAX_ATTEMPTS
    with pytest.raises(payouts.PayoutUnavailable):
        payouts.query_payout(ref="wd_down")


def test_a_provider_that_never_answers_in_time_raises_payout_unavailable_and_pays_nothing(
    provider,
):
    provider.configure(failure_rate=0.5, timeout_rate=0.5)
    before = provider.stats()
    with pytest.raises(payouts.PayoutUnavailable):
        payouts.send_payout(ref="wd_never", **payee())
    grew = provider.since(before)
    assert grew["requests"] >= payouts.MAX_ATTEMPTS
    assert (grew["create_requests"], grew["payouts"]) == (0, 0)
    provider.configure()
    with pytest.raises(payouts.PayoutNotFound):
        payouts.query_payout(ref="wd_never")  # unknown: sending it again is safe


def test_query_returns_the_payout_and_an_unknown_ref_raises_payout_not_found(provider):
    sent = payouts.send_payout(ref="wd_query", **payee())
    assert payouts.query_payout(ref="wd_query") == sent
    with pytest.raises(payouts.PayoutNotFound) as missing:
        payouts.query_payout(ref="wd_never_sent")
    assert (missing.value.code, missing.value.status) == ("payout_not_found", 404)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"channel": "WECHAT"}, "channel"),
        ({"payee_name": "张"}, "payee_name"),
        ({"payee_name": "张" * 21}, "payee_name"),
        ({"payee_account": " "}, "payee_account"),
        ({"ref": ""}, "ref"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(provider, changes, field):
    before = provider.stats()
    arguments = {"ref": "wd_bad_input", **payee(), **changes}
    with pytest.raises(payouts.InvalidPayout) as invalid:
        payouts.send_payout(**arguments)
    assert invalid.value.details["field"] == field
    assert provider.since(before)["requests"] == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_fen": -1}, "amount_fen"),
        ({"amount_fen": "100"}, "amount_fen"),
        ({"channel": "WECHAT"}, "channel"),
        ({"payee_name": "张"}, "payee_name"),
        ({"payee_name": "张" * 21}, "payee_name"),
        ({"payee_account": "6222 0212"}, "payee_account"),
        ({"ref": "wd/../x"}, "ref"),
    ],
)
def test_the_provider_refuses_invalid_fields_and_creates_nothing(provider, changes, field):
    before = provider.stats()
    response = provider.post("/v1/payouts", {"ref": "wd_raw_invalid", **payee(), **changes})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "field": field}
    assert provider.since(before)["payouts"] == 0


def test_the_provider_answers_an_unsigned_query_with_bad_signature(provider):
    response = provider.get("/v1/payouts/wd_anything", secret="wrong")
    assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})
