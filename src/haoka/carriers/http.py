"""The carrier adapter over HTTP (docs/integrations.md), with a circuit breaker per carrier."""

from __future__ import annotations

import threading

from django.conf import settings

from haoka.carriers.adapter import (
    Activation,
    CarrierOrder,
    CarrierRefused,
    CarrierUnavailable,
    CircuitOpen,
    SubmitRequest,
    SubmitResult,
)
from haoka.core.outbound import CircuitBreaker, SignedJsonClient, Unavailable, segment

_breakers: dict[str, CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(carrier: str) -> CircuitBreaker:
    with _lock:
        return _breakers.setdefault(carrier, CircuitBreaker(threshold=5, reset_after=15.0))


class HttpCarrierAdapter:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        secret: str | None = None,
        transport=None,
        attempts: int = 3,
    ) -> None:
        self.base_url = base_url or settings.CARRIER_API_URL
        self.secret = secret or settings.CARRIER_API_SECRET
        self.transport = transport
        self.attempts = attempts
        self._clients: dict[str, SignedJsonClient] = {}

    def _client(self, carrier: str) -> SignedJsonClient:
        if carrier not in self._clients:
            self._clients[carrier] = SignedJsonClient(
                name=f"carrier:{carrier}",
                base_url=self.base_url,
                secret=self.secret,
                read_timeout=settings.CARRIER_READ_TIMEOUT,
                attempts=self.attempts,
                breaker=breaker_for(carrier),
                transport=self.transport,
            )
        return self._clients[carrier]

    def _call(self, carrier: str, method: str, path: str, payload: dict | None = None):
        try:
            return self._client(carrier).call(method, path, payload=payload)
        except Unavailable as exc:
            err = CircuitOpen if exc.circuit_open else CarrierUnavailable
            raise err(carrier=carrier, reason=exc.reason) from None

    def submit_order(self, request: SubmitRequest) -> SubmitResult:
        """Idempotent at the carrier by order_ref, so retries are safe.
        Raises CarrierUnavailable, CircuitOpen, CarrierRefused."""
        reply = self._call(
            request.carrier,
            "POST",
            f"/v1/{segment(request.carrier)}/orders",
            {
                "order_id": request.order_ref,
                "plan_code": request.plan_code,
                "msisdn": request.msisdn,
                "customer": {
                    "name": request.customer_name,
                    "id_number": request.customer_id_number,
                },
                "shipping_address": request.shipping_address,
                "callback_url": request.callback_url,
            },
        )
        if reply.status not in (200, 201, 202):
            raise CarrierRefused(
                carrier=request.carrier, status=reply.status, error=reply.body.get("error", "")
            )
        return SubmitResult(
            carrier_order_id=str(reply.body.get("carrier_order_id", "")),
            status=str(reply.body.get("status", "RECEIVED")),
        )

    def query_order(self, *, carrier: str, order_ref: str) -> CarrierOrder | None:
        reply = self._call(carrier, "GET", f"/v1/{segment(carrier)}/orders/{segment(order_ref)}")
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise CarrierRefused(
                carrier=carrier, status=reply.status, error=reply.body.get("error", "")
            )
        b = reply.body
        return CarrierOrder(
            order_ref=order_ref,
            carrier_order_id=str(b.get("carrier_order_id", "")),
            status=str(b.get("status", "")),
            reason=str(b.get("reason", "") or ""),
            tracking_no=str(b.get("tracking_no", "") or ""),
            iccid=str(b.get("iccid", "") or ""),
            imsi=str(b.get("imsi", "") or ""),
            events=list(b.get("events", [])),
        )

    def activate(self, *, carrier: str, order_ref: str, iccid_last6: str) -> Activation:
        reply = self._call(
            carrier,
            "POST",
            f"/v1/{segment(carrier)}/orders/{segment(order_ref)}/activate",
            {"iccid_last6": iccid_last6},
        )
        if reply.status != 200:
            raise CarrierRefused(
                carrier=carrier, status=reply.status, error=reply.body.get("error", "")
            )
        return Activation(
            status=str(reply.body.get("status")),
            activated_at=str(reply.body.get("activated_at", "")),
        )


_default: HttpCarrierAdapter | None = None


def adapter() -> HttpCarrierAdapter:
    """The process-wide adapter (tests replace it with ``set_adapter``)."""
    global _default
    if _default is None:
        _default = HttpCarrierAdapter()
    return _default


def set_adapter(value) -> None:
    global _default
    _default = value
