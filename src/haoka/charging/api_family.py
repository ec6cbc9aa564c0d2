"""家庭共享 over the API: a line's owner makes a family group for the line (its main line),
invites up to 4 lines (an SMS code to each invited line's own number), changes a member's
monthly cap, removes a member or dissolves the group; an invited line's owner accepts with
the code and may leave. ``GET .../family`` shows the group: every member's use this month to
the main line's owner, its own to a member's.

Only a line's owner (a consumer session) may act for it; staff may read. Anyone else's line,
or a member of another group, answers 404.
"""

from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.charging import family, family_view, movements
from haoka.charging.api_money import line_of
from haoka.charging.family_rules import MemberState
from haoka.charging.models import FamilyMember
from haoka.core import clock
from haoka.core.clientip import client_ip
from haoka.core.pii import mask_phone
from haoka.core.schema_types import Id
from haoka.lines import queries as line_queries

router = Router(tags=["lines"], auth=bearer)
BASE = "/lines/{msisdn}"


class InviteIn(Schema):
    msisdn: str = Field(..., max_length=11, description="受邀号码（本平台的正常号码）")
    monthly_cap_mb: int = Field(..., description="每月最多共享流量（MB），0 表示暂不共享")


class CapIn(Schema):
    monthly_cap_mb: int = Field(..., description="每月最多共享流量（MB）")


class AcceptIn(Schema):
    code: str = Field(..., max_length=10, description="发送到受邀号码的短信验证码")


class MemberOut(Schema):
    member_id: int
    msisdn: str  # masked
    role: str
    state: str
    state_label: str
    cap_bytes: int
    cap: str
    taken_bytes: int
    used_bytes: int
    used: str
    reserved_bytes: int
    code_expires_at: dt.datetime | None


class FamilyOut(Schema):
    group_id: int | None
    role: str
    main_msisdn: str
    pool_left_bytes: int
    pool_left: str
    members: list[MemberOut]
    invitations: list[MemberOut]


def _member(m: family_view.MemberView) -> MemberOut:
    return MemberOut(
        **m.__dict__, cap=movements.format_bytes(m.cap_bytes),
        used=movements.format_bytes(m.used_bytes),
    )  # fmt: skip


def _view(line_id: int) -> FamilyOut:
    found = family_view.family_of(line_id=line_id, now=clock.now())
    return FamilyOut(
        group_id=found.group_id, role=found.role, main_msisdn=found.main_msisdn,
        pool_left_bytes=found.pool_left_bytes,
        pool_left=movements.format_bytes(found.pool_left_bytes),
        members=[_member(m) for m in found.members],
        invitations=[_member(m) for m in found.invitations],
    )  # fmt: skip


def _row(member: FamilyMember) -> MemberOut:
    msisdn = line_queries.msisdns_of(line_ids=[member.line_id]).get(member.line_id, "")
    return MemberOut(
        member_id=member.pk, msisdn=mask_phone(msisdn), role=member.role, state=member.state,
        state_label=MemberState(member.state).label, cap_bytes=member.cap_bytes,
        cap=movements.format_bytes(member.cap_bytes), taken_bytes=0, used_bytes=0, used="0MB",
        reserved_bytes=0, code_expires_at=member.code_expires_at,
    )  # fmt: skip


@router.post(f"{BASE}/family", response={201: FamilyOut})
def create_family(request, msisdn: str):
    """Make a family group with this line as the main line (its plan data becomes the pool)."""
    line = line_of(request, msisdn, write=True)
    family.create(line_id=line.pk, user_id=request.auth.pk, now=clock.now())
    return Status(201, _view(line.pk))


@router.get(f"{BASE}/family", response=FamilyOut)
def show_family(request, msisdn: str):
    """The line's group: to the main line's owner every member with its cap and use this
    month and the pool left; to a member's owner its own; and invitations waiting."""
    line = line_of(request, msisdn)
    return _view(line.pk)


@router.delete(f"{BASE}/family", response=FamilyOut)
def dissolve_family(request, msisdn: str):
    """Dissolve the group: members stop sharing, invitations are withdrawn."""
    line = line_of(request, msisdn, write=True)
    family.dissolve(line_id=line.pk, now=clock.now())
    return FamilyOut(group_id=None, role="", main_msisdn="", pool_left_bytes=0, pool_left="0MB",
                     members=[], invitations=[])  # fmt: skip


@router.post(f"{BASE}/family/invites", response={201: MemberOut})
def invite_member(request, msisdn: str, body: InviteIn):
    """Invite a line of the platform (at most 4): a code goes to that line's number."""
    line = line_of(request, msisdn, write=True)
    member = family.invite(
        line_id=line.pk, user_id=request.auth.pk, msisdn=body.msisdn,
        monthly_cap_mb=body.monthly_cap_mb, client_ip=client_ip(request), now=clock.now(),
    )  # fmt: skip
    return Status(201, _row(member))


@router.patch(BASE + "/family/members/{member_id}", response=MemberOut)
def change_cap(request, msisdn: str, member_id: Id, body: CapIn):
    """Change a member's monthly cap (or an invitation's)."""
    line = line_of(request, msisdn, write=True)
    member = family.set_cap(
        line_id=line.pk, member_id=member_id, monthly_cap_mb=body.monthly_cap_mb, now=clock.now()
    )
    return _row(member)


@router.delete(BASE + "/family/members/{member_id}", response=MemberOut)
def remove_member(request, msisdn: str, member_id: Id):
    """Remove a member (its unused shared data goes back to the pool) or withdraw an invite."""
    line = line_of(request, msisdn, write=True)
    return _row(family.remove(line_id=line.pk, member_id=member_id, now=clock.now()))


@router.post(BASE + "/family-invites/{member_id}/accept", response=MemberOut)
def accept_invite(request, msisdn: str, member_id: Id, body: AcceptIn):
    """Join the family group the line was invited to, with the code sent to its number."""
    line = line_of(request, msisdn, write=True)
    member = family.accept(
        member_id=member_id, line_id=line.pk, user_id=request.auth.pk, code=body.code,
        now=clock.now(),
    )  # fmt: skip
    return _row(member)


@router.post(f"{BASE}/family/leave", response=MemberOut)
def leave_family(request, msisdn: str):
    """The member line leaves its group."""
    line = line_of(request, msisdn, write=True)
    return _row(family.leave(line_id=line.pk, now=clock.now()))
