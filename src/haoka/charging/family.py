"""Family groups (家庭共享): a line's owner makes a group for the line (its main line), invites
up to 4 lines of the platform (an SMS code to each invited line's own number), whose owners
join with that code and may leave; the main line's owner may remove a member, change its
monthly cap or dissolve the group. The pool itself is drawn on the hot path
(``charging.family_pool``).

Every change of a membership runs under the charging locks of the lines it touches
(``dataflow.lock_lines``, in line-id order, as gifts do) and copies the membership onto the
line's charging account (what the hot path reads with its lock). A member that ends hands
back to the pool what it took this month and has not used (nor holds reserved), and its
FAMILY bucket ends.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction

from haoka.accounts import stepup
from haoka.accounts.domain import STEP_UP_CODE_TTL, StepUpAction, step_up_purpose_text
from haoka.charging import dataflow, family_pool, movements
from haoka.charging import family_rules as rules
from haoka.charging.domain import Source
from haoka.charging.family_rules import MEMBER_MACHINE, GroupState, MemberState, Role
from haoka.charging.models import Bucket, ChargingAccount, FamilyGroup, FamilyMember
from haoka.core.pii import mask_phone
from haoka.lines import queries as line_queries
from haoka.notices import operations as notices
from haoka.notices.templates import Kind

log = structlog.get_logger(__name__)

REASONS = {
    MemberState.LEFT: "副卡已退出",
    MemberState.REMOVED: "主卡已将副卡移出",
    MemberState.DISSOLVED: "主卡已解散家庭",
}


def live_group(*, main_line_id: int) -> FamilyGroup:
    """The ACTIVE group whose main line this is. Raises FamilyNotFound."""
    group = FamilyGroup.objects.filter(main_line_id=main_line_id, state=GroupState.ACTIVE).first()
    if group is None:
        raise rules.FamilyNotFound()
    return group


def _set_account(line_id: int, *, group_id=None, main_line_id=None, cap: int = 0) -> None:
    ChargingAccount.objects.filter(line_id=line_id).update(
        family_group_id=group_id, family_main_line_id=main_line_id, family_cap_bytes=cap
    )


def create(*, line_id: int, user_id: int, now: dt.datetime) -> FamilyGroup:
    """A family group with this line as its main line (the one already made, if any).
    Raises LineNotActive, LineInAnotherGroup, UnknownSubscriber."""
    with transaction.atomic():
        book = dataflow.lock_lines([line_id], now=now)[line_id]
        found = FamilyGroup.objects.filter(main_line_id=line_id, state=GroupState.ACTIVE).first()
        if found is not None:
            return found
        if book.line.status != "ACTIVE":
            raise movements.LineNotActive(status=book.line.status)
        if book.line.family_group_id is not None:
            raise rules.LineInAnotherGroup()
        group = FamilyGroup.objects.create(
            main_line_id=line_id, owner_user_id=user_id, state=GroupState.ACTIVE, created_at=now
        )
        FamilyMember.objects.create(
            group=group, line_id=line_id, role=Role.MAIN, state=MemberState.ACTIVE,
            created_at=now, joined_at=now,
        )  # fmt: skip
        _set_account(line_id, group_id=group.pk, main_line_id=line_id)
    log.info("family_created", group_id=group.pk, main_line=line_id)
    return group


def invite(
    *, line_id: int, user_id: int, msisdn: str, monthly_cap_mb: int, client_ip: str,
    now: dt.datetime,
) -> FamilyMember:  # fmt: skip
    """Invite the line numbered ``msisdn`` into the main line's group with a monthly cap; an
    SMS code goes to that line's own number. Raises FamilyNotFound, CapOutOfRange,
    InviteOwnLine, LineNotInvitable, LineInAnotherGroup, FamilyFull, AlreadyInvited,
    RateLimited."""
    cap = rules.cap_bytes(megabytes=monthly_cap_mb)
    found = line_queries.find_line(msisdn=str(msisdn)[:11], user_id=None)
    with transaction.atomic():
        group = FamilyGroup.objects.select_for_update().filter(
            pk=live_group(main_line_id=line_id).pk
        )
        group = group.first()
        _expire_invites(group, now=now)
        in_group = (
            found is not None
            and ChargingAccount.objects.filter(
                line_id=found.pk, family_group_id__isnull=False
            ).exists()
        )
        rules.check_invitee(
            main_line_id=line_id, line_id=found.pk if found else None,
            status=found.status if found else "", in_group=in_group,
        )  # fmt: skip
        live = group.members.filter(role=Role.MEMBER, state__in=rules.COUNTED)
        if live.filter(line_id=found.pk).exists():
            raise rules.AlreadyInvited()
        rules.check_room(counted=live.count())
        member = FamilyMember.objects.create(
            group=group, line_id=found.pk, role=Role.MEMBER, state=MemberState.INVITED,
            cap_bytes=cap, created_at=now, code_expires_at=now + STEP_UP_CODE_TTL,
        )  # fmt: skip
        owner = line_queries.numbers_and_owners(line_ids=[found.pk])[found.pk][1]
        main_msisdn = line_queries.msisdns_of(line_ids=[line_id])[line_id]
        purpose = f"加入 {mask_phone(main_msisdn)} 的家庭共享"
        stepup.send_code_to(
            user_id=owner, action=StepUpAction.FAMILY_INVITE, target=f"family:{member.pk}",
            phone=found.msisdn, text=step_up_purpose_text(code="{code}", purpose=purpose),
            client_ip=client_ip, now=now,
        )  # fmt: skip
    log.info("family_invited", group_id=group.pk, member_id=member.pk)
    return member


def _expire_invites(group: FamilyGroup, *, now: dt.datetime) -> None:
    MEMBER_MACHINE.check(current=MemberState.INVITED, target=MemberState.EXPIRED)
    group.members.filter(state=MemberState.INVITED, code_expires_at__lte=now).update(
        state=MemberState.EXPIRED, ended_at=now
    )


def accept(*, member_id: int, line_id: int, user_id: int, code: str, now: dt.datetime):
    """The invited line's owner joins with the SMS code: the line draws the pool from now
    on. Accepting twice changes nothing. Raises FamilyMemberNotFound, InviteExpired,
    MemberStateConflict, StepUpCodeInvalid, LineInAnotherGroup, FamilyNotFound."""
    member = FamilyMember.objects.filter(pk=member_id, line_id=line_id, role=Role.MEMBER).first()
    if member is None:
        raise rules.FamilyMemberNotFound(member_id=member_id)
    if member.state == MemberState.ACTIVE:
        return member
    MEMBER_MACHINE.check(current=member.state, target=MemberState.ACTIVE)
    if now >= member.code_expires_at:
        _expire_invites(member.group, now=now)
        raise rules.InviteExpired()
    target = f"family:{member.pk}"
    proof = stepup.verify_code_for(
        user_id=user_id, action=StepUpAction.FAMILY_INVITE, target=target, code=code, now=now
    )
    main_line_id = member.group.main_line_id
    with transaction.atomic():
        books = dataflow.lock_lines([main_line_id, line_id], now=now)
        member = FamilyMember.objects.select_for_update().get(pk=member.pk)
        if member.state == MemberState.ACTIVE:
            return member
        MEMBER_MACHINE.check(current=member.state, target=MemberState.ACTIVE)
        if books[line_id].line.family_group_id is not None:
            raise rules.LineInAnotherGroup()
        if books[main_line_id].line.family_group_id != member.group_id:  # dissolved meanwhile
            raise rules.FamilyNotFound()
        stepup.spend(user_id=user_id, action=StepUpAction.FAMILY_INVITE, target=target,
                     proof=proof.proof, now=now)  # fmt: skip
        member.state, member.joined_at, member.code_expires_at = MemberState.ACTIVE, now, None
        try:
            with transaction.atomic():
                member.save(update_fields=["state", "joined_at", "code_expires_at"])
        except IntegrityError as clash:  # another group took the line meanwhile
            raise rules.LineInAnotherGroup() from clash
        _set_account(line_id, group_id=member.group_id, main_line_id=main_line_id,
                     cap=member.cap_bytes)  # fmt: skip
        _tell(member, Kind.FAMILY_JOINED, now=now, cap=movements.format_bytes(member.cap_bytes))
    log.info("family_joined", group_id=member.group_id, member_id=member.pk)
    return member


def leave(*, line_id: int, now: dt.datetime) -> FamilyMember:
    """The member line leaves its group. Raises FamilyNotFound (a line in no group, or the
    main line: it dissolves instead)."""
    member = FamilyMember.objects.filter(
        line_id=line_id, role=Role.MEMBER, state=MemberState.ACTIVE
    ).first()
    if member is None:
        raise rules.FamilyNotFound()
    return _end(member.pk, MemberState.LEFT, now=now)


def _own_member(line_id: int, member_id: int) -> FamilyMember:
    group = live_group(main_line_id=line_id)
    member = group.members.filter(pk=member_id, role=Role.MEMBER).first()
    if member is None:
        raise rules.FamilyMemberNotFound(member_id=member_id)
    return member


def remove(*, line_id: int, member_id: int, now: dt.datetime) -> FamilyMember:
    """The main line's owner removes a member (or withdraws an invitation). Raises
    FamilyNotFound, FamilyMemberNotFound, MemberStateConflict."""
    member = _own_member(line_id, member_id)
    if member.state == MemberState.INVITED:
        MEMBER_MACHINE.check(current=member.state, target=MemberState.CANCELLED)
        FamilyMember.objects.filter(pk=member.pk, state=MemberState.INVITED).update(
            state=MemberState.CANCELLED, ended_at=now
        )
        member.refresh_from_db()
        return member
    return _end(member.pk, MemberState.REMOVED, now=now)


def set_cap(*, line_id: int, member_id: int, monthly_cap_mb: int, now: dt.datetime):
    """Change a member's (or an invitation's) monthly cap; bytes it already took this month
    stay its own. Raises FamilyNotFound, FamilyMemberNotFound, CapOutOfRange,
    MemberStateConflict."""
    cap = rules.cap_bytes(megabytes=monthly_cap_mb)
    member = _own_member(line_id, member_id)
    with transaction.atomic():
        dataflow.lock_lines([member.line_id], now=now)
        member = FamilyMember.objects.select_for_update().get(pk=member.pk)
        if member.state not in rules.COUNTED:
            raise rules.MemberStateConflict(state=member.state)
        member.cap_bytes = cap
        member.save(update_fields=["cap_bytes"])
        if member.state == MemberState.ACTIVE:
            ChargingAccount.objects.filter(line_id=member.line_id).update(family_cap_bytes=cap)
    log.info("family_cap_set", member_id=member.pk, cap=cap)
    return member


def dissolve(*, line_id: int, now: dt.datetime) -> FamilyGroup:
    """The main line's owner dissolves the group, in one transaction under the locks of the
    main line and every member: members end (DISSOLVED, their unused pool bytes back),
    invitations are withdrawn. Raises FamilyNotFound."""
    group = live_group(main_line_id=line_id)
    for _ in range(3):  # a line that joined between the read and the locks: once more
        members = list(group.members.filter(role=Role.MEMBER, state=MemberState.ACTIVE))
        with transaction.atomic():
            books = dataflow.lock_lines([line_id, *(m.line_id for m in members)], now=now)
            group = FamilyGroup.objects.select_for_update().get(pk=group.pk)
            if group.state != GroupState.ACTIVE:
                return group
            active = group.members.filter(role=Role.MEMBER, state=MemberState.ACTIVE)
            if set(active.values_list("pk", flat=True)) != {m.pk for m in members}:
                continue
            for member in members:
                _finish(member, MemberState.DISSOLVED, books[line_id], now=now)
            MEMBER_MACHINE.check(current=MemberState.INVITED, target=MemberState.CANCELLED)
            group.members.filter(state=MemberState.INVITED).update(
                state=MemberState.CANCELLED, ended_at=now
            )
            group.members.filter(role=Role.MAIN).update(state=MemberState.DISSOLVED, ended_at=now)
            group.state, group.dissolved_at = GroupState.DISSOLVED, now
            group.save(update_fields=["state", "dissolved_at"])
            _set_account(line_id)
        log.info("family_dissolved", group_id=group.pk)
        return group
    raise rules.MemberStateConflict(group_id=group.pk)  # members kept joining: try again


def _end(member_id: int, state: MemberState, *, now: dt.datetime) -> FamilyMember:
    """ACTIVE -> ``state`` under both lines' locks (:func:`_finish`)."""
    member = FamilyMember.objects.select_related("group").get(pk=member_id)
    main_line_id = member.group.main_line_id
    with transaction.atomic():
        books = dataflow.lock_lines([main_line_id, member.line_id], now=now)
        member = FamilyMember.objects.select_for_update().get(pk=member_id)
        _finish(member, state, books[main_line_id], now=now)
    return member


