"""Payout test helpers: the payment simulator as a real process (the simulator tests'
``simulator_process``), its control plane and stats, and a network that loses answers.

No database: payouts are an outside system's business until an operation records them.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.support.simulators import SECRET, free_port, get, post, simulator_process  # noqa: F401

#: Seconds the adapter waits for an answer in these tests; an injected timeout sleeps past it.
READ_TIMEOUT = 0.5
#: What every test starts from: almost no latency, no faults, no seed.
BASELINE = {
    "latency_ms": [0, 5], "failure_rate": 0, "timeout_rate": 0, "reject_rate": 0,
    "caller_timeout": 1.0, "seed": None,
}  # fmt: skip


def payee(**changes) -> dict:
    """The keyword arguments of one payout to a good Alipay account."""
    return {
        "amount_fen": 12_345, "channel": "ALIPAY", "payee_account": "agent001@example.com",
        "payee_name": "张三", **changes,
    }  # fmt: skip


@dataclass
class Provider:
    """The running simulator: configure it, read its stats, send it raw signed requests."""

    url: str

    def configure(self, **changes) -> None:
        """Back to BASELINE, then ``changes`` (which also reseeds the fault draws)."""
        response = httpx.post(f"{self.url}/_sim/config", json={**BASELINE, **changes})
        assert response.status_code == 200, response.text

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_sim/stats").json()

    def since(self, before: dict) -> dict:
        """How much each counter grew since ``before``."""
        now = self.stats()
        return {key: now[key] - before.get(key, 0) for key in now}

    def post(self, path: str, payload: dict | bytes, **kwargs) -> httpx.Response:
        with httpx.Client(base_url=self.url) as client:
            return post(client, path, payload, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        with httpx.Client(base_url=self.url) as client:
            return get(client, path, **kwargs)


class LosingAnswers(httpx.HTTPTransport):
    """The real network, except that the answers to the first ``lose`` POSTs are lost on the
    way back: the provider has acted, the caller sees a read timeout."""

    def __init__(self, *, lose: int) -> None:
        super().__init__()
        self.lose = lose
        self.methods: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        response = super().handle_request(request)
        if request.method == "POST" and self.lose > 0:
            self.lose -= 1
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def nothing_listening() -> str:
    """A base URL where no provider runs (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"
