"""Checkout use cases: create, real-name check, contract, payment, cancel, activate.

Each function owns its transaction. Calls to outside systems (payment gateway, carrier) are
made outside database transactions; the state written before and after them lets a crash in
between be finished by the worker's sweeps (see :mod:`haoka.orders.fulfilment`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import transaction

from haoka.catalog import domain as catalog_domain
from haoka.catalog import queries as catalog_queries
from haoka.core.errors import ValidationError
from haoka.core.phone import parse_mainland_mobile
from haoka.distribution import operations as distribution_operations
from haoka.kyc import domain as kyc_domain
from haoka.kyc import operations as kyc_operations
from haoka.logistics import queries as logistics_queries
from haoka.numbers import operations as number_operations
from haoka.orders import buyer_notices, contract, domain, fulfilment, shipping
from haoka.orders.domain import State
from haoka.orders.models import Order
from haoka.orders.queries import order_for
from haoka.orders.transitions import move, note, open_order
from haoka.payments import operations as payment_operations

PURPOSE = "ORDER"


class PlanNotOnSale(ValidationError):
    code = "plan_not_on_sale"
    message = "该套餐未在售"


class NumberPlanMismatch(ValidationError):
    code = "number_plan_mismatch"
    message = "所选号码与套餐不属于同一运营商"


class RegionNotServed(ValidationError):
    code = "region_not_served"
    message = "该套餐不支持配送到此地址"


class SignatureMismatch(ValidationError):
    code = "signature_mismatch"
    message = "签名须与实名认证的姓名一致"


class ContractNotAccepted(ValidationError):
    code = "contract_not_accepted"
    message = "请阅读并同意服务协议"


class NothingToPay(ValidationError):
    code = "nothing_to_pay"
    message = "该订单无需支付"


class IccidMismatch(ValidationError):
    code = "iccid_mismatch"
    message = "ICCID 后六位不正确，请核对卡片背面的号码"


def _plan_snapshot(plan) -> dict:
    return {
        "code": plan.code,
        "name": plan.name,
        "carrier": plan.carrier.code,
        "carrier_name": plan.carrier.name,
        "monthly_fee_fen": plan.monthly_fee_fen,
        "general_data_bytes": plan.general_data_bytes,
        "targeted_data_bytes": plan.targeted_data_bytes,
        "voice_seconds": plan.voice_seconds,
        "sms_count": plan.sms_count,
        "daily_fee_fen": plan.daily_fee_fen,
        "daily_data_bytes": plan.daily_data_bytes,
        "contract_months": plan.contract_months,
        "first_topup_fen": plan.first_topup_fen,
        "min_age": plan.min_age,
        "max_age": plan.max_age,
        "sale_regions": list(plan.sale_regions),
        "forbidden_regions": list(plan.forbidden_regions),
        "requires_photos": plan.requires_photos,
    }


def create_order(
    *,
    user_id: int,
    plan_code: str,
    msisdn: str,
    contact_phone: str,
    shipping_address: dict | None = None,
    address_id: int | None = None,
    agent_code: str = "",
    device_id: str = "",
    now: dt.datetime,
) -> Order:
    """An order in CREATED for a number the caller holds; the hold now lasts as long as the
    order may stay unpaid. The address is ``shipping_address`` or the entry ``address_id`` of
    the user's address book. Raises AddressNotFound (someone else's entry too), PlanNotFound,
    PlanNotOnSale, InvalidMsisdn, NumberNotFound, NumberNotHeld, NumberPlanMismatch,
    InvalidAddress, InvalidDivision, AddressNotDeliverable, RegionNotServed."""
    plan = catalog_queries.plan_terms(code=plan_code)
    if plan.status != "ON_SALE":
        raise PlanNotOnSale(plan=plan_code)
    if address_id is not None:
        shipping_address = logistics_queries.shipping_fields(user_id=user_id, address_id=address_id)
    address = shipping.clean_address(shipping_address or {})
    contact = parse_mainland_mobile(contact_phone)
    verdict = catalog_domain.region_verdict(
        sale_regions=plan.sale_regions,
        forbidden_regions=plan.forbidden_regions,
        province=address["province"],
        city=address["city"],
    )
    if not verdict.allowed:
        raise RegionNotServed(verdict.reason)
    ref = domain.new_order_ref()
    expires_at = now + domain.UNPAID_TIMEOUT
    with transaction.atomic():
        # The held number is read once, locked: its carrier and price are checked and
        # copied from that row (a mismatch undoes the hold's extension with the rest).
        number = number_operations.hold_for_order(
            user_id=user_id, msisdn=msisdn, order_ref=ref, until=expires_at, now=now
        )
        if number.carrier_id != plan.carrier.code:
            raise NumberPlanMismatch(
                number_carrier=number.carrier_id, plan_carrier=plan.carrier.code
            )
        # The selling agent's chain and terms are fixed now; their shop's markup is due.
        markup_fen = distribution_operations.attribute_order(
            order_ref=ref,
            agent_code=agent_code,
            plan_code=plan.code,
            customer_user_id=user_id,
            msisdn=number.msisdn,
            device_id=device_id,
            plan_name=plan.name,
            contact_phone=contact,
            order_state=State.CREATED,
            order_state_label=domain.LABELS[State.CREATED],
            now=now,
        )
        order = Order(
            ref=ref,
            user_id=user_id,
            plan_code=plan.code,
            carrier_code=plan.carrier.code,
            plan_snapshot=_plan_snapshot(plan),
            msisdn=number.msisdn,
            number_price_fen=number.price_fen,
            min_monthly_fen=number.min_monthly_fen,
            contract_months=max(number.contract_months, plan.contract_months),
            first_topup_fen=plan.first_topup_fen,
            amount_due_fen=domain.amount_due_fen(
                number_price_fen=number.price_fen,
                first_topup_fen=plan.first_topup_fen,
                markup_fen=markup_fen,
            ),
            agent_code=(agent_code or "").strip().upper()[:40],
            markup_fen=markup_fen,
            contact_phone=contact,
            ship_province=address["province"],
            ship_city=address["city"][:24],
            shipping_address=json.dumps(address, ensure_ascii=False),
            expires_at=expires_at,
            state_changed_at=now,
            created_at=now,
        )
        # the order and its first event in one statement on PostgreSQL; a new order's whole
        # history is that event, so the answer needs no read of it
        open_order(order=order, actor=f"user:{user_id}", reason="下单，号码已预占", now=now)
    return order


def submit_kyc(
    *,
    ref: str,
    user_id: int,
    name: str,
    id_number: str,
    photos: list[bytes] | None,
    now: dt.datetime,
) -> Order:
    """实名: passes (KYC_PASSED), goes to staff review (KYC_REVIEW), waits for a correction
    (KYC_RETRY: a typo the customer can fix, up to ``domain.KYC_ATTEMPTS`` checks, the number
    still held) or is rejected (KYC_REJECTED, the number goes back). Raises OrderNotFound,
    OrderStateConflict and the kyc domain's input errors (bad ID number format...).

    The checks that only read, and the verifier, run first, outside any transaction. Then
    one transaction locks the order, records the check (its 一证五号 slot included) and moves
    the order: a cancellation in between is seen under the lock, and no slot is taken for an
    order that can no longer pass. Locks: the order, then the ID's counter, as cancelling."""
    order = order_for(ref=ref, user_id=user_id)
    domain.check_transition(current=order.state, target=State.KYC_PASSED)
    address = json.loads(order.shipping_address)
    plan = order.plan_snapshot
    screened = kyc_operations.screen_identity(
        order_ref=order.ref,
        user_id=user_id,
        carrier=order.carrier_code,
        name=name,
        id_number=id_number,
        phone=order.contact_phone,
        address=kyc_domain.Address(**{k: address[k] for k in shipping.ADDRESS_FIELDS}),
        plan=kyc_domain.PlanTerms(
            code=plan["code"],
            min_age=plan["min_age"],
            max_age=plan["max_age"],
            sale_regions=tuple(plan["sale_regions"]),
            forbidden_regions=tuple(plan["forbidden_regions"]),
            requires_photos=plan["requires_photos"],
        ),
        photos=photos,
        now=now,
    )
    with transaction.atomic():
        order = order_for(ref=ref, user_id=user_id, lock=True)
        domain.check_transition(current=order.state, target=State.KYC_PASSED)
        result = kyc_operations.record_identity(screened, now=now)
        _apply_kyc(
            order,
            status=result.status,
            reason=result.message,
            reason_code=result.reason_code,
            actor=f"user:{user_id}",
            now=now,
        )
    return order


