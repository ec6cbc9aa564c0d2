"""Sponsors tests: valid 统一社会信用代码 made up on demand, people with sessions, an applied
and approved sponsor, API calls."""

from __future__ import annotations

import datetime as dt
import itertools

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.core import ledger
from haoka.sponsors import campaigns, domain, operations
from haoka.sponsors.models import Sponsor
from tests.support.clients import Caller
from tests.support.payments import deliver

#: 10:00 Beijing on 1 March 2026.
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
_serial = itertools.count(1)


def make_uscc(serial: int) -> str:
    """A valid code of a Shenzhen enterprise whose organization code is the serial."""
    body = f"{serial:08d}"
    first17 = "91440300" + body + domain.organization_check(body)
    return first17 + domain.uscc_check(first17)


def make_user(*, role: str = "CONSUMER") -> User:
    n = next(_serial)
    phone = f"137{n:08d}"
    return User.objects.create(username=phone, phone=phone, role=role)


def signed_in(client, user: User, *, now: dt.datetime = T0) -> Caller:
    return Caller(client, user, account_ops._issue_session(user=user, now=now).token)


def staff(client) -> Caller:
    return signed_in(client, make_user(role="STAFF"))


def application(**overrides) -> dict:
    n = next(_serial)
    return {
        "company_name": f"测试科技有限公司{n}",
        "uscc": make_uscc(n),
        "kind": "APP",
        "contact_name": "张小明",
        "contact_phone": "13800138000",
        **overrides,
    }


def make_sponsor(*, approved: bool = True, now: dt.datetime = T0, **overrides) -> Sponsor:
    """A sponsor applied for by a new person (and approved by staff)."""
    user = make_user()
    sponsor = operations.apply(user_id=user.pk, now=now, **application(**overrides))
    if approved:
        sponsor = operations.decide(
            sponsor_id=sponsor.sponsor_id, approve=True, actor="staff:test", reason="", now=now
        )
    return sponsor


def member_of(client, sponsor: Sponsor) -> Caller:
    """A session of the sponsor's applicant."""
    return signed_in(client, User.objects.get(pk=sponsor.applicant_id))


def error_code(response) -> str:
    return response.json()["error"]["code"]


def pay_topup(gateway, topup, *, at: dt.datetime, commits) -> dict:
    """The payer pays the sponsor top-up's payment; the notification is delivered and the
    payment_succeeded receivers run (as after a real commit). Returns the notification."""
    merchant_order_id = gateway.payments[topup.pay_url.rsplit("/", 1)[1]].merchant_order_id
    note = gateway.pay(merchant_order_id, at=at)
    with commits():
        deliver(note, at=at)
    return note


def fund(sponsor: Sponsor, fen: int, *, key: str) -> None:
    """Money in the sponsor's wallet as a paid top-up would leave it (no gateway)."""
    ledger.post(
        legs=[
            ledger.Leg("liability:customer_prepayments", fen),
            ledger.Leg(f"liability:sponsor:{sponsor.sponsor_id}", -fen),
        ],
        kind="sponsor.topup",
        key=key,
    )


DOUYIN = 1006  # 抖音, an app class of the seed catalog


def make_campaign(sponsor: Sponsor, *, now: dt.datetime = T0, fund_fen: int | None = None,
                  **overrides):  # fmt: skip
    """An ACTIVE 定向免流 campaign of the sponsor (its wallet funded with the budget first),
    valid for a year, 1 GB a line a month at ¥5 a GB."""
    values = {
        "kind": "APP_FREE_FLOW", "name": "抖音免流", "budget_fen": 100_00,
        "valid_from": now - dt.timedelta(hours=1), "valid_to": now + dt.timedelta(days=365),
        "rating_groups": [DOUYIN], "per_line_cap_mb": 1024, "price_fen_per_gb": 500,
        "eligibility": {"all": True}, **overrides,
    }  # fmt: skip
    fund(sponsor, values["budget_fen"] if fund_fen is None else fund_fen,
         key=f"fund:{next(_serial)}")  # fmt: skip
    return campaigns.create(sponsor=sponsor, actor="test", now=now, **values)
