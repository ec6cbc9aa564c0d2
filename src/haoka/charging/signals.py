"""What charging tells other domains.

- ``monthly_fee_charged``: kwargs ``line_id``, ``month`` (date, first day), ``fee_fen``,
  ``arrears`` (the fee left the wallet below zero), ``now``. Sent inside the cycle's
  transaction, once per line and month.
"""

from django.dispatch import Signal

monthly_fee_charged = Signal()
