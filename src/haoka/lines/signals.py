"""What lines tell other domains.

- ``line_opened``: kwargs ``line_id``, ``plan_code``, ``order_ref`` (None for a line staff
  created), ``now``. Sent inside the transaction that opens the line, so receivers' writes
  (charging provisioning) commit or roll back with it.
- ``line_status_changed``: kwargs ``line_id``, ``from_status``, ``to_status``,
  ``suspend_reason``, ``reason``, ``now``; inside the transaction of the change.
- ``wallet_credited``: kwargs ``line_id``, ``amount_fen``, ``key`` (the ledger key: unique per
  credit), ``source`` (FIRST_TOPUP: paid at checkout; TOPUP), ``now``; inside the transaction
  of the credit.
- ``sim_replacing``: kwargs ``line_id``, ``now``; sent inside the transaction of a SIM
  replacement, before the line is locked: the old card stops working, so charging releases
  the line's open sessions (taking its charging lock first, as every rating does). A
  receiver's error aborts the replacement.

Receivers must be quick and must not fail for lines they know nothing about.
"""

from django.dispatch import Signal

line_opened = Signal()
line_status_changed = Signal()
wallet_credited = Signal()
sim_replacing = Signal()
