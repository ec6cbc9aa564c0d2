"""Payment test helpers: an in-memory gateway behind ``httpx.MockTransport`` (the wire contract
of docs/integrations.md, with scripted faults), signed notification delivery, ledger reads."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

import httpx

from haoka.core import ledger, signing
from haoka.core.models import LedgerTransaction
from haoka.payments import gateway as gw
from haoka.payments import operations
from haoka.payments.models import Payment, PaymentEvent

T0 = dt.datetime(2026, 3, 1, 2, 0, 0, tzinfo=dt.UTC)
SECRET = "sandbox-secret"  # settings.PAYMENT_GATEWAY_SECRET in the test settings
CALLBACK = "/api/v1/callbacks/payments/sandbox"
ASSET = "asset:gateway:sandbox"
PREPAYMENTS = "liability:customer_prepayments"

_ids = itertools.count(1)


@dataclass
class FakePayment:
    payment_id: str
    merchant_order_id: str
    amount_fen: int
    method: str
    notify_url: str
    status: str = "PENDING"
    paid_at: str | None = None
    refunded_fen: int = 0

    def view(self) -> dict:
        return {
            "payment_id": self.payment_id,
            "merchant_order_id": self.merchant_order_id,
            "amount_fen": self.amount_fen,
            "method": self.method,
            "status": self.status,
            "paid_at": self.paid_at,
            "refunded_fen": self.refunded_fen,
            "pay_url": f"http://gateway.test/pay/{self.payment_id}",
        }


@dataclass
class FakeGateway:
    """The sandbox gateway's contract, in memory. ``faults`` is a queue of what the next
    requests meet before anything is done: "503", "500", "timeout", "connect"."""

    secret: str = SECRET
    faults: deque = field(default_factory=deque)
    payments: dict[str, FakePayment] = field(default_factory=dict)
    by_merchant_order: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)  # "POST /v1/refunds" -> requests that got in
    seen: list[httpx.Request] = field(default_factory=list)
    outbox: list[dict] = field(default_factory=list)  # notifications the gateway would send
    close_already_paid: bool = False  # a payer paying at the very moment haoka closes
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request at a time

    def client(self, **kwargs) -> gw.SandboxGatewayClient:
        kwargs.setdefault("sleep", lambda s: None)
        return gw.SandboxGatewayClient(
            base_url="http://gateway.test",
            secret=self.secret,
            transport=httpx.MockTransport(self),
            **kwargs,
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            return self._serve(request)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.faults:
            fault = self.faults.popleft()
            if fault == "timeout":
                raise httpx.ReadTimeout("injected", request=request)
            if fault == "connect":
                raise httpx.ConnectError("injected", request=request)
            return httpx.Response(int(fault), json={"error": "injected_failure"})
        try:
            signing.verify(
                secret=self.secret,
                body=request.content,
                header=request.headers.get(signing.HEADER),
            )
        except signing.SignatureError:
            return httpx.Response(401, json={"error": "bad_signature"})
        route = f"{request.method} {_route(request.url.path)}"
        self.calls[route] += 1
        body = json.loads(request.content) if request.content else {}
        return self._handle(route, request.url.path, body)

    def _handle(self, route: str, path: str, body: dict) -> httpx.Response:
        if route == "POST /v1/payments":
            return self._create(body)
        payment_id = path.split("/")[3] if route != "POST /v1/refunds" else body["payment_id"]
        payment = self.payments.get(payment_id)
        if payment is None:
            return httpx.Response(404, json={"error": "unknown_payment"})
        if route == "GET /v1/payments/{id}":
            return httpx.Response(200, json=payment.view())
        if route == "POST /v1/payments/{id}/close":
            if payment.status == "PENDING" and not self.close_already_paid:
                payment.status = "CLOSED"
                self._notify("payment.closed", payment)
            elif payment.status != "CLOSED":
                if self.close_already_paid:
                    self.pay(payment.merchant_order_id)
                return httpx.Response(409, json={"error": "already_paid"})
            return httpx.Response(200, json=payment.view())
        return self._refund(payment, body)

    def _create(self, body: dict) -> httpx.Response:
        known = self.by_merchant_order.get(body["merchant_order_id"])
        if known is None:
            known = f"gwpay_{next(_ids)}"
            self.payments[known] = FakePayment(
                payment_id=known,
                merchant_order_id=body["merchant_order_id"],
                amount_fen=body["amount_fen"],
                method=body["method"],
                notify_url=body["notify_url"],
            )
            self.by_merchant_order[body["merchant_order_id"]] = known
        view = self.payments[known].view()
        return httpx.Response(201, json={**view, "status": "PENDING"})

    def _refund(self, payment: FakePayment, body: dict) -> httpx.Response:
        if body["refund_id"] in self.refunds:
            return httpx.Response(201, json=self.refunds[body["refund_id"]])
        if payment.paid_at is None:
            return httpx.Response(409, json={"error": "not_paid"})
        if payment.refunded_fen + body["amount_fen"] > payment.amount_fen:
            return httpx.Response(409, json={"error": "refund_exceeds_payment"})
        payment.refunded_fen += body["amount_fen"]
        full = payment.refunded_fen == payment.amount_fen
        payment.status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
        result = {
            "refund_id": body["refund_id"],
            "payment_id": payment.payment_id,
            "amount_fen": body["amount_fen"],
            "status": "SUCCEEDED",
        }
        self.refunds[body["refund_id"]] = result
        self._notify(
            "refund.succeeded",
            payment,
            refund_id=body["refund_id"],
            amount_fen=body["amount_fen"],
            refunded_fen=payment.refunded_fen,
        )
        return httpx.Response(201, json=result)

    # ---------------------------------------------------------------- the payer and the console

    def pay(self, merchant_order_id: str, *, at: dt.datetime = T0) -> dict:
        """The payer confirms: PAID, and the payment.succeeded notification is queued."""
        payment = self.payments[self.by_merchant_order[merchant_order_id]]
        if payment.paid_at is None:
            payment.status, payment.paid_at = "PAID", at.isoformat()
            return self._notify("payment.succeeded", payment, paid_at=payment.paid_at)
        return next(n for n in self.outbox if n["type"] == "payment.succeeded")

    def _notify(self, kind: str, payment: FakePayment, **extra) -> dict:
        note = {
            "event_id": f"evt_{next(_ids)}",
            "type": kind,
            "payment_id": payment.payment_id,
            "merchant_order_id": payment.merchant_order_id,
            "amount_fen": payment.amount_fen,
            "method": payment.method,
            **extra,
            "occurred_at": T0.isoformat(),
        }
        self.outbox.append(note)
        return note

    def last(self, kind: str) -> dict:
        return [n for n in self.outbox if n["type"] == kind][-1]


def _route(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[:2] == ["v1", "payments"]:
        parts[2] = "{id}"
    return "/" + "/".join(parts)


# ---------------------------------------------------------------- notifications over HTTP


def signed_post(
    client,
    payload: dict | bytes,
    *,
    at: dt.datetime = T0,
    secret: str = SECRET,
    path: str = CALLBACK,
    signature: str | None = None,
):
    """POST a notification to haoka as the gateway does: raw JSON body, signed header."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = signature or signing.sign(secret=secret, body=body, timestamp=int(at.timestamp()))
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={signing.HEADER: header},
    )


