"""What sponsors tell higher domains.

``slices_granted``: slices a line took outside the hot path (a 流量红包), in the sending
transaction; charging turns each into a SPONSOR bucket of the line (origin
``slice:<id>``), settled as every slice is. kwargs: ``line_id`` (int), ``grants``
(list of ``domain.SliceGrant``), ``now`` (aware datetime)."""

from __future__ import annotations

from django.dispatch import Signal

slices_granted = Signal()
