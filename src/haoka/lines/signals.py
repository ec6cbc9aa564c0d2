"""What lines tell other domains.

- ``line_opened``: kwargs ``line_id``, ``plan_code``, ``now``. Sent inside the transaction that
  opens the line, so receivers' writes (charging provisioning) commit or roll back with it.
"""

from django.dispatch import Signal

line_opened = Signal()
