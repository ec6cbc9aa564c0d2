"""Payment gateway simulator (WeChat Pay / Alipay-like), contract in docs/integrations.md.

A separate process (``haoka simulate payment``, port 8101): no Django, state in memory.

- ``POST /v1/payments`` creates a PENDING payment (idempotent by ``merchant_order_id``) whose
  ``pay_url`` is a small cashier page in Chinese; its 确认支付 button stands for the payer's
  phone: ``POST /pay/<id>/confirm`` marks it PAID and notifies ``notify_url``.
- ``GET /v1/payments/<id>``, ``POST /v1/payments/<id>/close``, ``POST /v1/refunds``
  (idempotent by ``refund_id``; refunds never exceed what was paid).
- Notifications ``payment.succeeded``, ``payment.closed``, ``refund.succeeded`` are signed and
  retried (see :mod:`haoka.simkit`). In a ``refund.succeeded`` event ``amount_fen`` is the
  refund's amount and ``refunded_fen`` the payment's total refunded so far.

Simulated delays (divided by ``time_scale``): the notification leaves 1-3 s after the payer
confirms, the close and refund notifications 0.5-2 s after the call.

Payouts (agents' commission withdrawals, like Alipay 单笔转账 / WeChat 企业付款), signed, with
the same latency and injected 503/timeouts as the rest of ``/v1/``:

- ``POST /v1/payouts`` ``{"ref", "amount_fen", "channel": "ALIPAY" | "BANK", "payee_account",
  "payee_name"}`` pays at once: ``201 {"ref", "provider_ref", "amount_fen", "channel",
  "status": "SUCCEEDED" | "FAILED", "reason_code", "reason", "created_at"}`` (``reason_code``
  and ``reason`` empty when SUCCEEDED). Idempotent by ``ref``: a repeat with the same fields
  answers the first result and never pays again (a FAILED payout stays FAILED: paying again
  takes a new ref); the same ref with other fields is 409 ``{"error": "ref_conflict"}``.
  Bad input is 400 ``invalid_request`` with ``field`` and creates nothing: ``ref`` 1-64
  letters, digits, ``_`` or ``-``; ``amount_fen`` a positive integer; ``channel`` known;
  ``payee_account`` 1-64 characters without spaces; ``payee_name`` 2-20 characters.
- ``GET /v1/payouts/<ref>``: the same body; 404 ``{"error": "unknown_payout"}``.
- Sandbox rules, first match wins: a payee account ending in ``0000`` is FAILED
  ``ACCOUNT_INVALID`` (the account does not exist); then, with probability ``reject_rate``
  (the payout failure rate; drawn from the ref's own stream, so reproducible with a seed) FAILED
  ``PROVIDER_DECLINED``; otherwise SUCCEEDED. ``GET /_sim/stats`` adds ``payouts``,
  ``payouts_succeeded`` and ``payouts_paid_fen``.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from haoka import simkit
from haoka.simkit import SimError, field

METHODS = {"wechat": "微信支付", "alipay": "支付宝"}
PAYOUT_CHANNELS = {"ALIPAY": "支付宝", "BANK": "银行卡"}
BAD_ACCOUNT_SUFFIX = "0000"  # sandbox rule: such a payee account does not exist
_REF = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclasses.dataclass
class Payment:
    payment_id: str
    merchant_order_id: str
    amount_fen: int
    method: str
    description: str
    notify_url: str
    return_url: str
    created_at: str
    status: str = "PENDING"
    paid_at: str | None = None
    closed_at: str | None = None
    refunded_fen: int = 0

    def view(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["notify_url"]
        return data


def yuan(fen: int) -> str:
    """Fen as ¥12.34."""
    return f"¥{fen // 100}.{fen % 100:02d}"


class Gateway:
    """The gateway's state and handlers."""

    def __init__(self, sim: simkit.Sim) -> None:
        self.sim = sim
        self.payments: dict[str, Payment] = {}
        self.by_merchant_order: dict[str, tuple[str, dict[str, Any]]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}

    def _get(self, payment_id: str) -> Payment:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise SimError(404, "unknown_payment")
        return payment

    def _notify(self, payment: Payment, kind: str, delay: tuple[float, float], **extra) -> None:
        rng = self.sim.rng_for(f"{payment.merchant_order_id}:{kind}:{extra.get('refund_id')}")
        payload = {
            "type": kind, "payment_id": payment.payment_id,
            "merchant_order_id": payment.merchant_order_id, "amount_fen": payment.amount_fen,
            "method": payment.method, **extra, "occurred_at": simkit.now_iso(),
        }  # fmt: skip

        async def later() -> None:
            await self.sim.sleep(rng.uniform(*delay))
            self.sim.callbacks.send(
                url=payment.notify_url, payload=payload, key=payment.payment_id, rng=rng
            )

        self.sim.spawn(later())

    async def create(self, request: Request, body: bytes) -> Response:
        data = simkit.parse_json(body)
        self.sim.stats["create_requests"] += 1
        merchant_order_id = field(data, "merchant_order_id")
        if merchant_order_id in self.by_merchant_order:
            self.sim.stats["repeats"] += 1
            return JSONResponse(self.by_merchant_order[merchant_order_id][1], status_code=201)
        amount_fen, method = field(data, "amount_fen", int), field(data, "method")
        if method not in METHODS:
            raise SimError(400, "invalid_request", field="method")
        notify_url = field(data, "notify_url", optional=True) or self.sim.config.callback_url
        if not notify_url:
            raise SimError(400, "invalid_request", field="notify_url")
        payment = Payment(
            payment_id=simkit.new_id("pay"), merchant_order_id=merchant_order_id,
            amount_fen=amount_fen, method=method,
            description=str(data.get("description") or "号卡订单"), notify_url=notify_url,
            return_url=str(data.get("return_url") or ""), created_at=simkit.now_iso(),
        )  # fmt: skip
        base = str(request.base_url).rstrip("/")
        result = {
            "payment_id": payment.payment_id, "merchant_order_id": merchant_order_id,
            "amount_fen": amount_fen, "method": method, "status": "PENDING",
            "pay_url": f"{base}/pay/{payment.payment_id}",
        }  # fmt: skip
        self.payments[payment.payment_id] = payment
        self.by_merchant_order[merchant_order_id] = (payment.payment_id, result)
        self.sim.stats["created"] += 1
        return JSONResponse(result, status_code=201)

    async def show(self, request: Request, body: bytes) -> Response:
        return JSONResponse(self._get(request.path_params["payment_id"]).view())

    async def close(self, request: Request, body: bytes) -> Response:
        payment = self._get(request.path_params["payment_id"])
        if payment.status == "PENDING":
            payment.status, payment.closed_at = "CLOSED", simkit.now_iso()
            self._notify(payment, "payment.closed", (0.5, 2.0))
        elif payment.status != "CLOSED":
            raise SimError(409, "already_paid")
        return JSONResponse(payment.view())

    async def refund(self, request: Request, body: bytes) -> Response:
        data = simkit.parse_json(body)
        self.sim.stats["create_requests"] += 1
        refund_id = field(data, "refund_id")
        if refund_id in self.refunds:
            self.sim.stats["repeats"] += 1
            return JSONResponse(self.refunds[refund_id], status_code=201)
        payment = self._get(field(data, "payment_id"))
        amount_fen = field(data, "amount_fen", int)
        if payment.paid_at is None:
            raise SimError(409, "not_paid")
        if payment.refunded_fen + amount_fen > payment.amount_fen:
            refundable = payment.amount_fen - payment.refunded_fen
            raise SimError(409, "refund_exceeds_payment", refundable_fen=refundable)
        payment.refunded_fen += amount_fen
        full = payment.refunded_fen == payment.amount_fen
        payment.status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
        result = {
            "refund_id": refund_id, "payment_id": payment.payment_id, "amount_fen": amount_fen,
            "status": "SUCCEEDED", "reason": str(data.get("reason") or ""),
            "created_at": simkit.now_iso(),
        }  # fmt: skip
        self.refunds[refund_id] = result
        self.sim.stats["created"] += 1
        self._notify(
            payment, "refund.succeeded", (0.5, 2.0), refund_id=refund_id,
            amount_fen=amount_fen, refunded_fen=payment.refunded_fen,
        )  # fmt: skip
        return JSONResponse(result, status_code=201)

    async def confirm(self, request: Request) -> Response:
        """The payer pays (unsigned: it stands for the payer's phone). Idempotent."""
        payment = self._get(request.path_params["payment_id"])
        if payment.status == "CLOSED":
            raise SimError(409, "payment_closed")
        if payment.paid_at is None:
            payment.status, payment.paid_at = "PAID", simkit.now_iso()
            self._notify(payment, "payment.succeeded", (1.0, 3.0), paid_at=payment.paid_at)
        wants_html = "form" in request.headers.get("content-type", "") or "text/html" in (
            request.headers.get("accept", "")
        )
        if wants_html:
            target = payment.return_url or f"/pay/{payment.payment_id}"
            return RedirectResponse(target, status_code=303)
        return JSONResponse({"payment_id": payment.payment_id, "status": "PAID"})

    async def cashier(self, request: Request) -> Response:
        """The cashier page: amount, method, 确认支付; or 支付成功 / 已关闭 once settled."""
        payment = self.payments.get(request.path_params["payment_id"])
        if payment is None:
            inner = "<p>找不到这笔支付，请返回商户重新下单。</p>"
            return HTMLResponse(_page("订单不存在", inner), status_code=404)
        amount = f'<p class="amount">{html.escape(yuan(payment.amount_fen))}</p>'
        desc = f"<p>{html.escape(payment.description)}</p>"
        back = ""
        if payment.return_url:
            back = f'<a class="btn" href="{html.escape(payment.return_url)}">返回商户</a>'
        if payment.paid_at is not None:
            inner = f'<p class="ok">✓ 支付成功</p>{amount}{desc}{back}'
        elif payment.status == "CLOSED":
            inner = f"<p>订单已关闭</p>{amount}{desc}{back}"
        else:
            action = f"/pay/{html.escape(payment.payment_id)}/confirm"
            inner = (
                f"<p>{METHODS[payment.method]}（沙箱）</p>{amount}{desc}"
                f'<form method="post" action="{action}">'
                '<button class="btn" type="submit">确认支付</button></form>'
            )
        return HTMLResponse(_page("收银台", inner))