def apply_kyc_result(*, ref: str, status: str, reason: str, actor: str, now: dt.datetime) -> Order:
    """Move an order by a real-name outcome (called when staff review a flagged check)."""
    with transaction.atomic():
        order = order_for(ref=ref, user_id=None, lock=True)
        _apply_kyc(order, status=status, reason=reason, actor=actor, now=now)
        buyer_notices.reviewed(order=order, now=now)
    return order


def _apply_kyc(
    order: Order,
    *,
    status: str,
    reason: str,
    actor: str,
    now: dt.datetime,
    reason_code: str = "",
) -> None:
    """Move a locked order by a real-name outcome (nothing when it is there already). A
    refusal the customer can correct (``reason_code`` in CORRECTABLE_KYC_REASONS) leaves the
    order in KYC_RETRY, its number still held until the order's deadline, until the
    KYC_ATTEMPTS-th; a second one there is noted, not a move."""
    failures = order.kyc_failures + (status == "REJECTED")
    target = domain.kyc_target(status=status, reason_code=reason_code, failures=order.kyc_failures)
    if order.state == target:
        if target == State.KYC_RETRY:
            _note_kyc_retry(order, reason=reason, actor=actor, failures=failures, now=now)
        return
    fields: dict = {"kyc_failures": failures} if failures != order.kyc_failures else {}
    if target == State.KYC_REVIEW:
        fields["expires_at"] = now + domain.REVIEW_TIMEOUT
        number_operations.extend_order_hold(
            msisdn=order.msisdn, order_ref=order.ref, until=fields["expires_at"]
        )
    elif target == State.KYC_PASSED:
        fields["expires_at"] = max(order.expires_at or now, now + domain.UNPAID_TIMEOUT)
        number_operations.extend_order_hold(
            msisdn=order.msisdn, order_ref=order.ref, until=fields["expires_at"]
        )
    data = {"kyc_failures": failures} if status == "REJECTED" else None
    move(order=order, to=target, actor=actor, reason=reason, now=now, data=data, **fields)
    if target == State.KYC_REJECTED:
        fulfilment.unwind(order=order, reason=reason, now=now)


