"""Sponsors listen to payments: a paid SPONSOR_TOPUP payment credits the sponsor's wallet
(``sponsors.wallet``), and a refund of one the gateway made without haoka is taken back from
it (or refused, and payments parks it for staff)."""

from __future__ import annotations

from haoka.core import clock
from haoka.payments.signals import payment_succeeded, refund_unsolicited
from haoka.sponsors import wallet


def _on_payment(sender, *, payment_id, purpose, reference, amount_fen, **kwargs) -> None:
    if purpose != wallet.PURPOSE:
        return
    wallet.payment_received(
        payment_id=payment_id, reference=reference, amount_fen=amount_fen, now=clock.now()
    )


def _on_unsolicited_refund(
    sender, *, payment_id, purpose, reference, refund_id, amount_fen, **kwargs
) -> str | None:
    if purpose != wallet.PURPOSE:
        return None
    return wallet.take_back_refund(
        reference=reference, payment_id=payment_id, refund_id=refund_id, amount_fen=amount_fen
    )


def connect() -> None:
    payment_succeeded.connect(_on_payment, dispatch_uid="sponsors.topup_paid")
    refund_unsolicited.connect(_on_unsolicited_refund, dispatch_uid="sponsors.topup_refunded")