class Payouts:
    """Payouts to agents: paid at once, idempotent by the caller's ``ref``."""

    def __init__(self, sim: simkit.Sim) -> None:
        self.sim = sim
        self.by_ref: dict[str, tuple[tuple, dict[str, Any]]] = {}  # ref -> (fields, answer)

    def stats(self) -> dict[str, int]:
        paid = [a for _f, a in self.by_ref.values() if a["status"] == "SUCCEEDED"]
        return {
            "payouts": len(self.by_ref),
            "payouts_succeeded": len(paid),
            "payouts_paid_fen": sum(a["amount_fen"] for a in paid),
        }

    async def create(self, request: Request, body: bytes) -> Response:
        data = simkit.parse_json(body)
        self.sim.stats["create_requests"] += 1
        ref, fields = field(data, "ref"), _payout_fields(data)
        if not _REF.fullmatch(ref):
            raise SimError(400, "invalid_request", field="ref")
        if ref in self.by_ref:
            first_fields, answer = self.by_ref[ref]
            if first_fields != fields:
                raise SimError(409, "ref_conflict", ref=ref)
            self.sim.stats["repeats"] += 1
            return JSONResponse(answer, status_code=201)
        amount_fen, channel, payee_account, _payee_name = fields
        reason_code, reason = "", ""
        if payee_account.endswith(BAD_ACCOUNT_SUFFIX):
            reason_code, reason = "ACCOUNT_INVALID", "收款账户不存在或已注销"
        elif self.sim.rng_for(f"payout:{ref}").random() < self.sim.config.reject_rate:
            reason_code, reason = "PROVIDER_DECLINED", "付款渠道拒绝了这笔付款"
        answer = {
            "ref": ref, "provider_ref": simkit.new_id("po"), "amount_fen": amount_fen,
            "channel": channel, "status": "FAILED" if reason_code else "SUCCEEDED",
            "reason_code": reason_code, "reason": reason, "created_at": simkit.now_iso(),
        }  # fmt: skip
        self.by_ref[ref] = (fields, answer)
        self.sim.stats["created"] += 1
        return JSONResponse(answer, status_code=201)

    async def show(self, request: Request, body: bytes) -> Response:
        known = self.by_ref.get(request.path_params["ref"])
        if known is None:
            raise SimError(404, "unknown_payout")
        return JSONResponse(known[1])