def _note_kyc_retry(order: Order, *, reason: str, actor: str, failures: int, now) -> None:
    """Another correctable refusal of an order already in KYC_RETRY: counted and kept."""
    order.kyc_failures = failures
    Order.objects.filter(pk=order.pk).update(kyc_failures=failures)
    note(order=order, actor=actor, reason=reason, now=now, data={"kyc_failures": failures})


def sign_contract(
    *, ref: str, user_id: int, accept: bool, signature_name: str, now: dt.datetime
) -> Order:
    """签约: stores the exact text's SHA-256 and the time. With nothing to pay the order goes
    straight to the carrier. Raises ContractNotAccepted, SignatureMismatch, OrderNotFound,
    OrderStateConflict."""
    if accept is not True:
        raise ContractNotAccepted()
    with transaction.atomic():
        order = order_for(ref=ref, user_id=user_id, lock=True)
        if not order.contract_sha256 and order.state != State.KYC_PASSED:
            domain.check_transition(current=order.state, target=State.SIGNED)
        who = kyc_operations.signer(order_ref=ref)
        if signature_name.strip() != who.name:
            raise SignatureMismatch()
        if order.state == State.SIGNED or order.contract_sha256:
            return order
        # The text the consumer read (GET .../contract renders the same from the same rows).
        text = contract.render(
            order=order, customer_name_masked=who.name_masked, id_masked=who.id_masked
        )
        move(
            order=order,
            to=State.SIGNED,
            actor=f"user:{user_id}",
            reason="签署服务协议",
            now=now,
            contract_text=text,
            contract_sha256=hashlib.sha256(text.encode()).hexdigest(),
            contract_signed_at=now,
        )
        # Paying needs a signed contract: an order signed just now has no payment to show.
        order.known_payment = None
        if order.amount_due_fen == 0:
            fulfilment.hand_to_carrier(
                order=order, actor="system", reason="无需支付，直接提交", now=now
            )
    return order


def start_payment(*, ref: str, user_id: int, method: str, now: dt.datetime):
    """A pay URL on the gateway for what is due. Raises NothingToPay, OrderNotFound,
    OrderStateConflict, and the payments domain's errors (gateway unavailable...)."""
    order = order_for(ref=ref, user_id=user_id)
    if order.amount_due_fen == 0:
        raise NothingToPay()
    if order.state != State.SIGNED:
        domain.check_transition(current=order.state, target=State.PAID)
    return payment_operations.start_payment(
        purpose=PURPOSE,
        reference=order.ref,
        user_id=user_id,
        amount_fen=order.amount_due_fen,
        method=method,
        return_url=f"{settings.PUBLIC_BASE_URL}/orders/{order.ref}/",
        now=now,
    )


def cancel(*, ref: str, user_id: int | None, reason: str, now: dt.datetime) -> Order:
    """Cancel before the order reaches the carrier: the number goes back, the identity claim
    is freed and anything paid is refunded. Raises OrderNotFound, OrderStateConflict."""
    with transaction.atomic():
        order = order_for(ref=ref, user_id=user_id, lock=True)
        if order.state == State.CANCELLED:
            return order
        if order.state not in domain.CANCELLABLE:
            domain.check_transition(current=order.state, target=State.CANCELLED)
        actor = f"user:{user_id}" if user_id is not None else "system"
        move(order=order, to=State.CANCELLED, actor=actor, reason=reason, now=now)
        fulfilment.unwind(order=order, reason=reason, now=now)
    return order


def activate(*, ref: str, user_id: int, iccid_last6: str, now: dt.datetime) -> Order:
    """激活: the consumer proves the card is in hand (last 6 digits of its ICCID); the carrier
    activates it; a line is opened and the number is in use. Raises IccidMismatch,
    OrderNotFound, OrderStateConflict, CarrierUnavailable, CarrierRefused."""
    order = order_for(ref=ref, user_id=user_id)
    if order.state == State.ACTIVATED:
        return order
    if order.state != State.DELIVERED:
        domain.check_transition(current=order.state, target=State.ACTIVATED)
    last6 = (iccid_last6 or "").strip()
    if not order.iccid:  # the carrier's "accepted" callback was lost: ask the carrier
        order = fulfilment.fetch_card_details(ref=order.ref, now=now)
    if not (order.iccid and domain.iccid_matches(iccid=order.iccid, last6=last6)):
        raise IccidMismatch()
    fulfilment.carrier_activate(order=order, iccid_last6=last6)
    return fulfilment.finish_activation(ref=order.ref, actor=f"user:{user_id}", now=now)
