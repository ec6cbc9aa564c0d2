"""Property tests (hypothesis) of family sharing on the database: whatever the main line and
its members use (offline records, online sessions), whoever leaves, is removed or joins
again, bytes are conserved (the pool and the members' FAMILY buckets add up to what the
plans granted), no bucket goes below zero, no member takes more than its monthly cap, and
accepting an invitation again changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.charging import family
from haoka.charging import family_rules as rules
from haoka.charging.models import Bucket, FamilyMember
from haoka.core import clock
from tests.support.charging import GB, MB, make_line
from tests.support.family import ask_data, make_family
from tests.support.money import use_data
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
#: Apart enough that the step-up limits (one code a minute, five an hour) never refuse.
STEP = dt.timedelta(minutes=13)

member = st.integers(1, 2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("use"), st.integers(0, 2), st.integers(1, 20_000)),
        st.tuples(st.just("ask"), member, st.integers(1, 1024)),
        st.tuples(st.just("leave"), member),
        st.tuples(st.just("remove"), member),
        st.tuples(st.just("join"), member),
    ),
    max_size=8,
)


def _on_buckets(lines) -> int:
    found = Bucket.objects.filter(line_id__in=[x.pk for x in lines], unit="BYTES")
    return found.aggregate(s=Sum("amount"))["s"]


def _taken(line) -> int:
    return Bucket.objects.filter(line=line, source="FAMILY").aggregate(s=Sum("amount"))["s"] or 0


def _check(lines, granted: int, cap: int) -> None:
    assert _on_buckets(lines) == granted  # what left the pool is on a member's bucket
    assert not Bucket.objects.filter(amount__lt=F("used") + F("reserved")).exists()
    assert not Bucket.objects.filter(used__lt=0).exists()
    for line in lines[1:]:
        assert _taken(line) <= cap
    main_plan = Bucket.objects.get(line=lines[0], source="PLAN", origin__endswith=":data")
    assert main_plan.moved_out == sum(_taken(line) for line in lines[1:])


def _live(line) -> FamilyMember | None:
    return FamilyMember.objects.filter(line=line, state="ACTIVE").first()


def _run(step, lines, client, at, cap_mb: int) -> None:
    kind, main = step[0], lines[0]
    line = lines[step[1]]
    if kind == "use":
        use_data(line, step[2] * MB, at=at)
    elif kind == "ask":
        ask_data(client, line, step[2] * MB, now=at, smf=f"smf-{at.timestamp()}")
    elif kind == "leave" and _live(line):
        family.leave(line_id=line.pk, now=at)
    elif kind == "remove" and _live(line):
        family.remove(line_id=main.pk, member_id=_live(line).pk, now=at)
    elif kind == "join" and not _live(line):
        invited = family.invite(line_id=main.pk, user_id=main.user_id, msisdn=line.msisdn,
                                monthly_cap_mb=cap_mb, client_ip="t", now=at)  # fmt: skip
        code = latest_otp(line.msisdn)
        for _ in range(2):  # accepting again changes nothing
            joined = family.accept(member_id=invited.pk, line_id=line.pk,
                                   user_id=line.user_id, code=code, now=at)  # fmt: skip
            assert joined.state == rules.MemberState.ACTIVE


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps, cap_mb=st.integers(0, 3072), spent=st.booleans())
def test_pool_bytes_are_conserved_and_no_member_passes_its_cap(
    client, catalog, now, sequence, cap_mb, spent
):
    with transaction.atomic():
        lines = [make_line(plan=PLAN, now=now) for _ in range(3)]
        if spent:  # the members' own data is gone: every byte they use comes from the pool
            for line in lines[1:]:
                use_data(line, 40 * GB - 200 * MB, at=now)
        granted = _on_buckets(lines)
        make_family(lines[0], lines[1:], cap_mb=cap_mb, now=now)
        for i, step in enumerate(sequence):
            at = now + STEP * (i + 1)
            with clock.frozen(at, all_threads=True):
                _run(step, lines, client, at, cap_mb)
            _check(lines, granted, cap_mb * MB)
        transaction.set_rollback(True)
