"""The pure rules of family sharing (no database): the membership state machine, the checks
of an invitation, the cap, and how much a member's request moves out of the pool."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.charging import domain
from haoka.charging import family_rules as rules
from haoka.charging.family_rules import MEMBER_MACHINE, MemberState
from haoka.charging.movements import MB

sizes = st.integers(0, 10**12)


def test_an_invited_line_joins_and_an_active_member_leaves_is_removed_or_dissolved():
    MEMBER_MACHINE.check(current=MemberState.INVITED, target=MemberState.ACTIVE)
    for end in (MemberState.LEFT, MemberState.REMOVED, MemberState.DISSOLVED):
        MEMBER_MACHINE.check(current=MemberState.ACTIVE, target=end)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (MemberState.LEFT, MemberState.ACTIVE),
        (MemberState.EXPIRED, MemberState.ACTIVE),
        (MemberState.INVITED, MemberState.LEFT),
        (MemberState.REMOVED, MemberState.ACTIVE),
        (MemberState.ACTIVE, MemberState.INVITED),
    ],
)
def test_an_ended_membership_never_comes_back_and_an_invitation_cannot_be_left(current, target):
    with pytest.raises(rules.MemberStateConflict):
        MEMBER_MACHINE.check(current=current, target=target)


def test_a_cap_is_whole_megabytes_from_zero_to_a_terabyte():
    assert rules.cap_bytes(megabytes=0) == 0
    assert rules.cap_bytes(megabytes=1536) == 1536 * MB
    for bad in (-1, rules.MAX_CAP_MEGABYTES + 1, 1.5, True, "100"):
        with pytest.raises(rules.CapOutOfRange):
            rules.cap_bytes(megabytes=bad)


def test_a_fifth_line_does_not_fit():
    rules.check_room(counted=3)
    with pytest.raises(rules.FamilyFull):
        rules.check_room(counted=4)


@pytest.mark.parametrize(
    ("line_id", "status", "in_group", "error"),
    [
        (1, "ACTIVE", False, rules.InviteOwnLine),
        (None, "", False, rules.LineNotInvitable),
        (2, "SUSPENDED", False, rules.LineNotInvitable),
        (2, "ACTIVE", True, rules.LineInAnotherGroup),
    ],
)
def test_only_another_active_line_in_no_group_may_be_invited(line_id, status, in_group, error):
    with pytest.raises(error):
        rules.check_invitee(main_line_id=1, line_id=line_id, status=status, in_group=in_group)
    rules.check_invitee(main_line_id=1, line_id=2, status="ACTIVE", in_group=False)


def test_the_pool_asks_only_for_what_buckets_and_zero_rating_leave_unpaid():
    assert rules.shortfall(amount=100, from_buckets=60, zero_rated=10) == 30
    assert rules.shortfall(amount=100, from_buckets=100, zero_rated=0) == 0


@given(want=sizes, cap=sizes, taken=sizes, pool=sizes)
def test_a_share_never_passes_the_want_the_cap_left_or_the_pool(want, cap, taken, pool):
    share = rules.pool_share(want=want, cap=cap, taken=taken, pool=pool)
    assert 0 <= share <= want and share <= pool and taken + share <= max(cap, taken)


@given(amount=sizes, have=st.lists(st.integers(-5, 10**10), max_size=5))
def test_a_take_spreads_over_buckets_in_order_each_within_what_it_has(amount, have):
    available = list(enumerate(have))
    takes = rules.split_take(amount=amount, available=available)
    assert sum(t.amount for t in takes) == min(amount, sum(max(0, h) for h in have))
    for t in takes:
        assert 0 < t.amount <= have[t.bucket_id]
    assert [t.bucket_id for t in takes] == sorted(t.bucket_id for t in takes)


def test_the_family_pool_is_drawn_after_every_bucket_of_the_members_own():
    at = dt.datetime(2026, 5, 10, 4, tzinfo=dt.UTC)

    def bucket(i, source):
        return domain.Bucket(id=i, unit=domain.Unit.BYTES, source=source, available=10,
                             valid_from=at, valid_to=None)  # fmt: skip

    own = [bucket(i, s) for i, s in enumerate(domain.Source) if s != domain.Source.SPONSOR]
    ordered = domain.draw_order(buckets=own, unit=domain.Unit.BYTES, rating_group=None, at=at)
    assert ordered[-1].source == domain.Source.FAMILY
