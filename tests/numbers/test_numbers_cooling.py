"""A closed line's number rests 90 days (COOLING), then is for sale again."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.core import clock
from haoka.numbers import operations
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberEvent, PhoneNumber
from tests.support.numbers import seed_catalog, seed_numbers

pytestmark = pytest.mark.django_db


def test_a_cooled_number_goes_back_on_sale_after_ninety_days_and_not_before():
    seed_catalog()
    seed_numbers(generated=5)
    number = PhoneNumber.objects.filter(status=NumberState.AVAILABLE).order_by("id").first()
    PhoneNumber.objects.filter(pk=number.pk).update(status=NumberState.IN_USE, order_ref="HKX1")
    now = clock.now()
    ends = operations.cool_down(msisdn=number.msisdn, now=now)
    assert ends == now + dt.timedelta(days=90)
    assert operations.release_cooled(now=now + dt.timedelta(days=89, hours=23)) == 0
    assert operations.release_cooled(now=now + dt.timedelta(days=90)) == 1
    number.refresh_from_db()
    assert (number.status, number.order_ref) == (NumberState.AVAILABLE, "")
    assert operations.release_cooled(now=now + dt.timedelta(days=91)) == 0
    events = NumberEvent.objects.filter(number=number).order_by("at", "id")
    assert [e.to_status for e in events][-2:] == ["COOLING", "AVAILABLE"]
