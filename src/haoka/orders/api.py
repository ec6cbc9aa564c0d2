from __future__ import annotations

import base64
import binascii

from django.http import HttpResponse
from ninja import Router
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.core import clock
from haoka.core.errors import ValidationError
from haoka.core.money import format_fen
from haoka.orders import contract, domain, operations, queries
from haoka.orders.models import Order
from haoka.orders.schemas import (
    ActivateIn,
    ContractIn,
    ContractOut,
    EventOut,
    KycIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderSummaryOut,
    PaymentIn,
    PaymentOut,
    PayStartOut,
    TrackingOut,
)
from haoka.payments import queries as payment_queries

router = Router(tags=["orders"], auth=bearer)
MAX_PHOTO_B64 = 7_000_000  # ~5 MB decoded


#: States before the contract is signed: no payment can have been started yet.
UNSIGNED = frozenset(
    {
        domain.State.CREATED,
        domain.State.KYC_RETRY,
        domain.State.KYC_REVIEW,
        domain.State.KYC_PASSED,
        domain.State.KYC_REJECTED,
    }
)


def _payment(order: Order) -> PaymentOut | None:
    if order.amount_due_fen == 0 or order.state in domain.BEFORE_SIGNING:
        return None  # no payment can have been started
    if order.state in UNSIGNED:
        return None  # a payment is started only for a signed order
    if getattr(order, "known_payment", False) is None:
        return None  # signed by this request: none started yet
    payment = payment_queries.payment_for(purpose=operations.PURPOSE, reference=order.ref)
    if payment is None:
        return None
    return PaymentOut(
        payment_id=payment.payment_id,
        status=payment.status,
        pay_url=payment.pay_url or "",
        amount_fen=payment.amount_fen,
    )


def order_out(order: Order) -> OrderOut:
    snapshot = order.plan_snapshot
    return OrderOut(
        ref=order.ref,
        state=order.state,
        state_label=domain.LABELS[domain.State(order.state)],
        next_action=domain.NEXT_ACTION[domain.State(order.state)],
        plan_code=order.plan_code,
        plan_name=snapshot.get("name", ""),
        carrier=order.carrier_code,
        msisdn=order.msisdn,
        number_price_fen=order.number_price_fen,
        first_topup_fen=order.first_topup_fen,
        amount_due_fen=order.amount_due_fen,
        amount_due=format_fen(order.amount_due_fen),
        min_monthly_fen=order.min_monthly_fen,
        contract_months=order.contract_months,
        ship_to=queries.ship_to(order=order),
        receiver_masked=queries.receiver_masked(order=order),
        contract_signed_at=order.contract_signed_at,
        payment=_payment(order),
        courier=order.courier,
        tracking_no=order.tracking_no,
        tracking=[
            TrackingOut(
                status=t.status,
                description=t.description,
                location=t.location,
                occurred_at=t.occurred_at,
            )
            for t in queries.tracking(order=order)
        ],
        iccid_masked=queries.iccid_masked(order=order),
        activated_at=order.activated_at,
        failure_reason=order.failure_reason,
        kyc_attempts_left=domain.kyc_attempts_left(failures=order.kyc_failures),
        kyc_message=queries.kyc_message(order=order),
        expires_at=order.expires_at,
        created_at=order.created_at,
        events=[
            EventOut(
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                reason=e.reason,
                at=e.at,
            )
            for e in queries.events(order=order)
        ],
    )


@router.post("/orders", response={201: OrderOut})
def create_order(request, body: OrderIn):
    """下单: the caller must hold the number (POST /numbers/{msisdn}/reserve)."""
    order = operations.create_order(
        user_id=request.auth.pk,
        plan_code=body.plan_code,
        msisdn=body.msisdn,
        contact_phone=body.contact_phone,
        shipping_address=body.shipping_address.dict() if body.shipping_address else None,
        address_id=body.address_id,
        agent_code=body.ref or "",
        device_id=request.headers.get("X-Device-Id", "")[:64],
        now=clock.now(),
    )
    return Status(201, order_out(order))


@router.get("/orders", response=OrderPage)
def list_orders(request, limit: int | None = None, after: str | None = None):
    page = queries.my_orders(user_id=request.auth.pk, limit=limit, after=after)
    return {
        "items": [
            OrderSummaryOut(
                ref=o.ref,
                state=o.state,
                state_label=domain.LABELS[domain.State(o.state)],
                plan_name=o.plan_snapshot.get("name", ""),
                msisdn=o.msisdn,
                amount_due_fen=o.amount_due_fen,
                created_at=o.created_at,
            )
            for o in page.items
        ],
        "next": page.next,
    }


@router.get("/orders/{ref}", response=OrderOut)
def get_order(request, ref: str):
    return order_out(queries.order_for(ref=ref, user_id=request.auth.pk))


@router.post("/orders/{ref}/cancel", response=OrderOut)
def cancel_order(request, ref: str):
    order = operations.cancel(ref=ref, user_id=request.auth.pk, reason="用户取消", now=clock.now())
    return order_out(order)


def _photos(raw: list[str] | None) -> list[bytes] | None:
    if not raw:
        return None
    photos = []
    for item in raw:
        if len(item) > MAX_PHOTO_B64:
            raise ValidationError("照片过大（每张最大 5MB）", field="photos")
        try:
            photos.append(base64.b64decode(item.split(",", 1)[-1], validate=True))
        except (binascii.Error, ValueError):
            raise ValidationError("照片须为 base64 编码", field="photos") from None
    return photos


@router.post("/orders/{ref}/kyc", response=OrderOut)
def submit_kyc(request, ref: str, body: KycIn):
    """实名: name + ID number (GB 11643), photos when the plan asks for them."""
    order = operations.submit_kyc(
        ref=ref,
        user_id=request.auth.pk,
        name=body.name,
        id_number=body.id_number,
        photos=_photos(body.photos),
        now=clock.now(),
    )
    return order_out(order)


@router.get("/orders/{ref}/contract", response=ContractOut)
def get_contract(request, ref: str):
    c = queries.contract_for(ref=ref, user_id=request.auth.pk)
    return ContractOut(text=c.text, sha256=c.sha256, signed_at=c.signed_at)


@router.post("/orders/{ref}/contract", response=OrderOut)
def sign_contract(request, ref: str, body: ContractIn):
    order = operations.sign_contract(
        ref=ref,
        user_id=request.auth.pk,
        accept=body.accept,
        signature_name=body.signature_name,
        now=clock.now(),
    )
    return order_out(order)


@router.get("/orders/{ref}/contract.pdf")
def contract_pdf(request, ref: str):
    c = queries.contract_for(ref=ref, user_id=request.auth.pk)
    if c.signed_at is None:
        raise ValidationError("协议尚未签署", field="contract")
    response = HttpResponse(contract.pdf(contract=c, order_ref=ref), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="haoka-contract-{ref}.pdf"'
    return response


@router.post("/orders/{ref}/payment", response={201: PayStartOut})
def start_payment(request, ref: str, body: PaymentIn):
    started = operations.start_payment(
        ref=ref, user_id=request.auth.pk, method=body.method, now=clock.now()
    )
    return Status(
        201,
        PayStartOut(
            payment_id=started.payment_id,
            pay_url=started.pay_url,
            amount_fen=started.amount_fen,
            status=started.status,
        ),
    )


@router.post("/orders/{ref}/activate", response=OrderOut)
def activate(request, ref: str, body: ActivateIn):
    order = operations.activate(
        ref=ref, user_id=request.auth.pk, iccid_last6=body.iccid_last6, now=clock.now()
    )
    return order_out(order)
