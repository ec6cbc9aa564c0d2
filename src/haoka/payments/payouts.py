"""Payouts to agents (commission withdrawals) through an outside payout provider, over HTTP.

The provider is like Alipay's 单笔转账 or WeChat's 企业付款; in sandbox and tests it is the
payment simulator's ``/v1/payouts`` (contract and sandbox rules in
:mod:`haoka.payments.simulator`). Settings: ``PAYOUT_URL`` (the provider's base URL, by default
the payment gateway's), ``PAYOUT_SECRET`` (by default the gateway's secret),
``PAYOUT_READ_TIMEOUT`` (seconds).

- :func:`send_payout` pays once per ``ref``: the provider answers a repeated ref with its first
  result and never pays twice, so retrying is safe. Timeouts, connection errors and 5xx
  answers are retried with exponential backoff and jitter. When an attempt may have reached
  the provider (anything but a refused connection) the next attempt first asks
  (``GET /v1/payouts/<ref>``) and only sends again when the provider does not know the ref.
- :func:`query_payout` asks what became of ``ref``; an unknown ref raises
  :class:`PayoutNotFound` (a named error rather than a fourth status, so a
  :class:`PayoutResult` always describes a payout that exists).
- A FAILED payout is an answer, not an error: it comes back as a result with its
  ``reason_code``. A 4xx is the provider's definitive refusal (:class:`PayoutRejected`);
  no answer after every attempt is :class:`PayoutUnavailable` (the outcome is unknown: ask
  again later with :func:`query_payout` or resend the same ref).

Every request is signed (``X-Haoka-Signature``, :mod:`haoka.core.signing`; GETs sign the empty
body). Payee data is never logged.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import structlog
from django.conf import settings

from haoka.core import signing
from haoka.core.errors import HaokaError, NotFound, ValidationError

log = structlog.get_logger("haoka.payments.payouts")

CHANNELS = frozenset({"ALIPAY", "BANK"})
STATUSES = frozenset({"SUCCEEDED", "FAILED", "PROCESSING"})
CONNECT_TIMEOUT_S = 2.0
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0


class PayoutUnavailable(HaokaError):
    """The provider could not be reached or did not answer usefully; the outcome is unknown."""

    code = "payout_unavailable"
    status = 503
    message = "付款渠道暂时不可用，请稍后再试"


class PayoutRejected(HaokaError):
    """The provider refused the request (a 4xx); details carry its error and HTTP status."""

    code = "payout_rejected"
    status = 502
    message = "付款渠道拒绝了请求"

    @property
    def provider_error(self) -> str:
        return str(self.details.get("provider_error", ""))


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    message = "付款渠道没有这笔付款"


class InvalidPayout(ValidationError):
    code = "invalid_payout"
    message = "付款信息有误"


@dataclass(frozen=True)
class PayoutResult:
    status: str  # "SUCCEEDED" | "FAILED" | "PROCESSING"
    provider_ref: str
    reason_code: str  # empty unless FAILED, e.g. "ACCOUNT_INVALID", "PROVIDER_DECLINED"
    reason: str


class _NoAnswer(Exception):
    """One request got no usable answer; ``maybe_sent`` when it may have reached the provider."""

    def __init__(self, problem: str, *, maybe_sent: bool) -> None:
        super().__init__(problem)
        self.problem, self.maybe_sent = problem, maybe_sent


class PayoutClient:
    """HTTP client of the payout provider. ``transport``, ``sleep`` and ``jitter`` are for
    tests (a fake provider, instant and deterministic backoff)."""

    def __init__(
        self,
        *,
        base_url: str,
        secret: str,
        read_timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base_s: float = BACKOFF_BASE_S,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.secret = secret
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self._sleep, self._jitter = sleep, jitter
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S),
        )

    def close(self) -> None:
        self._http.close()

    def send(
        self, *, ref: str, amount_fen: int, channel: str, payee_account: str, payee_name: str
    ) -> PayoutResult:
        """See :func:`send_payout`."""
        _check(
            ref=ref,
            amount_fen=amount_fen,
            channel=channel,
            payee_account=payee_account,
            payee_name=payee_name,
        )
        body = {
            "ref": ref, "amount_fen": amount_fen, "channel": channel,
            "payee_account": payee_account, "payee_name": payee_name,
        }  # fmt: skip
        maybe_sent, problem = False, ""
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self._sleep(self._backoff(attempt - 1))
            try:
                if maybe_sent:  # Why: ask before sending again, as providers require
                    found = self._lookup(ref)
                    if found is not None:
                        return found
                response = self._once("POST", "/v1/payouts", body)
            except _NoAnswer as exc:
                maybe_sent, problem = maybe_sent or exc.maybe_sent, exc.problem
                log.warning("payout_retry", ref=ref, attempt=attempt, problem=problem)
                continue
            return _result(_answer(response, ref=ref), ref=ref)
        raise PayoutUnavailable(ref=ref, attempts=self.max_attempts, last_problem=problem)

    def query(self, *, ref: str) -> PayoutResult:
        """See :func:`query_payout`."""
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self._sleep(self._backoff(attempt - 1))
            try:
                found = self._lookup(ref)
            except _NoAnswer as exc:
                problem = exc.problem
                log.warning("payout_query_retry", ref=ref, attempt=attempt, problem=problem)
                continue
            if found is None:
                raise PayoutNotFound(ref=ref)
            return found
        raise PayoutUnavailable(ref=ref, attempts=self.max_attempts, last_problem=problem)

    def _lookup(self, ref: str) -> PayoutResult | None:
        """One GET: the payout, or None when the provider does not know ``ref``.

        Raises _NoAnswer, PayoutRejected, PayoutUnavailable (an unreadable answer)."""
        response = self._once("GET", f"/v1/payouts/{quote(ref, safe='')}", None)
        if response.status_code == 404 and _error_of(response) == "unknown_payout":
            return None
        return _result(_answer(response, ref=ref), ref=ref)

    def _once(self, method: str, path: str, body: dict | None) -> httpx.Response:
        """One signed request; a response below 500. Raises _NoAnswer."""
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {signing.HEADER: signing.sign(secret=self.secret, body=raw)}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, path, content=raw, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _NoAnswer(f"connect: {type(exc).__name__}", maybe_sent=False) from None
        except httpx.TransportError as exc:  # timeouts included: the request may have arrived
            raise _NoAnswer(f"transport: {type(exc).__name__}", maybe_sent=True) from None
        if response.status_code >= 500:
            raise _NoAnswer(f"http {response.status_code}", maybe_sent=True)
        return response

    def _backoff(self, retry: int) -> float:
        """Exponential with 'equal jitter': half fixed, half random, capped."""
        step = min(BACKOFF_CAP_S, self.backoff_base_s * 2 ** (retry - 1))
        return step / 2 + step / 2 * self._jitter()


def _check(*, ref: str, amount_fen: int, channel: str, payee_account: str, payee_name: str) -> None:
    """Refuse what the provider would refuse anyway, before any request. Raises InvalidPayout."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidPayout("付款单号不能为空", field="ref")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidPayout("付款金额必须是正整数（分）", field="amount_fen")
    if channel not in CHANNELS:
        raise InvalidPayout("不支持的付款方式", field="channel", allowed=sorted(CHANNELS))
    if not isinstance(payee_account, str) or not payee_account.strip():
        raise InvalidPayout("收款账户不能为空", field="payee_account")
    if not isinstance(payee_name, str) or not 2 <= len(payee_name.strip()) <= 20:
        raise InvalidPayout("收款人姓名应为 2-20 个字", field="payee_name")