def _payout_fields(data: dict[str, Any]) -> tuple[int, str, str, str]:
    """(amount_fen, channel, payee_account, payee_name), validated.

    Raises SimError (400, invalid_request, field)."""
    amount_fen, channel = field(data, "amount_fen", int), field(data, "channel")
    if channel not in PAYOUT_CHANNELS:
        raise SimError(400, "invalid_request", field="channel")
    payee_account = field(data, "payee_account")
    if len(payee_account) > 64 or any(c.isspace() for c in payee_account):
        raise SimError(400, "invalid_request", field="payee_account")
    payee_name = field(data, "payee_name").strip()
    if not 2 <= len(payee_name) <= 20:
        raise SimError(400, "invalid_request", field="payee_name")
    return amount_fen, channel, payee_account, payee_name


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f5f5f5;color:#222}"
    "main{max-width:420px;margin:0 auto;padding:24px 16px;text-align:center}"
    ".amount{font-size:2.2em;font-weight:600;margin:12px 0}.ok{color:#07c160;font-size:1.3em}"
    ".btn{display:block;width:100%;box-sizing:border-box;padding:14px;border:0;border-radius:8px;"
    "background:#07c160;color:#fff;font-size:1.1em;text-decoration:none;margin-top:16px}"
)


def _page(title: str, inner: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title} - 沙箱支付</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{title}</h1>{inner}</main></body></html>"
    )


