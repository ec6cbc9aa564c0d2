"""Distribution's hand-written statements: the commission sweeps save the sales they handled
in one UPDATE (Django's ``bulk_update`` costs more CPU than the database spends on it)."""

from __future__ import annotations

from collections.abc import Sequence

from haoka.core import bulk
from haoka.distribution.models import Sale


def save_sales(sales: Sequence[Sale], fields: Sequence[str]) -> int:
    """Write these fields of the (loaded, locked) sales in one UPDATE; the rows updated."""
    return bulk.update_rows(Sale, sales, fields)
