"""Holding a number: 15 minutes, one winner, at most three per user, released on expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts import operations as account_ops
from haoka.core import clock
from haoka.numbers import operations
from haoka.numbers.domain import NumberState
from haoka.numbers.models import NumberEvent, PhoneNumber
from tests.support.numbers import make_user, seed_catalog, seed_numbers

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 4, 0, tzinfo=dt.UTC)
NUMBER = "13912348888"


@pytest.fixture(autouse=True)
def pool():
    seed_catalog()
    seed_numbers(generated=20)
    with clock.frozen(T0, all_threads=True):
        yield


def _token(user) -> str:
    return account_ops._issue_session(user=user, now=T0).token


def _reserve(client, msisdn, token):
    return client.post(
        f"/api/v1/numbers/{msisdn}/reserve", headers={"Authorization": f"Bearer {token}"}
    )


def test_a_hold_lasts_fifteen_minutes_and_is_recorded(client):
    user = make_user("a")
    response = _reserve(client, NUMBER, _token(user))
    assert response.status_code == 201
    assert response.json()["reserved_until"].startswith("2026-05-01T04:15:00")
    number = PhoneNumber.objects.get(msisdn=NUMBER)
    assert (number.status, number.reserved_by_id) == (NumberState.RESERVED, user.pk)
    event = NumberEvent.objects.get(number=number)
    assert (event.from_status, event.to_status, event.actor) == (
        "AVAILABLE",
        "RESERVED",
        f"user:{user.pk}",
    )


def test_reserving_needs_a_signed_in_caller(client):
    response = client.post(f"/api/v1/numbers/{NUMBER}/reserve")
    assert response.status_code == 401
    assert PhoneNumber.objects.get(msisdn=NUMBER).status == NumberState.AVAILABLE


def test_a_number_held_by_someone_else_is_unavailable(client):
    _reserve(client, NUMBER, _token(make_user("a")))
    response = _reserve(client, NUMBER, _token(make_user("b")))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "number_unavailable"


def test_reserving_ones_own_hold_again_returns_it_unchanged(client):
    token = _token(make_user("a"))
    first = _reserve(client, NUMBER, token).json()
    with clock.frozen(T0 + dt.timedelta(minutes=5), all_threads=True):
        again = _reserve(client, NUMBER, token)
    assert again.status_code == 201 and again.json() == first


def test_a_user_may_hold_at_most_three_numbers(client):
    token = _token(make_user("a"))
    free = list(PhoneNumber.objects.filter(status="AVAILABLE").values_list("msisdn", flat=True)[:4])
    assert [_reserve(client, m, token).status_code for m in free[:3]] == [201, 201, 201]
    response = _reserve(client, free[3], token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_holds"
    assert (
        client.get("/api/v1/numbers/holds", headers={"Authorization": f"Bearer {token}"}).json()[2][
            "msisdn"
        ]
        in free[:3]
    )


def test_releasing_gives_the_number_back_and_only_the_holder_may(client):
    token_a, token_b = _token(make_user("a")), _token(make_user("b"))
    _reserve(client, NUMBER, token_a)
    other = client.delete(
        f"/api/v1/numbers/{NUMBER}/reserve", headers={"Authorization": f"Bearer {token_b}"}
    )
    assert other.status_code == 404 and other.json()["error"]["code"] == "hold_not_found"
    mine = client.delete(
        f"/api/v1/numbers/{NUMBER}/reserve", headers={"Authorization": f"Bearer {token_a}"}
    )
    assert mine.status_code == 204
    assert PhoneNumber.objects.get(msisdn=NUMBER).status == NumberState.AVAILABLE


def test_an_expired_hold_is_released_by_the_worker_task():
    user = make_user("a")
    operations.reserve(user_id=user.pk, msisdn=NUMBER, now=T0)
    assert operations.release_expired_holds(now=T0 + dt.timedelta(minutes=14)) == 0
    assert operations.release_expired_holds(now=T0 + dt.timedelta(minutes=15)) == 1
    number = PhoneNumber.objects.get(msisdn=NUMBER)
    assert (number.status, number.reserved_by_id, number.reserved_until) == (
        "AVAILABLE",
        None,
        None,
    )
    assert NumberEvent.objects.filter(number=number).last().reason == "预占超时释放"


def test_an_expired_hold_can_be_taken_by_another_buyer_before_the_worker_runs():
    operations.reserve(user_id=make_user("a").pk, msisdn=NUMBER, now=T0)
    later = T0 + dt.timedelta(minutes=16)
    hold = operations.reserve(user_id=make_user("b").pk, msisdn=NUMBER, now=later)
    assert hold.reserved_until == later + dt.timedelta(minutes=15)
    moves = list(
        NumberEvent.objects.filter(number__msisdn=NUMBER).values_list("from_status", "to_status")
    )
    assert moves == [
        ("AVAILABLE", "RESERVED"),
        ("RESERVED", "AVAILABLE"),
        ("AVAILABLE", "RESERVED"),
    ]


def test_expired_holds_no_longer_count_toward_the_limit_of_three():
    user = make_user("a")
    free = list(PhoneNumber.objects.filter(status="AVAILABLE").values_list("msisdn", flat=True)[:4])
    for msisdn in free[:3]:
        operations.reserve(user_id=user.pk, msisdn=msisdn, now=T0)
    lapsed = T0 + dt.timedelta(minutes=15)
    fourth = operations.reserve(user_id=user.pk, msisdn=free[3], now=lapsed)
    assert fourth == operations.Hold(msisdn=free[3], reserved_until=lapsed + operations.HOLD)
    assert operations.active_holds(user_id=user.pk, now=lapsed) == [fourth]
    # the worker's sweep gives the three lapsed holds back to the pool, and only those
    assert operations.release_expired_holds(now=lapsed) == 3
    numbers = PhoneNumber.objects.filter(msisdn__in=free).order_by("msisdn")
    assert {n.msisdn: (n.status, n.reserved_by_id) for n in numbers} == {
        free[0]: (NumberState.AVAILABLE, None),
        free[1]: (NumberState.AVAILABLE, None),
        free[2]: (NumberState.AVAILABLE, None),
        free[3]: (NumberState.RESERVED, user.pk),
    }
    released = NumberEvent.objects.filter(number__msisdn__in=free[:3], to_status="AVAILABLE")
    assert sorted(released.values_list("number__msisdn", flat=True)) == sorted(free[:3])


def test_a_number_not_in_the_pool_or_malformed_cannot_be_reserved(client):
    token = _token(make_user("a"))
    assert _reserve(client, "13812346666", token).json()["error"]["code"] == "number_not_found"
    assert _reserve(client, "1381234", token).json()["error"]["code"] == "invalid_msisdn"
