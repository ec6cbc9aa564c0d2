"""The payment gateway: an outside system reached over HTTP (docs/integrations.md).

:class:`PaymentGateway` is what operations need; :class:`SandboxGatewayClient` speaks the
sandbox gateway's wire contract (the simulator in sandbox and tests). Every request is signed
(``X-Haoka-Signature`` over the raw body; GETs sign the empty body). Timeouts, connection
errors and 5xx answers are retried with exponential backoff and jitter: safe, because the
creating calls are idempotent at the gateway by ``merchant_order_id`` / ``refund_id`` and the
simulator fails *before* acting. A 4xx is the gateway's definitive answer (GatewayRejected);
anything whose outcome is unknown is GatewayUnavailable, so callers keep their state
resumable. This module checks only the gateway's answers' shape, nothing else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog
from django.conf import settings

from haoka.core import signing
from haoka.core.errors import HaokaError
from haoka.core.outbound import segment

log = structlog.get_logger("haoka.payments.gateway")

SANDBOX = "sandbox"
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 4.0


class GatewayUnavailable(HaokaError):
    """The gateway could not be reached or did not answer usefully; the outcome is unknown."""

    code = "payment_gateway_unavailable"
    status = 503
    message = "支付网关暂时不可用，请稍后再试"


class GatewayRejected(HaokaError):
    """The gateway refused the request (a 4xx); details carry its error and HTTP status."""

    code = "payment_gateway_rejected"
    status = 502
    message = "支付网关拒绝了请求"

    @property
    def gateway_error(self) -> str:
        return str(self.details.get("gateway_error", ""))


class UnknownGateway(HaokaError):
    code = "unknown_payment_gateway"
    status = 404
    message = "未知的支付网关"


@dataclass(frozen=True)
class GatewayPayment:
    payment_id: str
    merchant_order_id: str
    amount_fen: int
    status: str  # PENDING | PAID | CLOSED | REFUNDED | PARTIALLY_REFUNDED
    pay_url: str = ""
    paid_at: dt.datetime | None = None
    refunded_fen: int = 0


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    payment_id: str
    amount_fen: int
    status: str  # SUCCEEDED


class PaymentGateway(Protocol):
    name: str

    def create_payment(
        self,
        *,
        merchant_order_id: str,
        amount_fen: int,
        method: str,
        description: str,
        notify_url: str,
        return_url: str,
    ) -> GatewayPayment: ...

    def query_payment(self, *, payment_id: str) -> GatewayPayment: ...

    def close_payment(self, *, payment_id: str) -> None: ...

    def refund(
        self, *, refund_id: str, payment_id: str, amount_fen: int, reason: str
    ) -> GatewayRefund: ...


class SandboxGatewayClient:
    """HTTP client of the sandbox gateway. Pass ``transport`` (e.g. ``httpx.MockTransport``)
    to talk to a fake, ``sleep``/``jitter`` to make backoff instant and deterministic."""

    name = SANDBOX

    def __init__(
        self,
        *,
        base_url: str,
        secret: str,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base_s: float = BACKOFF_BASE_S,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    @classmethod
    def from_settings(cls, **kwargs: Any) -> SandboxGatewayClient:
        return cls(
            base_url=settings.PAYMENT_GATEWAY_URL, secret=settings.PAYMENT_GATEWAY_SECRET, **kwargs
        )

    def close(self) -> None:
        self._http.close()

    # ---------------------------------------------------------------- the contract

    def create_payment(
        self,
        *,
        merchant_order_id: str,
        amount_fen: int,
        method: str,
        description: str,
        notify_url: str,
        return_url: str,
    ) -> GatewayPayment:
        body = {
            "merchant_order_id": merchant_order_id,
            "amount_fen": amount_fen,
            "method": method.lower(),
            "description": description,
            "notify_url": notify_url,
            "return_url": return_url,
        }
        return _payment(self._call("POST", "/v1/payments", body))

    def query_payment(self, *, payment_id: str) -> GatewayPayment:
        return _payment(self._call("GET", f"/v1/payments/{segment(payment_id)}", None))

    def close_payment(self, *, payment_id: str) -> None:
        self._call("POST", f"/v1/payments/{segment(payment_id)}/close", {})

    def refund(
        self, *, refund_id: str, payment_id: str, amount_fen: int, reason: str
    ) -> GatewayRefund:
        body = {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "amount_fen": amount_fen,
            "reason": reason,
        }
        data = self._call("POST", "/v1/refunds", body)
        try:
            return GatewayRefund(
                refund_id=str(data["refund_id"]),
                payment_id=str(data["payment_id"]),
                amount_fen=_int(data["amount_fen"]),
                status=str(data["status"]),
            )
        except (KeyError, TypeError, ValueError):
            raise GatewayUnavailable("支付网关应答格式不正确", reason="bad_response") from None

    # ---------------------------------------------------------------- transport

    def _call(self, method: str, path: str, body: dict | None) -> dict:
        """Send with retries; return the JSON object of a 2xx.

        Raises GatewayRejected (4xx), GatewayUnavailable (attempts exhausted, or an answer
        that cannot be read)."""
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self._sleep(self._backoff(attempt - 1))
            headers = {signing.HEADER: signing.sign(secret=self.secret, body=raw)}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self._http.request(method, path, content=raw, headers=headers)
            except httpx.TimeoutException as exc:
                last = f"timeout: {type(exc).__name__}"
            except httpx.TransportError as exc:
                last = f"transport: {type(exc).__name__}"
            else:
                if response.status_code < 500:
                    return _answer(response, method=method, path=path)
                last = f"http {response.status_code}"
            log.warning("payment_gateway_retry", path=path, attempt=attempt, problem=last)
        raise GatewayUnavailable(path=path, attempts=self.max_attempts, last_problem=last)

    def _backoff(self, retry: int) -> float:
        """Exponential with 'equal jitter': half fixed, half random, capped."""
        step = min(BACKOFF_CAP_S, self.backoff_base_s * 2 ** (retry - 1))
        return step / 2 + step / 2 * self._jitter()


def _answer(response: httpx.Response, *, method: str, path: str) -> dict:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.is_success:
        if not isinstance(data, dict):
            raise GatewayUnavailable("支付网关应答格式不正确", path=path, reason="bad_response")
        return data
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):  # tolerate {"error": {"code": ...}} as well as {"error": "..."}
        error = error.get("code")
    log.info("payment_gateway_rejected", path=path, status=response.status_code, error=error)
    raise GatewayRejected(
        gateway_error=str(error or ""), http_status=response.status_code, path=path
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _payment(data: dict) -> GatewayPayment:
    try:
        return GatewayPayment(
            payment_id=str(data["payment_id"]),
            merchant_order_id=str(data.get("merchant_order_id") or ""),
            amount_fen=_int(data["amount_fen"]),
            status=str(data["status"]),
            pay_url=str(data.get("pay_url") or ""),
            paid_at=parse_datetime(data.get("paid_at")),
            refunded_fen=_int(data.get("refunded_fen") or 0),
        )
    except (KeyError, TypeError, ValueError):
        raise GatewayUnavailable("支付网关应答格式不正确", reason="bad_response") from None


def parse_datetime(value: object) -> dt.datetime | None:
    """ISO 8601 (a trailing Z accepted) or unix seconds; naive means UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------- which client operations use

