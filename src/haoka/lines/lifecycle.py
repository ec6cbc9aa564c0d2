"""Self-service over a line's life: 停机保号 and resume, SIM replacement (补换卡). How a line
ends (销户, 携号转网 authorization, the contract lock both respect) is in ``lines.exits``; a
plan change is charging's (``charging.plans``: fees and allowances are its business).

Every function finds the line as the caller may see it: an owner sees only their own lines
(someone else's number is "not found", so numbers cannot be probed); staff see every line.
"""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from django.db import transaction

from haoka.accounts import stepup
from haoka.accounts.domain import StepUpAction
from haoka.core import audit, clock, ratelimit
from haoka.core.errors import PermissionDenied
from haoka.core.money import format_fen
from haoka.kyc import ownership
from haoka.lines import domain, queries, signals
from haoka.lines import operations as line_ops
from haoka.lines.domain import SIM_MACHINE, Caller, LineState, SimStatus, SuspendReason
from haoka.lines.models import Line, SimCard
from haoka.lines.queries import LIVE, LineNotFound, line_for

__all__ = ["Caller", "LineNotFound", "line_for"]  # where callers have always found them

log = structlog.get_logger(__name__)

#: Identity attempts for a SIM replacement, per line and per caller, per day.
SIM_ATTEMPTS_PER_LINE = 5
SIM_ATTEMPTS_PER_USER = 10
SIM_WINDOW = dt.timedelta(days=1)


class StaffRequired(PermissionDenied):
    code = "staff_required"
    message = "该线路没有线上实名记录，请联系客服或到营业厅办理"


class IdentityMismatch(PermissionDenied):
    code = "identity_mismatch"
    message = "姓名或身份证号码与该号码的实名登记信息不符"


def lock_line(line_id: int) -> Line:
    return line_ops.lock(line_id=line_id)


def _require(line: Line, *states: str, target: str) -> None:
    if line.status not in states:
        raise domain.LineStateConflict(current=line.status, target=target)


# ---------------------------------------------------------------- step-up


def check_step_up(
    *, caller: Caller, action: StepUpAction, line: Line, proof: str, now: dt.datetime
) -> None:
    """Before anything is counted or checked: an owner holds a live proof of a fresh SMS code
    for this action on this line (``accounts.stepup``); staff act without one.
    Raises StepUpRequired."""
    if not caller.staff:
        stepup.check(
            user_id=caller.user_id, action=action, target=line.msisdn, proof=proof, now=now
        )


def spend_step_up(
    *, caller: Caller, action: StepUpAction, line: Line, proof: str, now: dt.datetime
) -> None:
    """Inside the action's transaction: an owner's proof is spent (unspent again if the
    action rolls back). Raises StepUpRequired."""
    if not caller.staff:
        stepup.spend(
            user_id=caller.user_id, action=action, target=line.msisdn, proof=proof, now=now
        )


# ---------------------------------------------------------------- 停机保号 / resume


def suspend(*, msisdn: str, caller: Caller, now: dt.datetime, step_up: str = "") -> Line:
    """停机保号 at the owner's request: ACTIVE -> SUSPENDED (USER_REQUEST). The number is kept
    for the monthly 保号费 the cycle charges. An owner spends ``step_up``, the proof of a
    fresh SMS code (``accounts.stepup``). Raises LineNotFound, LineStateConflict,
    StepUpRequired."""
    line = line_for(msisdn=msisdn, caller=caller)
    domain.LINE_MACHINE.check(current=line.status, target=LineState.SUSPENDED)  # before a code
    action = StepUpAction.SUSPEND
    with transaction.atomic():
        spend_step_up(caller=caller, action=action, line=line, proof=step_up, now=now)
        line = line_ops.change_status(
            line_id=line.pk,
            to=LineState.SUSPENDED,
            actor=caller.actor,
            reason="申请停机保号",
            now=now,
            suspend_reason=SuspendReason.USER_REQUEST,
        )
    fee = queries.keep_number_fee_fen()
    body = f"您的号码已停机保号，停机期间每月收取保号费 {format_fen(fee)}，可随时申请复机。"
    tell_owner(line, "SUSPENDED", "已停机保号", body, now=now)
    return line


def resume(*, msisdn: str, caller: Caller, now: dt.datetime) -> Line:
    """Lift a suspension: the owner their own 停机保号, staff also a POLICY suspension; an
    ARREARS suspension only ends with a top-up that clears the debt.
    Raises LineNotFound, LineStateConflict, ResumeNotAllowed."""
    line = line_for(msisdn=msisdn, caller=caller)
    with transaction.atomic():
        line = lock_line(line.pk)
        domain.check_resume(
            status=line.status, suspend_reason=line.suspend_reason, staff=caller.staff
        )
        line = line_ops.change_status(
            line_id=line.pk, to=LineState.ACTIVE, actor=caller.actor, reason="复机", now=now
        )
    tell_owner(line, "RESUMED", "已复机", "您的号码已恢复正常使用。", now=now)
    return line