def _error_of(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _answer(response: httpx.Response, *, ref: str) -> dict:
    """The JSON object of a 2xx. Raises PayoutRejected (4xx), PayoutUnavailable (unreadable)."""
    if not response.is_success:
        error = _error_of(response)
        log.info("payout_rejected", ref=ref, status=response.status_code, error=error)
        raise PayoutRejected(provider_error=error, http_status=response.status_code, ref=ref)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PayoutUnavailable("付款渠道应答格式不正确", ref=ref, reason="bad_response")
    return data


def _result(data: dict, *, ref: str) -> PayoutResult:
    """A provider answer as a result; it must be about ``ref``. Raises PayoutUnavailable."""
    status = data.get("status")
    if data.get("ref") != ref or status not in STATUSES or not data.get("provider_ref"):
        raise PayoutUnavailable("付款渠道应答格式不正确", ref=ref, reason="bad_response")
    return PayoutResult(
        status=str(status),
        provider_ref=str(data["provider_ref"]),
        reason_code=str(data.get("reason_code") or ""),
        reason=str(data.get("reason") or ""),
    )


# ---------------------------------------------------------------- the configured provider

#: One client (one connection pool) per configuration; httpx clients are thread-safe.
_clients: dict[tuple[str, str, float], PayoutClient] = {}


def client() -> PayoutClient:
    """The client of the provider the settings name."""
    key = (settings.PAYOUT_URL, settings.PAYOUT_SECRET, float(settings.PAYOUT_READ_TIMEOUT))
    if key not in _clients:
        _clients[key] = PayoutClient(base_url=key[0], secret=key[1], read_timeout=key[2])
    return _clients[key]


def send_payout(
    *, ref: str, amount_fen: int, channel: str, payee_account: str, payee_name: str
) -> PayoutResult:
    """Pay ``amount_fen`` to the payee once per ``ref``; return the provider's answer (the first
    one, for a ref already sent). ``channel`` is "ALIPAY" or "BANK".

    Raises InvalidPayout (bad input, nothing sent), PayoutRejected (the provider refused the
    request: bad signature, invalid field, or the ref already used with other fields:
    ``provider_error`` "ref_conflict"), PayoutUnavailable (no answer: the outcome is unknown).
    """
    return client().send(
        ref=ref,
        amount_fen=amount_fen,
        channel=channel,
        payee_account=payee_account,
        payee_name=payee_name,
    )


def query_payout(*, ref: str) -> PayoutResult:
    """What became of the payout ``ref``.

    Raises PayoutNotFound (the provider does not know it: nothing was paid, sending it is
    safe), PayoutRejected, PayoutUnavailable."""
    return client().query(ref=ref)
