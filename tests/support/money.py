"""Helpers of the money-side tests (top-ups, packs, cycles, bills, alerts, API): Beijing
instants, a consumer's session token, API calls, paying through the payments tests' fake
gateway, and rating usage as offline records."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.catalog.models import Plan
from haoka.charging import operations, tariffs
from haoka.charging.models import TopUp
from haoka.core import clock
from haoka.lines.models import Line
from tests.support.payments import FakeGateway, deliver

__all__ = ["FakeGateway", "deliver"]
BEIJING = clock.BEIJING
_records = itertools.count(1)


def beijing(*args) -> dt.datetime:
    """An aware UTC instant from Beijing wall-clock parts: beijing(2026, 6, 1, 0, 5)."""
    return dt.datetime(*args, tzinfo=BEIJING).astimezone(dt.UTC)


def session_token(line: Line, now: dt.datetime) -> str:
    """A consumer session token of the line's owner (as phone + OTP login issues)."""
    return account_ops._issue_session(user=User.objects.get(pk=line.user_id), now=now).token


def staff_token(now: dt.datetime) -> str:
    user = User.objects.create(username=f"staff-{next(_records)}", role="STAFF", is_staff=True)
    return account_ops._issue_session(user=user, now=now).token


def call(client, token: str, method: str, path: str, body: dict | None = None, **headers):
    kwargs = {"headers": {"Authorization": f"Bearer {token}", **headers}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def pay(gateway: FakeGateway, topup: TopUp, *, at: dt.datetime, commits) -> dict:
    """The payer pays the top-up's payment; the notification is delivered and the
    payment_succeeded receivers run (as after a real commit). Returns the notification."""
    payment_merchant_id = gateway.payments[topup.pay_url.rsplit("/", 1)[1]].merchant_order_id
    note = gateway.pay(payment_merchant_id, at=at)
    with commits():
        deliver(note, at=at)
    return note


def set_plan(code: str, **fields) -> None:
    Plan.objects.filter(code=code).update(**fields)
    tariffs.forget_cached()


def use_data(line: Line, amount: int, *, at: dt.datetime, rating_group: int | None = None):
    """Rate ``amount`` bytes of data used at ``at`` as one offline record (clock at ``at``)."""
    record = operations.RecordIn(
        record_id=f"cdr-{next(_records)}",
        subscriber=line.msisdn,
        service="data",
        amount=amount,
        started_at=at,
        rating_group=rating_group,
    )
    with clock.frozen(at):
        [outcome] = operations.rate_records(records=[record], now=at)
    assert outcome.status == "RATED", outcome
    return outcome