def deliver(note: dict, *, at: dt.datetime = T0, secret: str = SECRET) -> None:
    """Hand a notification straight to the use case, signed as the gateway signs it."""

    body = json.dumps(note).encode()
    operations.handle_notification(
        body=body,
        signature=signing.sign(secret=secret, body=body, timestamp=int(at.timestamp())),
        now=at,
    )


# ---------------------------------------------------------------- reads for assertions


@dataclass(frozen=True)
class Snapshot:
    """What must not change when a request is refused."""

    payments: list
    events: int
    ledger_transactions: int

    @classmethod
    def take(cls) -> Snapshot:
        return cls(
            payments=list(
                Payment.objects.order_by("id").values_list(
                    "id", "status", "refunded_fen", "paid_at"
                )
            ),
            events=PaymentEvent.objects.count(),
            ledger_transactions=LedgerTransaction.objects.count(),
        )


def payment_postings(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(key=f"payment:{payment.pk}").count()


def refund_postings(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(key__startswith=f"refund:rf_{payment.pk}_").count()


def balance(code: str) -> int:
    try:
        return ledger.balance_fen(account=code)
    except ledger.UnknownAccount:
        return 0


def paid_transitions(payment: Payment) -> int:
    return PaymentEvent.objects.filter(payment=payment, to_status="PAID").count()
