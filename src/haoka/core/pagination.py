"""Keyset (cursor) pagination: ``?limit=&after=`` -> ``{"items": [...], "next": cursor|None}``.

The cursor is the sort key of the last item, so pages stay stable while rows are added, and a
page costs one index range scan however deep it is. Order fields must end with a unique one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet

from haoka.core.errors import ValidationError

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class InvalidCursor(ValidationError):
    code = "invalid_cursor"
    message = "分页游标无效"


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next: str | None


def _plain(value: Any) -> Any:
    """A cursor value as JSON: dates and datetimes as ISO strings (the ORM parses them back)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def encode(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, *, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if (
        not isinstance(values, list)
        or len(values) != width
        or not all(isinstance(v, int | str) and not isinstance(v, bool) for v in values)
    ):
        raise InvalidCursor()
    return values


def _after_q(order: Sequence[str], values: Sequence[Any]) -> Q:
    """(a, b, c) > (x, y, z) as OR of prefixes, honouring '-' (descending) per field."""
    condition = Q(pk__in=[])
    for i, field in enumerate(order):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        term = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(order[:i], values[:i], strict=True):
            term &= Q(**{prev_field.lstrip("-"): prev_value})
        condition |= term
    return condition


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(f"limit 须在 1 到 {MAX_LIMIT} 之间", field="limit")
    return limit


def paginate(qs: QuerySet, *, order: Sequence[str], limit: int | None, after: str | None) -> Page:
    """One page of ``qs`` ordered by ``order`` (last field unique); ``qs`` may be a
    ``.values()`` queryset. Raises InvalidCursor."""
    size = clamp_limit(limit)
    qs = qs.order_by(*order)
    if after:
        try:
            qs = qs.filter(_after_q(order, decode(after, width=len(order))))
        except (ValueError, TypeError, DjangoValidationError):
            # Well-formed JSON whose values do not fit the fields: a forged or stale cursor.
            raise InvalidCursor() from None
    rows = list(qs[: size + 1])
    items = rows[:size]
    if len(rows) <= size:
        return Page(items=items, next=None)
    return Page(items=items, next=encode([_field(items[-1], f.lstrip("-")) for f in order]))


def _field(item: Any, name: str) -> Any:
    """A sort value of a row: a model instance, or a dict from ``.values()``."""
    return item[name] if isinstance(item, dict) else getattr(item, name)
