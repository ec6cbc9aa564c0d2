"""Property test of CAMARA sessions on the database: whatever volumes sessions ask, whatever
they use, whichever the sponsor revokes, once everything is settled the campaign's budget is
exactly its unsliced shards plus what was charged, each slice is charged for what its
session used and no more, every session ended for the right reason, and the ledger
balances."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging import sponsored
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.sponsors import camara
from haoka.sponsors.camara_models import CamaraSession
from haoka.sponsors.domain import MB, charge_for
from haoka.sponsors.models import BudgetShard, Slice
from tests.support import camara as support
from tests.support.camara import PLAN
from tests.support.charging import make_line
from tests.support.sponsors import make_sponsor

pytestmark = pytest.mark.django_db
sessions = st.lists(
    st.tuples(st.integers(1, 1000), st.integers(0, 100), st.booleans()),  # MB, % used, revoke
    min_size=1,
    max_size=6,
)


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW_OK)
@given(plan=sessions, budget=st.integers(1_00, 30_00))
def test_money_and_bytes_are_conserved_whatever_sessions_use_and_revoke(catalog, now, plan,
                                                                       budget):  # fmt: skip
    sponsor = make_sponsor(now=now)
    campaign = support.camara_campaign(sponsor, now=now, budget_fen=budget)
    expected: dict[str, tuple[int, bool]] = {}
    for volume, share, revoke in plan:
        body = support.start_body(campaign, make_line(plan=PLAN, now=now).msisdn,
                                  "http://127.0.0.1:9/hook", dataVolume=volume)  # fmt: skip
        try:
            session = camara.start(sponsor=sponsor, body=body, correlator=str(uuid.uuid4()),
                                   now=now)  # fmt: skip
        except camara.CamaraError as refused:
            assert refused.code == "QUOTA_EXCEEDED"
            continue
        used = session.volume_bytes * share // 100
        Bucket.objects.filter(origin=f"slice:{session.slice_id}").update(used=used)
        if revoke:
            camara.revoke(session=session, now=now)
        expected[str(session.session_id)] = (used, revoke)
    sponsored.settle(now=now + dt.timedelta(days=1))

    shards = BudgetShard.objects.filter(campaign=campaign)
    charged = sum(s.spent_fen for s in shards)
    assert sum(s.available_fen for s in shards) + charged == budget
    pieces = {p.pk: p for p in Slice.objects.filter(campaign=campaign)}
    assert all(p.state == "SETTLED" for p in pieces.values())
    assert charged == sum(p.charged_fen for p in pieces.values())
    for session in CamaraSession.objects.filter(campaign=campaign):
        used, revoked = expected[str(session.session_id)]
        piece = pieces[session.slice_id]
        assert piece.used_bytes == session.used_bytes == used
        assert piece.charged_fen == charge_for(used, 500, piece.held_fen) <= piece.held_fen
        reason = "TERMINATED_BY_SPONSOR" if revoked else (
            "DATA_EXHAUSTED" if used == session.volume_bytes else "EXPIRED"
        )  # fmt: skip
        assert (session.state, session.end_reason) == ("ENDED", reason)
    held = -ledger.balance_fen(account=f"liability:sponsor_held:{sponsor.sponsor_id}")
    assert held == budget - charged
    assert ledger.trial_balance_fen() == 0
    assert sum(p.bytes for p in pieces.values()) <= sum(v for v, _, _ in plan) * MB
