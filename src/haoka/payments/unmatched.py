"""Refunds the gateway made without haoka (an unknown ``refund_id``: a refund in its merchant
console, a dispute): the money has left, so the refund is always recorded, and never
half-booked.

In the notification's transaction, with the payment locked, the owner of the payment's
purpose is asked (``signals.refund_unsolicited``, in a savepoint) to take back what the
payment bought, exactly as a refund haoka asked for would (charging debits the top-up from
the line's wallet). Then:

- taken back: the refund is booked as haoka's own are (Dr customer prepayments / Cr gateway
  asset), so customer prepayments and the wallets agree;
- otherwise parked: Dr ``asset:unmatched_refunds`` (money to recover) / Cr gateway asset, and
  an OPEN :class:`UnmatchedRefund` for staff (admin "未匹配退款"), logged as
  ``payment_refund_unmatched`` with ``code=refund_unmatched``.

Staff resolve a parked refund (:func:`resolve`) by asking the owner again (taken back:
Dr customer prepayments / Cr suspense) or by writing it off (Dr
``expense:unmatched_refunds`` / Cr suspense). Either way the suspense account is cleared once
(ledger key ``unmatched:<refund_id>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from django.db import transaction

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.payments import domain, signals, state
from haoka.payments.domain import Resolution, UnmatchedRefundState
from haoka.payments.errors import RefundStillUnmatched, UnmatchedRefundNotFound
from haoka.payments.models import Payment, Refund, UnmatchedRefund

log = structlog.get_logger("haoka.payments")

#: The stable code staff and alerts search the logs for.
CODE = "refund_unmatched"


def complete(
    payment: Payment,
    refund: Refund,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    reason: str,
    event_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> UnmatchedRefund | None:
    """Record a SUCCEEDED refund haoka did not ask for (inside the caller's transaction, the
    payment locked): taken back by its owner, or parked. Returns the parked row, or None."""
    answer = ask_owner(payment, refund, now=at)
    taken = answer == domain.TAKEN_BACK
    state.complete_refund(
        payment,
        refund,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason if taken else f"{reason}（未能扣回: {answer}，转人工处理）",
        event_id=event_id,
        data=data,
        parked=not taken,
    )
    if taken:
        log.warning(
            "payment_unsolicited_refund_taken_back",
            payment_id=payment.pk,
            refund_id=refund.refund_id,
            amount_fen=refund.amount_fen,
        )
        return None
    parked = UnmatchedRefund.objects.create(
        gateway_refund_id=refund.refund_id,
        refund=refund,
        payment=payment,
        amount_fen=refund.amount_fen,
        reason_code=answer[:60],
        created_at=at,
    )
    log.error(
        "payment_refund_unmatched",
        code=CODE,
        payment_id=payment.pk,
        purpose=payment.purpose,
        reference=payment.reference,
        refund_id=refund.refund_id,
        amount_fen=refund.amount_fen,
        why=answer,
    )
    return parked


def ask_owner(payment: Payment, refund: Refund, *, now: dt.datetime) -> str:
    """The owner's answer: ``domain.TAKEN_BACK`` or why not. A receiver that raises is
    rolled back alone (savepoint) and the refund is parked rather than refused: the gateway
    would only send it again."""
    try:
        with transaction.atomic():
            answers = signals.refund_unsolicited.send(
                sender=Payment,
                payment_id=payment.pk,
                purpose=payment.purpose,
                reference=payment.reference,
                refund_id=refund.refund_id,
                amount_fen=refund.amount_fen,
                now=now,
            )
    except Exception:  # a bug of the owner must not lose the record that the money left
        log.exception(
            "payment_refund_owner_failed", payment_id=payment.pk, refund_id=refund.refund_id
        )
        return domain.OWNER_FAILED
    said = [str(answer) for _, answer in answers if answer is not None]
    if domain.TAKEN_BACK in said:
        return domain.TAKEN_BACK
    return said[0] if said else domain.NO_OWNER


def resolve(
    *, unmatched_id: int, retry: bool, actor: str, note: str, now: dt.datetime
) -> UnmatchedRefund:
    """Clear a parked refund from the suspense account (inside the caller's transaction):
    ``retry`` asks the owner again to take it back, otherwise it is written off as a loss.
    Raises UnmatchedRefundNotFound, UnmatchedRefundConflict (already resolved),
    RefundStillUnmatched (retry, and the owner still cannot)."""
    found = UnmatchedRefund.objects.filter(pk=unmatched_id).values_list("payment_id").first()
    if found is None:
        raise UnmatchedRefundNotFound(unmatched_id=unmatched_id)
    payment = state.lock(found[0])  # the payment first, as a notification locks it
    item = UnmatchedRefund.objects.select_for_update().select_related("refund").get(pk=unmatched_id)
    domain.UNMATCHED_MACHINE.check(current=item.state, target=UnmatchedRefundState.RESOLVED)
    if retry:
        answer = ask_owner(payment, item.refund, now=now)
        if answer != domain.TAKEN_BACK:
            raise RefundStillUnmatched(refund_id=item.gateway_refund_id, reason_code=answer)
        resolution, debit = Resolution.TAKEN_BACK, chart.CUSTOMER_PREPAYMENTS
    else:
        resolution, debit = Resolution.WRITTEN_OFF, chart.UNMATCHED_REFUND_LOSSES
    ledger.post(
        legs=[
            ledger.Leg(debit, item.amount_fen),
            ledger.Leg(chart.UNMATCHED_REFUNDS, -item.amount_fen),
        ],
        kind=f"payment.unmatched_{resolution.lower()}",
        memo=f"未匹配退款 {item.gateway_refund_id} {domain.RESOLUTION_LABELS[resolution]}",
        key=f"unmatched:{item.gateway_refund_id}",
    )
    item.state, item.resolution = UnmatchedRefundState.RESOLVED, resolution
    item.resolved_by, item.resolved_at, item.note = actor[:60], now, note[:300]
    item.save(update_fields=["state", "resolution", "resolved_by", "resolved_at", "note"])
    state.event(
        payment,
        kind="refund.unmatched_resolved",
        actor=actor,
        at=now,
        reason=f"{domain.RESOLUTION_LABELS[resolution]}：{note}",
        refund=item.refund,
        data={"resolution": resolution.value},
    )
    log.warning(
        "payment_refund_unmatched_resolved",
        code=CODE,
        refund_id=item.gateway_refund_id,
        resolution=resolution.value,
        actor=actor,
    )
    return item
