"""Signals other domains connect to (in their ``AppConfig.ready``).

Both are sent with ``sender=Payment`` only after the transaction that recorded the change has
committed (``transaction.on_commit``), once per payment / refund, through ``send_robust``: a
failing receiver is logged and never undoes the payment. Receivers must therefore be
idempotent and may look again with ``payments.queries.payment_for`` when in doubt.

- ``payment_succeeded``: kwargs ``payment_id``, ``purpose`` (ORDER | TOPUP |
  SPONSOR_TOPUP), ``reference``,
  ``amount_fen``.
- ``refund_succeeded``: kwargs ``payment_id``, ``purpose``, ``reference``, ``refund_id``,
  ``amount_fen`` (this refund), ``refunded_fen`` (the payment's total refunded so far),
  ``fully_refunded`` (bool).

One is sent inside the transaction (``send``, so the receivers' writes commit or roll back
with the refund; a receiver that raises is rolled back alone and the refund is parked):

- ``refund_unsolicited``: kwargs ``payment_id``, ``purpose``, ``reference``, ``refund_id``,
  ``amount_fen``, ``now``. The gateway reports a refund haoka did not ask for (unknown
  ``refund_id``, e.g. made in its merchant console), with the payment row locked, before the
  money is booked. The owner of ``purpose`` takes back what the payment bought as its own
  refund would (charging debits the top-up from the wallet: Dr wallet / Cr customer
  prepayments) and answers ``domain.TAKEN_BACK``; or answers why it cannot (a short code:
  the refund is parked for staff in ``asset:unmatched_refunds``); other purposes answer None.
  Sent again, for the same refund, when staff retry a parked one.
"""

from __future__ import annotations

from django.dispatch import Signal

payment_succeeded = Signal()
refund_succeeded = Signal()
refund_unsolicited = Signal()