_overrides: dict[str, PaymentGateway] = {}
#: One client (one connection pool) per configuration and thread. httpx clients are
#: thread-safe, but threads sharing one pool wait on its lock and on each other's
#: connections: measured on the checkout, a pool per thread took 3-4% off the web
#: process's CPU. A server's threads live as long as the process; a thread's clients go
#: with it.
_local = threading.local()
GATEWAYS = frozenset({SANDBOX})


def for_name(name: str) -> PaymentGateway:
    """The client of gateway ``name`` (an override installed by :func:`overridden` first).

    Raises UnknownGateway."""
    if name in _overrides:
        return _overrides[name]
    if name == SANDBOX:
        key = (settings.PAYMENT_GATEWAY_URL, settings.PAYMENT_GATEWAY_SECRET)
        clients = _local.__dict__.setdefault("clients", {})
        if key not in clients:
            clients[key] = SandboxGatewayClient.from_settings()
        return clients[key]
    raise UnknownGateway(gateway=name)


def secret_for(name: str) -> str:
    """The shared secret that signs this gateway's notifications. Raises UnknownGateway."""
    if name == SANDBOX:
        return settings.PAYMENT_GATEWAY_SECRET
    raise UnknownGateway(gateway=name)


@contextlib.contextmanager
def overridden(client: PaymentGateway, *, name: str = SANDBOX) -> Iterator[PaymentGateway]:
    """Make operations use ``client`` for gateway ``name`` (tests, scripted fakes)."""
    previous = _overrides.get(name)
    _overrides[name] = client
    try:
        yield client
    finally:
        if previous is None:
            _overrides.pop(name, None)
        else:
            _overrides[name] = previous
