"""Charging listens to lines and payments: a new line is provisioned (charging account,
month's allowances) in the same transaction that opens it; a paid TOPUP payment credits the
line's wallet (``lines.topups``)."""

from __future__ import annotations

from haoka.core import clock
from haoka.lines.signals import line_opened
from haoka.payments.signals import payment_succeeded


def _on_line_opened(sender, *, line_id, plan_code, now, **kwargs) -> None:
    from haoka.charging import operations

    operations.provision_line(line_id=line_id, plan_code=plan_code, now=now)


def _on_payment(sender, *, payment_id, purpose, reference, amount_fen, **kwargs) -> None:
    if purpose != "TOPUP":
        return
    from haoka.lines import topups

    topups.payment_received(
        payment_id=payment_id, reference=reference, amount_fen=amount_fen, now=clock.now()
    )


def connect() -> None:
    line_opened.connect(_on_line_opened, dispatch_uid="charging.line_opened")
    payment_succeeded.connect(_on_payment, dispatch_uid="charging.topup_paid")
