"""Signals other domains connect to (in their ``AppConfig.ready``).

Both are sent with ``sender=Payment`` only after the transaction that recorded the change has
committed (``transaction.on_commit``), once per payment / refund, through ``send_robust``: a
failing receiver is logged and never undoes the payment. Receivers must therefore be
idempotent and may look again with ``payments.queries.payment_for`` when in doubt.

- ``payment_succeeded``: kwargs ``payment_id``, ``purpose`` (ORDER | TOPUP), ``reference``,
  ``amount_fen``.
- ``refund_succeeded``: kwargs ``payment_id``, ``purpose``, ``reference``, ``refund_id``,
  ``amount_fen`` (this refund), ``refunded_fen`` (the payment's total refunded so far),
  ``fully_refunded`` (bool).
"""

from __future__ import annotations

from django.dispatch import Signal

payment_succeeded = Signal()
refund_succeeded = Signal()