def tell_owner(line: Line, kind: str, title: str, body: str, *, now: dt.datetime) -> None:
    line_ops.notify(
        line_id=line.pk,
        kind=kind,
        key=f"{kind.lower()}:{line.pk}:{int(now.timestamp())}",
        title=title,
        body=body,
        sms=True,
        now=now,
    )


# ---------------------------------------------------------------- SIM replacement (补换卡)


def replace_sim(
    *,
    msisdn: str,
    caller: Caller,
    name: str,
    id_number: str,
    now: dt.datetime,
    step_up: str = "",
) -> SimCard:
    """Issue a new card for the line after re-verifying its owner: the proof ``step_up`` of a
    fresh SMS code first (before any ID number is looked at), then name and ID number must be
    those of the real-name check of the order that created it (a line opened by staff needs
    staff). Attempts are rate-limited per line and per caller, so ID numbers cannot be
    guessed. The old card is retired for good; number, money and allowances stay.
    Raises LineNotFound, StepUpRequired, RateLimited, StaffRequired, InvalidIdNumber,
    InvalidName, IdentityMismatch, LineStateConflict."""
    line = line_for(msisdn=msisdn, caller=caller)
    _require(line, *LIVE, target="SIM_REPLACED")
    action = StepUpAction.SIM_REPLACEMENT
    if not caller.staff:
        if not line.order_ref:
            raise StaffRequired()
        check_step_up(caller=caller, action=action, line=line, proof=step_up, now=now)
        # Counted before the check, outside any transaction: a refusal must not undo it.
        for key, limit in (
            (f"sim-replace:line:{line.pk}", SIM_ATTEMPTS_PER_LINE),
            (f"sim-replace:user:{caller.user_id}", SIM_ATTEMPTS_PER_USER),
        ):
            ratelimit.hit(key=key, limit=limit, window=SIM_WINDOW, now=now)
        matches = ownership.identity_matches(
            order_ref=line.order_ref,
            name=name,
            id_number=id_number,
            today=clock.beijing_date(now),
        )
        if not matches:
            log.warning("sim_replacement_identity_mismatch", line_id=line.pk)
            raise IdentityMismatch()
    with transaction.atomic():
        spend_step_up(caller=caller, action=action, line=line, proof=step_up, now=now)
        # Charging releases the open sessions of the old card (its lock first, then ours).
        signals.sim_replacing.send(sender=Line, line_id=line.pk, now=now)
        line = lock_line(line.pk)
        _require(line, *LIVE, target="SIM_REPLACED")
        old = _current_card(line)
        SIM_MACHINE.check(current=old.status, target=SimStatus.RETIRED)
        iccid, imsi = _new_card_ids(line.carrier_code)
        SimCard.objects.filter(pk=old.pk).update(
            status=SimStatus.RETIRED, valid_to=now, reason="补换卡，旧卡作废"
        )
        card = SimCard.objects.create(
            line=line,
            iccid=iccid,
            imsi=imsi,
            status=SimStatus.ACTIVE,
            valid_from=now,
            actor=caller.actor,
            reason="补换卡",
        )
        Line.objects.filter(pk=line.pk).update(iccid=iccid, imsi=imsi)
        audit.record(
            actor=caller.actor,
            action="lines.sim_replaced",
            object_type="line",
            object_id=str(line.pk),
            data={"old_iccid_tail": old.iccid[-6:], "new_iccid_tail": iccid[-6:]},
        )
    tell_owner(line, "SIM_REPLACED", "补换卡成功", "新卡已启用，旧卡已失效。", now=now)
    return card


def _current_card(line: Line) -> SimCard:
    """The line's ACTIVE card; lines older than card history get theirs recorded now."""
    card = SimCard.objects.filter(line=line, status=SimStatus.ACTIVE).first()
    if card is None:
        card = SimCard.objects.create(
            line=line,
            iccid=line.iccid,
            imsi=line.imsi,
            status=SimStatus.ACTIVE,
            valid_from=line.activated_at or line.created_at,
            actor="system",
            reason="开卡",
        )
    return card


def _new_card_ids(carrier: str) -> tuple[str, str]:
    # The sandbox stands in for the carrier's card issuing: random serials (never from a
    # seeded RNG: an ICCID must not be predictable), Luhn-checked ICCID.
    for _ in range(5):
        iccid = domain.iccid(carrier=carrier, serial=secrets.randbelow(10**13))
        if not SimCard.objects.filter(iccid=iccid).exists():
            return iccid, domain.imsi(carrier=carrier, serial=secrets.randbelow(10**10))
    raise RuntimeError("could not allocate a fresh ICCID")  # 1 in 10^13 five times over


def sim_cards(*, msisdn: str, caller: Caller) -> list[SimCard]:
    """The line's cards, oldest first. Raises LineNotFound."""
    line = line_for(msisdn=msisdn, caller=caller)
    return list(SimCard.objects.filter(line=line).order_by("valid_from", "id"))
