"""The carrier adapter interface: what haoka asks of a carrier (submit, query, activate; later
balance, top-up, usage), independent of how a given carrier's API looks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from haoka.core.errors import HaokaError


class CarrierUnavailable(HaokaError):
    code = "carrier_unavailable"
    status = 503
    message = "运营商系统暂时不可用，请稍后再试"


class CircuitOpen(CarrierUnavailable):
    code = "carrier_circuit_open"
    message = "运营商系统连续故障，暂停调用"


class CarrierRefused(HaokaError):
    """The carrier answered but refused the request (4xx with its own error code)."""

    code = "carrier_refused"
    status = 409
    message = "运营商拒绝了该请求"


@dataclass(frozen=True)
class SubmitRequest:
    carrier: str
    order_ref: str  # also the carrier's idempotency key
    plan_code: str
    msisdn: str
    customer_name: str
    customer_id_number: str
    shipping_address: dict
    callback_url: str


@dataclass(frozen=True)
class SubmitResult:
    carrier_order_id: str
    status: str


@dataclass(frozen=True)
class CarrierOrder:
    order_ref: str
    carrier_order_id: str
    status: str  # RECEIVED ACCEPTED REJECTED SHIPPED DELIVERED ACTIVATED
    reason: str = ""
    tracking_no: str = ""
    iccid: str = ""  # the card's full ICCID once allocated (the carrier tells its partner)
    imsi: str = ""
    events: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Activation:
    status: str
    activated_at: str


class CarrierAdapter(Protocol):
    def submit_order(self, request: SubmitRequest) -> SubmitResult: ...

    def query_order(self, *, carrier: str, order_ref: str) -> CarrierOrder | None: ...

    def activate(self, *, carrier: str, order_ref: str, iccid_last6: str) -> Activation: ...
