"""Pure rules of family sharing (家庭共享): a main line's plan data as a pool its members draw
after their own buckets, each up to a monthly cap set by the main line's owner. No database,
no clock: ``at`` and every amount are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import models

from haoka.charging.movements import MB
from haoka.core import states
from haoka.core.errors import Conflict, IllegalTransition, NotFound, ValidationError

#: Lines a main line may invite (invitations waiting and members, the main line not counted).
MAX_MEMBERS = 4
#: The largest monthly cap a member may get (an input bound: 1 TB).
MAX_CAP_MEGABYTES = 1024 * 1024


class GroupState(models.TextChoices):
    ACTIVE = "ACTIVE", "共享中"
    DISSOLVED = "DISSOLVED", "已解散"


class Role(models.TextChoices):
    MAIN = "MAIN", "主卡"
    MEMBER = "MEMBER", "副卡"


class MemberState(models.TextChoices):
    INVITED = "INVITED", "待确认"
    ACTIVE = "ACTIVE", "共享中"
    EXPIRED = "EXPIRED", "邀请已过期"
    CANCELLED = "CANCELLED", "邀请已取消"
    LEFT = "LEFT", "已退出"
    REMOVED = "REMOVED", "已移出"
    DISSOLVED = "DISSOLVED", "家庭已解散"


class MemberStateConflict(IllegalTransition):
    code = "family_member_state_conflict"
    message = "家庭成员当前状态不允许此操作"


#: A line is invited (an SMS code to its number), then joins (ACTIVE) with the code, or the
#: code runs out (EXPIRED) or the owner withdraws the invitation or dissolves the group
#: (CANCELLED). A member leaves (LEFT), is removed by the owner (REMOVED) or goes with the
#: group (DISSOLVED). The main line's own row is ACTIVE until the group is dissolved.
MEMBER_MACHINE = states.Machine(
    MemberState,
    {
        MemberState.INVITED: {MemberState.ACTIVE, MemberState.EXPIRED, MemberState.CANCELLED},
        MemberState.ACTIVE: {MemberState.LEFT, MemberState.REMOVED, MemberState.DISSOLVED},
        MemberState.EXPIRED: set(),
        MemberState.CANCELLED: set(),
        MemberState.LEFT: set(),
        MemberState.REMOVED: set(),
        MemberState.DISSOLVED: set(),
    },
    error=MemberStateConflict,
)
#: A membership that holds the line (UNIQUE per line among ACTIVE rows).
HOLDING = (MemberState.ACTIVE,)
#: Rows that count towards :data:`MAX_MEMBERS` (with an INVITED one's code still valid).
COUNTED = (MemberState.INVITED, MemberState.ACTIVE)


# ---------------------------------------------------------------- errors


class FamilyNotFound(NotFound):
    code = "family_not_found"
    message = "家庭共享群组不存在"


class FamilyMemberNotFound(NotFound):
    code = "family_member_not_found"
    message = "家庭成员或邀请不存在"


class LineInAnotherGroup(Conflict):
    code = "family_line_in_group"
    message = "该号码已加入一个家庭共享群组"


class FamilyFull(Conflict):
    code = "family_full"
    message = f"家庭共享最多邀请 {MAX_MEMBERS} 个号码"


class LineNotInvitable(Conflict):
    code = "family_line_unavailable"
    message = "受邀号码不是本平台的正常号码"


class InviteOwnLine(ValidationError):
    code = "family_invite_self"
    message = "不能邀请主卡自己"


class AlreadyInvited(Conflict):
    code = "family_already_invited"
    message = "已邀请该号码，请等待对方确认"


class InviteExpired(Conflict):
    code = "family_invite_expired"
    message = "邀请验证码已过期，请主卡重新邀请"


class CapOutOfRange(ValidationError):
    code = "family_cap_out_of_range"
    message = "每月共享上限不正确"


class MainLineNotActive(Conflict):
    code = "family_main_not_active"
    message = "主卡号码当前不是正常状态"


# ---------------------------------------------------------------- checks


def cap_bytes(*, megabytes: int) -> int:
    """A member's monthly cap in bytes (0 MB: may not draw the pool). Raises CapOutOfRange."""
    if isinstance(megabytes, bool) or not isinstance(megabytes, int):
        raise CapOutOfRange(monthly_cap_mb=str(megabytes)[:20])
    if not 0 <= megabytes <= MAX_CAP_MEGABYTES:
        raise CapOutOfRange(monthly_cap_mb=megabytes, max_mb=MAX_CAP_MEGABYTES)
    return megabytes * MB


def check_room(*, counted: int) -> None:
    """One more line fits next to ``counted`` members and live invitations. Raises FamilyFull."""
    if counted >= MAX_MEMBERS:
        raise FamilyFull(members=counted, max_members=MAX_MEMBERS)


def check_invitee(*, main_line_id: int, line_id: int | None, status: str, in_group: bool) -> None:
    """The invited line is another ACTIVE line of the platform in no group. Raises
    InviteOwnLine, LineNotInvitable, LineInAnotherGroup."""
    if line_id is not None and line_id == main_line_id:
        raise InviteOwnLine()
    if line_id is None or status != "ACTIVE":
        raise LineNotInvitable()
    if in_group:
        raise LineInAnotherGroup()


# ---------------------------------------------------------------- drawing the pool


def shortfall(*, amount: int, from_buckets: int, zero_rated: int) -> int:
    """What a rating of ``amount`` leaves unpaid by buckets and zero rating (what a 日租
    purchase, the wallet or nobody would pay): what the pool is asked for."""
    return max(0, amount - from_buckets - zero_rated)


def pool_share(*, want: int, cap: int, taken: int, pool: int) -> int:
    """Bytes a member may move out of the pool now: what it wants, within what is left of its
    cap this month and what the pool has; never negative."""
    return max(0, min(want, cap - taken, pool))


@dataclass(frozen=True)
class PoolTake:
    bucket_id: int | str
    amount: int


def split_take(*, amount: int, available: Sequence[tuple[int | str, int]]) -> list[PoolTake]:
    """``amount`` bytes over the pool's buckets (id, available), in the order given (soonest
    expiry first), each up to what it has; less than ``amount`` when they hold less."""
    out, need = [], amount
    for bucket_id, have in available:
        if need <= 0:
            break
        n = min(need, max(0, have))
        if n:
            out.append(PoolTake(bucket_id, n))
            need -= n
    return out


def give_back(*, amount: int, room: Iterable[tuple[int | str, int]]) -> list[PoolTake]:
    """Bytes a member hands back (it left) over the pool's buckets (id, bytes moved out of
    it): each gets at most what left it; what finds no room lapses."""
    return split_take(amount=amount, available=list(room))