def create_app(
    config: simkit.SimConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
):
    """The gateway's Starlette app. ``transport`` replaces the network for callbacks (tests)."""
    sim = simkit.Sim(config or simkit.SimConfig(), transport=transport)
    gateway, payouts = Gateway(sim), Payouts(sim)
    routes = [
        simkit.api_route(sim, "/v1/payments", gateway.create, methods=["POST"]),
        simkit.api_route(sim, "/v1/payments/{payment_id}", gateway.show, methods=["GET"]),
        simkit.api_route(sim, "/v1/payments/{payment_id}/close", gateway.close, methods=["POST"]),
        simkit.api_route(sim, "/v1/refunds", gateway.refund, methods=["POST"]),
        simkit.api_route(sim, "/v1/payouts", payouts.create, methods=["POST"]),
        simkit.api_route(sim, "/v1/payouts/{ref}", payouts.show, methods=["GET"]),
        Route("/pay/{payment_id}", gateway.cashier, methods=["GET"]),
        Route("/pay/{payment_id}/confirm", gateway.confirm, methods=["POST"]),
        *simkit.sim_routes(
            sim, extra_stats=lambda: {"payments": len(gateway.payments), **payouts.stats()}
        ),
    ]
    app = simkit.build_app(sim, routes)
    app.state.gateway = gateway
    app.state.payouts = payouts
    return app