def _finish(member: FamilyMember, state: MemberState, main_book, *, now: dt.datetime) -> None:
    """The member's unused pool bytes of the month go back to the pool, its FAMILY bucket
    ends, its account forgets the group, both owners are told. Both lines locked. Raises
    MemberStateConflict."""
    MEMBER_MACHINE.check(current=member.state, target=state)
    returned = _hand_back(member, main_book, now=now)
    member.state, member.ended_at, member.returned_bytes = state, now, returned
    member.save(update_fields=["state", "ended_at", "returned_bytes"])
    _set_account(member.line_id)
    _tell(member, Kind.FAMILY_ENDED, now=now, reason=REASONS[state])
    log.info("family_member_ended", member_id=member.pk, state=state, returned=returned)


def _hand_back(member: FamilyMember, main_book, *, now: dt.datetime) -> int:
    key = family_pool.origin(group_id=member.group_id, line_id=member.line_id, now=now)
    bucket = Bucket.objects.filter(origin=key).first()
    if bucket is None:
        return 0
    left = max(0, bucket.amount - bucket.used - bucket.reserved)
    pool_ids = [b.id for b in main_book.buckets.values() if family_pool.is_pool(b)]
    room = Bucket.objects.filter(pk__in=pool_ids).order_by("-valid_to", "-id")
    back = rules.give_back(amount=left, room=room.values_list("pk", "moved_out"))
    returned = sum(t.amount for t in back)
    # What sessions still hold settles on the bucket; nothing new is drawn from it.
    Bucket.objects.filter(pk=bucket.pk).update(valid_to=now)
    if left:
        dataflow.shrink(bucket.pk, left)
    dataflow.give_to(main_book, [movements.Take(t.bucket_id, Source.PLAN, t.amount) for t in back])
    return returned


def _tell(member: FamilyMember, kind: Kind, *, now: dt.datetime, **values) -> None:
    main_line_id = member.group.main_line_id
    owners = line_queries.numbers_and_owners(line_ids=[main_line_id, member.line_id])
    for me, other in ((main_line_id, member.line_id), (member.line_id, main_line_id)):
        notices.notify(
            user_id=owners[me][1], kind=kind, key=f"family:{member.pk}:{kind.lower()}:{me}",
            values={"msisdn": owners[me][0], "counterpart": mask_phone(owners[other][0]),
                    **values},
            now=now,
        )  # fmt: skip
