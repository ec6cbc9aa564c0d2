"""Distribution API tests: callers with bearer tokens (agents, consumers, staff), commission
made withdrawable through the real sweep steps, and a fake payout provider."""

from __future__ import annotations

import datetime as dt
import itertools

from haoka.accounts import operations as account_ops
from haoka.accounts.models import Role, User
from haoka.distribution import commission
from haoka.distribution.models import Agent
from haoka.payments import payouts
from tests.support.clients import Caller
from tests.support.distribution import T0, make_user, sell

_staff = itertools.count(1)


def login(client, user: User) -> Caller:
    """A consumer-style session for ``user`` (as phone + OTP login would issue)."""
    return Caller(client, user, account_ops._issue_session(user=user, now=T0).token)


def as_agent(client, agent: Agent) -> Caller:
    return login(client, agent.user)


def consumer(client) -> Caller:
    return login(client, make_user())


def staff(client) -> Caller:
    user = User.objects.create(username=f"ops{next(_staff)}", role=Role.STAFF)
    return login(client, user)


def anonymous(client) -> Caller:
    return Caller(client, None)


def error_code(response) -> str:
    return response.json()["error"]["code"]


def make_withdrawable(agent: Agent, *, sales: int = 1) -> int:
    """Sell ``sales`` activated cards through the agent and run the sweep steps until their
    激活秒返 is withdrawable (tier C: 15 days' hold, then 7 days' cool-down). Returns the
    withdrawable balance."""
    for _ in range(sales):
        sell(agent)
    commission.process_due(now=T0)
    commission.settle_due(now=T0 + dt.timedelta(days=16))
    commission.release_due(now=T0 + dt.timedelta(days=24))
    return commission.balances_fen(agent_id=agent.pk)["withdrawable"]


class FakePayouts:
    """The payout provider answering at once (SUCCEEDED, or ``fail`` with a reason)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[str] = []

    def send_payout(self, *, ref, amount_fen, channel, payee_account, payee_name):
        self.sent.append(ref)
        if self.fail:
            return payouts.PayoutResult("FAILED", f"P-{ref}", "ACCOUNT_INVALID", "账户无效")
        return payouts.PayoutResult("SUCCEEDED", f"P-{ref}", "", "")
