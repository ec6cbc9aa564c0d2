"""Reads of family sharing (家庭共享) for the API and pages: a line's group as its main line's
owner sees it (every member's cap and use this month, the pool left) or as a member's owner
sees it (the main line, its own cap and use), and the invitations waiting for a line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from haoka.charging import family_pool
from haoka.charging import family_rules as rules
from haoka.charging.family_rules import GroupState, MemberState, Role
from haoka.charging.models import Bucket, FamilyGroup, FamilyMember
from haoka.core.pii import mask_phone
from haoka.lines import queries as line_queries


@dataclass(frozen=True)
class MemberView:
    member_id: int
    msisdn: str  # masked
    role: str
    state: str
    state_label: str
    cap_bytes: int
    taken_bytes: int  # moved out of the pool this month (what counts towards the cap)
    used_bytes: int  # of it, used
    reserved_bytes: int  # of it, held by open sessions
    code_expires_at: dt.datetime | None
    main_msisdn: str = ""  # masked: whose group it is (what an invitation says)


@dataclass(frozen=True)
class FamilyView:
    group_id: int | None
    role: str  # MAIN | MEMBER | "" (only invitations)
    main_msisdn: str  # masked
    pool_left_bytes: int  # shown to the main line's owner only (0 to a member)
    members: list[MemberView] = field(default_factory=list)
    invitations: list[MemberView] = field(default_factory=list)


def _rows(members: list[FamilyMember], *, now: dt.datetime) -> list[MemberView]:
    mains = {m.pk: m.group.main_line_id for m in members}
    numbers = line_queries.msisdns_of(line_ids=[m.line_id for m in members] + list(mains.values()))
    keys = {
        family_pool.origin(group_id=m.group_id, line_id=m.line_id, now=now): m.pk for m in members
    }
    use = {
        keys[o]: (a, u, r)
        for o, a, u, r in Bucket.objects.filter(origin__in=list(keys)).values_list(
            "origin", "amount", "used", "reserved"
        )
    }
    return [
        _one(
            m,
            numbers.get(m.line_id, ""),
            use.get(m.pk, (0, 0, 0)),
            main=numbers.get(mains[m.pk], ""),
        )
        for m in members
    ]


def _one(m: FamilyMember, msisdn: str, use: tuple[int, int, int], *, main: str) -> MemberView:
    return MemberView(
        member_id=m.pk, msisdn=mask_phone(msisdn), role=m.role, state=m.state,
        state_label=MemberState(m.state).label, cap_bytes=m.cap_bytes, taken_bytes=use[0],
        used_bytes=use[1], reserved_bytes=use[2], code_expires_at=m.code_expires_at,
        main_msisdn=mask_phone(main),
    )  # fmt: skip


def _pool_left(main_line_id: int, *, now: dt.datetime) -> int:
    rows = family_pool.pool_rows(main_line_id, now=now)
    return sum(max(0, r.amount - r.used - r.reserved) for r in rows)


def family_of(*, line_id: int, now: dt.datetime) -> FamilyView:
    """The line's group (as its main line's or a member's owner sees it) and the live
    invitations to it. Raises FamilyNotFound (no group, no invitation)."""
    mine = (
        FamilyMember.objects.filter(line_id=line_id, state=MemberState.ACTIVE)
        .select_related("group")
        .first()
    )
    invited = (
        FamilyMember.objects.filter(
            line_id=line_id, state=MemberState.INVITED, code_expires_at__gt=now
        )
        .select_related("group")
        .order_by("id")
    )
    invitations = _rows(list(invited), now=now)
    if mine is None or mine.group.state != GroupState.ACTIVE:
        if not invitations:
            raise rules.FamilyNotFound()
        return FamilyView(None, "", "", 0, [], invitations)
    group: FamilyGroup = mine.group
    main = line_queries.msisdns_of(line_ids=[group.main_line_id]).get(group.main_line_id, "")
    if mine.role == Role.MAIN:
        live = group.members.filter(state__in=rules.COUNTED).exclude(
            state=MemberState.INVITED, code_expires_at__lte=now
        )
        members = _rows(list(live.select_related("group").order_by("id")), now=now)
        left = _pool_left(group.main_line_id, now=now)
        return FamilyView(group.pk, Role.MAIN, mask_phone(main), left, members, invitations)
    return FamilyView(group.pk, Role.MEMBER, mask_phone(main), 0, _rows([mine], now=now),
                      invitations)  # fmt: skip
