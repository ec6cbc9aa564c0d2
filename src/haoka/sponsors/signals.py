"""What sponsors tell higher domains (charging turns slices into SPONSOR buckets).

- ``slices_granted(line_id, grants, now)``: slices a line took outside the hot path (a 流量红包,
  an enterprise pool), in the sending transaction; charging turns each into a SPONSOR bucket
  of the line (origin ``slice:<id>``), settled as every slice is. ``grants`` is a list of
  ``domain.SliceGrant``.
- ``camara_session_started(grant, line_id, now)``: a CAMARA session took the budget slice
  ``grant`` (``domain.SliceGrant``, no rating groups: any traffic) for the line; sent inside
  the starting transaction. Charging gives the line a SPONSOR bucket ``slice:<id>``.
- ``camara_session_closing(slice_id, line_id, reason, now)``: the sponsor revoked the
  session: the bucket ends now (under the line's lock) and, when nothing of it is reserved,
  the slice is settled at once (``slices.settle_slice`` with ``end_hint=reason``).
- ``camara_usage_wanted(slice_ids)``: receivers return ``{slice_id: bytes used}`` of the open
  slices' buckets (what an active session consumed so far).
"""

from __future__ import annotations

from django.dispatch import Signal

slices_granted = Signal()
camara_session_started = Signal()
camara_session_closing = Signal()
camara_usage_wanted = Signal()
