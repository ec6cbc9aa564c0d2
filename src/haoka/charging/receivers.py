"""Charging listens to lines and payments: a new line is provisioned (charging account,
month's allowances) in the same transaction that opens it; a SIM replacement releases the
line's open sessions (the old card is cut off); a paid TOPUP payment credits the line's
wallet (``charging.topups``), and a refund of one that the gateway made without haoka is
taken back from it (or refused, and payments parks it for staff). Slices a sponsor granted
a line (a 流量红包, ``sponsors.signals.slices_granted``) become its SPONSOR buckets."""

from __future__ import annotations

from haoka.charging import closing, notifications, operations, sponsored, topups
from haoka.core import clock
from haoka.lines.domain import LineState
from haoka.lines.signals import line_opened, line_status_changed, sim_replacing, wallet_credited
from haoka.payments.signals import payment_succeeded, refund_unsolicited
from haoka.sponsors.signals import (
    camara_session_closing,
    camara_session_started,
    camara_usage_wanted,
    slices_granted,
)


def _on_line_opened(sender, *, line_id, plan_code, order_ref=None, now, **kwargs) -> None:
    # A line staff create directly is one brought over from another system (its month was
    # charged there); a line born from an order is activated here: its first month.
    operations.provision_line(
        line_id=line_id, plan_code=plan_code, activated=order_ref is not None, now=now
    )


def _on_payment(sender, *, payment_id, purpose, reference, amount_fen, **kwargs) -> None:
    if purpose != "TOPUP":
        return
    topups.payment_received(
        payment_id=payment_id, reference=reference, amount_fen=amount_fen, now=clock.now()
    )


def _on_unsolicited_refund(
    sender, *, payment_id, purpose, reference, refund_id, amount_fen, now, **kwargs
) -> str | None:
    if purpose != "TOPUP":
        return None
    return topups.take_back_refund(
        payment_id=payment_id,
        reference=reference,
        refund_id=refund_id,
        amount_fen=amount_fen,
        now=now,
    )


def _on_sim_replacing(sender, *, line_id, now, **kwargs) -> None:
    closing.release_sessions(line_id=line_id, now=now)


def _on_wallet_credited(sender, *, line_id, key, now, **kwargs) -> None:
    # Sessions refused quota for want of money may ask again (REAUTHORIZATION).
    notifications.quota_available(line_id=line_id, cause=f"credit:{key}", now=now)


def _on_status(sender, *, line_id, to_status, now, **kwargs) -> None:
    # A suspended line is charged no more: its sessions' consumers end them (ABORT_CHARGING).
    # A closing line's sessions are told as they are released (closing.release_sessions).
    if to_status == LineState.SUSPENDED:
        notifications.abort_line(line_id=line_id, now=now)


def _on_slices_granted(sender, *, line_id, grants, now, **kwargs) -> None:
    sponsored.credit_granted(line_id=line_id, grants=grants, now=now)


def _on_camara_started(sender, *, grant, line_id, now, **kwargs) -> None:
    sponsored.open_session_bucket(grant=grant, line_id=line_id, now=now)


def _on_camara_closing(sender, *, slice_id, line_id, reason, now, **kwargs) -> None:
    sponsored.close_session_bucket(slice_id=slice_id, line_id=line_id, reason=reason, now=now)


def _on_camara_usage(sender, *, slice_ids, **kwargs) -> dict[int, int]:
    return sponsored.session_usage(slice_ids=slice_ids)


def connect() -> None:
    camara_session_started.connect(_on_camara_started, dispatch_uid="charging.camara_started")
    camara_session_closing.connect(_on_camara_closing, dispatch_uid="charging.camara_closing")
    camara_usage_wanted.connect(_on_camara_usage, dispatch_uid="charging.camara_usage")
    slices_granted.connect(_on_slices_granted, dispatch_uid="charging.sponsor_slices_granted")
    line_opened.connect(_on_line_opened, dispatch_uid="charging.line_opened")
    sim_replacing.connect(_on_sim_replacing, dispatch_uid="charging.sim_replacing")
    wallet_credited.connect(_on_wallet_credited, dispatch_uid="charging.wallet_credited")
    line_status_changed.connect(_on_status, dispatch_uid="charging.line_status")
    payment_succeeded.connect(_on_payment, dispatch_uid="charging.topup_paid")
    refund_unsolicited.connect(_on_unsolicited_refund, dispatch_uid="charging.topup_refunded")
