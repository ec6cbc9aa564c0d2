"""Bounded types for what the API takes from outside (django-ninja / pydantic fields).

Every integer or datetime a request carries is declared with one of these, so a value a
column or a computation cannot hold (``2**63`` fen, the year 1 or 9999) is refused as a 422
``validation_error`` before it reaches a rule or the database, and money and counts are
strict JSON integers: ``"1000"``, ``1000.0`` and ``true`` are refused, not coerced.

Path and query parameters arrive as text, so their types (:data:`Id`) are not strict, only
bounded. Datetimes are never strict (JSON has no datetime: they arrive as ISO 8601 text).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, Field, Strict

#: The largest value of a signed 64-bit column (PostgreSQL ``bigint``, SQLite ``integer``).
MAX_BIGINT = 2**63 - 1
#: The most money one request may name: ¥10 billion (far above any price, top-up or
#: payout; sums of many such amounts stay far below :data:`MAX_BIGINT`).
MAX_FEN = 10**12
#: The most units (bytes, seconds, messages) one usage record or report may carry: 2**53
#: (8 PiB; exact in JSON readers that use doubles). Rounding up to a rating step and adding
#: a batch of a thousand of them stays below :data:`MAX_BIGINT`.
MAX_UNITS = 2**53
#: Small counts: months, answers' indexes, list positions.
MAX_COUNT = 2**31 - 1
#: The window of instants a request may name: dates before 2000 or after 2100 are typing
#: mistakes or attacks (and the years 1 and 9999 overflow on a time-zone conversion).
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2101, 1, 1, tzinfo=dt.UTC)  # exclusive: the end of 2100

#: Money in integer fen, 0 to :data:`MAX_FEN`.
Fen = Annotated[int, Strict(), Field(ge=0, le=MAX_FEN)]
#: Money that may be negative (an adjustment), within :data:`MAX_FEN` either way.
SignedFen = Annotated[int, Strict(), Field(ge=-MAX_FEN, le=MAX_FEN)]
#: A small non-negative count (months, an index).
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_COUNT)]
#: A number of months (a contract, how long a commission recurs): 0 to 10 years.
Months = Annotated[int, Strict(), Field(ge=0, le=120)]
#: A large non-negative count of units (bytes, seconds, messages), up to :data:`MAX_UNITS`.
BigCount = Annotated[int, Strict(), Field(ge=0, le=MAX_UNITS)]
#: A 3GPP rating group (Uint32 in TS 29.571).
RatingGroup = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
#: A ratio in basis points (万分之一), 0 to 100 %.
BasisPoints = Annotated[int, Strict(), Field(ge=0, le=10_000)]
#: A row id in a path or a query (text there, so not strict): 1 to :data:`MAX_BIGINT`.
Id = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
#: An aware instant between 2000 and the end of 2100 (a naive one is refused).
PlausibleDatetime = Annotated[AwareDatetime, Field(ge=EARLIEST, lt=LATEST)]
