"""Keyset pagination walks every row exactly once, whatever the order."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import ledger, pagination
from haoka.core.errors import ValidationError
from haoka.core.models import LedgerAccount
from haoka.core.pagination import InvalidCursor

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture
def accounts() -> list[LedgerAccount]:
    """23 accounts with many ties in balance, name and created_at (and no others: the system
    accounts that migrations open are removed)."""
    LedgerAccount.objects.all().delete()
    rows = []
    for i in range(23):
        rows.append(
            LedgerAccount.objects.create(
                code=f"acct:{i:02d}",
                name=f"n{i % 4}",
                kind="ASSET",
                balance_fen=(i % 5) * 100,
                created_at=T0 + dt.timedelta(minutes=i % 3),
            )
        )
    return rows


def _walk(order: list[str], limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        page = pagination.paginate(
            LedgerAccount.objects.all(), order=order, limit=limit, after=after
        )
        pages.append([a.pk for a in page.items])
        if page.next is None:
            return pages
        after = page.next
        assert len(pages) < 50, "pagination does not terminate"


@pytest.mark.parametrize(
    "order",
    [
        ["id"],
        ["-id"],
        ["balance_fen", "id"],
        ["-balance_fen", "id"],
        ["-balance_fen", "-id"],
        ["name", "-balance_fen", "id"],
        ["code"],
        ["-created_at", "-id"],
        ["created_at", "id"],
    ],
)
@pytest.mark.parametrize("limit", [1, 5, 23, 100])
def test_walking_the_pages_yields_every_row_once_in_order(accounts, order, limit):
    pages = _walk(order, limit)
    walked = [pk for page in pages for pk in page]
    expected = list(LedgerAccount.objects.order_by(*order).values_list("pk", flat=True))
    assert walked == expected
    assert len(walked) == len(set(walked)) == 23
    assert all(len(page) == limit for page in pages[:-1])


def test_the_last_page_has_no_next_cursor(accounts):
    page = pagination.paginate(LedgerAccount.objects.all(), order=["id"], limit=23, after=None)
    assert page.next is None
    assert len(page.items) == 23


def test_a_row_added_behind_the_cursor_does_not_shift_later_pages(accounts):
    first = pagination.paginate(LedgerAccount.objects.all(), order=["code"], limit=10, after=None)
    ledger.open_account(code="acct:00a", name="x", kind="ASSET")  # sorts onto page one
    second = pagination.paginate(
        LedgerAccount.objects.all(), order=["code"], limit=10, after=first.next
    )
    assert second.items[0].code == "acct:10"


def test_no_limit_means_the_default_page_size(accounts):
    page = pagination.paginate(LedgerAccount.objects.all(), order=["id"], limit=None, after=None)
    assert len(page.items) == pagination.DEFAULT_LIMIT


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_a_limit_outside_1_to_100_is_a_validation_error(limit):
    with pytest.raises(ValidationError) as exc:
        pagination.paginate(LedgerAccount.objects.all(), order=["id"], limit=limit, after=None)
    assert exc.value.code == "validation_error"
    assert exc.value.details == {"field": "limit"}


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64!!!",
        "bm90IGpzb24",  # "not json"
        pagination.encode([1, 2]),  # wrong width
        "eyJhIjoxfQ",  # {"a":1}: not a list
        pagination.encode([True]),
        pagination.encode([None]),
        pagination.encode([1.5]),
        "_w",  # not UTF-8
    ],
)
def test_a_malformed_cursor_is_refused(accounts, cursor):
    with pytest.raises(InvalidCursor) as exc:
        pagination.paginate(LedgerAccount.objects.all(), order=["id"], limit=5, after=cursor)
    assert exc.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    ("order", "values"),
    [(["id"], ["abc"]), (["-created_at", "-id"], ["yesterday", 3])],
)
def test_a_well_formed_cursor_with_values_of_the_wrong_type_is_refused(accounts, order, values):
    with pytest.raises(InvalidCursor):
        pagination.paginate(
            LedgerAccount.objects.all(), order=order, limit=5, after=pagination.encode(values)
        )
