"""Self-service over a line's life: plan change, 停机保号 and resume, SIM replacement (补换卡).
How a line ends (销户, 携号转网 authorization, the contract lock both respect) is in
``lines.exits``.

Every function finds the line as the caller may see it: an owner sees only their own lines
(someone else's number is "not found", so numbers cannot be probed); staff see every line.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field

from django.db import transaction

from haoka.catalog import queries as catalog_queries
from haoka.charging import closing, cycle, linebook, tariffs
from haoka.charging.models import Bucket
from haoka.core import audit, clock, ledger, ratelimit
from haoka.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from haoka.core.models import AccountKind
from haoka.core.money import format_fen
from haoka.kyc import ownership
from haoka.lines import domain, queries
from haoka.lines import operations as line_ops
from haoka.lines.domain import LineState, PlanTiming, SuspendReason
from haoka.lines.models import Line, SimCard, SimStatus

log = logging.getLogger("haoka.lines")

#: Where monthly fees (and the prorated part of an upgrade) are recognised.
MONTHLY_FEES = "revenue:monthly_fees"
#: Identity attempts for a SIM replacement, per line and per caller, per day.
SIM_ATTEMPTS_PER_LINE = 5
SIM_ATTEMPTS_PER_USER = 10
SIM_WINDOW = dt.timedelta(days=1)
LIVE = (LineState.ACTIVE, LineState.SUSPENDED)
_KINDS = {  # allowance kind -> (bucket unit, label of the upgrade's top-up bucket)
    "data": ("BYTES", "升级补足通用流量"),
    "targeted": ("BYTES", "升级补足定向流量"),
    "voice": ("SECONDS", "升级补足语音"),
    "sms": ("SMS", "升级补足短信"),
}


class LineNotFound(NotFound):
    code = "line_not_found"
    message = "找不到该号码的线路"


class PlanNotForLine(ValidationError):
    code = "plan_not_for_line"
    message = "只能变更为同一运营商在售的其他套餐"


class NoPendingPlanChange(Conflict):
    code = "no_pending_plan_change"
    message = "没有待生效的套餐变更"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    message = "余额不足以支付本月升级差价，请先充值"


class StaffRequired(PermissionDenied):
    code = "staff_required"
    message = "该线路没有线上实名记录，请联系客服或到营业厅办理"


class IdentityMismatch(PermissionDenied):
    code = "identity_mismatch"
    message = "姓名或身份证号码与该号码的实名登记信息不符"


@dataclass(frozen=True)
class Caller:
    """Who asks: a consumer (owner) or staff."""

    user_id: int
    staff: bool = False

    @property
    def actor(self) -> str:
        return f"{'staff' if self.staff else 'user'}:{self.user_id}"


def line_for(*, msisdn: str, caller: Caller) -> Line:
    """The caller's line with this number (the live one, else the latest). Raises LineNotFound
    (also for someone else's line)."""
    lines = Line.objects.filter(msisdn=msisdn)
    if not caller.staff:
        lines = lines.filter(user_id=caller.user_id)
    lines = lines.order_by("-created_at", "-id")
    line = lines.filter(status__in=[*LIVE, LineState.PENDING_ACTIVATION]).first() or lines.first()
    if line is None:
        raise LineNotFound(msisdn=msisdn[:11])
    return line


def lock_line(line_id: int) -> Line:
    return Line.objects.select_for_update().get(pk=line_id)


def _require(line: Line, *states: str, target: str) -> None:
    if line.status not in states:
        raise domain.LineStateConflict(current=line.status, target=target)


# ---------------------------------------------------------------- plan change


@dataclass(frozen=True)
class PlanChange:
    line: Line
    timing: PlanTiming
    effective_at: dt.datetime
    charged_fen: int = 0
    granted: dict[str, int] = field(default_factory=dict)


def _target_plan(*, plan_code: str, line: Line):
    plan = catalog_queries.on_sale_plans().filter(code=plan_code).first()
    if plan is None or plan.carrier.code != line.carrier_code:
        raise PlanNotForLine(plan_code=plan_code[:40], carrier=line.carrier_code)
    return plan


def _allowances(terms: cycle.PlanTerms) -> dict[str, int]:
    return {
        "data": terms.general_data_bytes,
        "targeted": terms.targeted_data_bytes,
        "voice": terms.voice_seconds,
        "sms": terms.sms_count,
    }


def change_plan(
    *, msisdn: str, caller: Caller, plan_code: str, at_once: bool, now: dt.datetime
) -> PlanChange:
    """Change the line's plan to another on-sale plan of its carrier: by default at the next
    cycle (``pending_plan_code``, applied by the monthly cycle); ``at_once`` for an upgrade:
    this month's fee difference pro rata is paid from the wallet and the difference of this
    month's allowances granted pro rata. A new request replaces a pending one.
    Raises LineNotFound, PlanNotForLine, LineStateConflict, NotAnUpgrade, InsufficientBalance."""
    line = line_for(msisdn=msisdn, caller=caller)
    plan = _target_plan(plan_code=plan_code, line=line)
    with transaction.atomic():
        book = linebook.open_book(line.pk, since=now) if at_once else None
        line = lock_line(line.pk)
        _require(line, *LIVE, target="PLAN_CHANGE")
        if plan.code == line.plan_code:
            raise PlanNotForLine("已经是该套餐", plan_code=plan.code)
        _, current_terms, current_fee = tariffs.plan_charging(plan_code=line.plan_code)
        timing = domain.plan_change_timing(
            current_fee_fen=current_fee, new_fee_fen=plan.monthly_fee_fen, now_wanted=at_once
        )
        if timing == PlanTiming.NEXT_CYCLE:
            line.pending_plan_code = plan.code
            line.save(update_fields=["pending_plan_code"])
            outcome = PlanChange(line, timing, cycle.next_month_start(now))
        else:
            _require(line, LineState.ACTIVE, target=LineState.ACTIVE)
            outcome = _upgrade(book, line, plan, current_terms, current_fee, now=now)
        audit.record(
            actor=caller.actor,
            action="lines.plan_change",
            object_type="line",
            object_id=str(line.pk),
            data={"to": plan.code, "timing": timing, "charged_fen": outcome.charged_fen},
        )
    return outcome


def _upgrade(book, line: Line, plan, current_terms, current_fee: int, *, now) -> PlanChange:
    charge = cycle.prorate(old_fee_fen=current_fee, new_fee_fen=plan.monthly_fee_fen, at=now)
    available = book.wallet().available_fen
    if charge > available:
        raise InsufficientBalance(
            f"升级需支付本月差价 {format_fen(charge)}，可用余额 {format_fen(available)}",
            needed_fen=charge,
            available_fen=available,
        )
    month_start, month_end = cycle.beijing_month(now)
    month = cycle.beijing_date(month_start).strftime("%Y-%m")
    if charge:
        ledger.open_account(code=MONTHLY_FEES, name="月租收入", kind=AccountKind.REVENUE, busy=True)
        ledger.post(
            legs=[
                ledger.Leg(domain.wallet_account(line_id=line.pk), charge),
                ledger.Leg(MONTHLY_FEES, -charge),
            ],
            kind="line.plan_upgrade",
            memo=f"线路 {line.msisdn} 升级 {plan.code} 本月差价",
            key=f"plan.upgrade:{line.pk}:{month}:{plan.code}",
        )
    _, new_terms, _ = tariffs.plan_charging(plan_code=plan.code)
    days_in_month = (month_end - month_start).days
    today = cycle.beijing_date(now)
    granted = domain.prorated_allowances(
        current=_allowances(current_terms),
        new=_allowances(new_terms),
        days_left=days_in_month - today.day + 1,
        days_in_month=days_in_month,
    )
    for kind, amount in granted.items():
        unit, label = _KINDS[kind]
        groups = sorted(new_terms.targeted_groups) if kind == "targeted" else []
        Bucket.objects.get_or_create(
            origin=f"upgrade:{line.pk}:{month}:{plan.code}:{kind}"[:80],
            defaults={
                "line_id": line.pk,
                "unit": unit,
                "source": "PLAN",
                "label": label,
                "amount": amount,
                "valid_from": now,
                "valid_to": month_end,
                "rating_groups": groups,
                "created_at": now,
            },
        )
    line.plan_code, line.pending_plan_code = plan.code, ""
    line.save(update_fields=["plan_code", "pending_plan_code"])
    return PlanChange(line, PlanTiming.NOW, now, charge, granted)


def cancel_plan_change(*, msisdn: str, caller: Caller, now: dt.datetime) -> Line:
    """Drop the pending plan change. Raises LineNotFound, NoPendingPlanChange."""
    line = line_for(msisdn=msisdn, caller=caller)
    with transaction.atomic():
        line = lock_line(line.pk)
        if not line.pending_plan_code:
            raise NoPendingPlanChange()
        dropped, line.pending_plan_code = line.pending_plan_code, ""
        line.save(update_fields=["pending_plan_code"])
        audit.record(
            actor=caller.actor,
            action="lines.plan_change_cancelled",
            object_type="line",
            object_id=str(line.pk),
            data={"dropped": dropped, "at": now.isoformat()},
        )
    return line


# ---------------------------------------------------------------- 停机保号 / resume


def suspend(*, msisdn: str, caller: Caller, now: dt.datetime) -> Line:
    """停机保号 at the owner's request: ACTIVE -> SUSPENDED (USER_REQUEST). The number is kept
    for the monthly 保号费 the cycle charges. Raises LineNotFound, LineStateConflict."""
    line = line_for(msisdn=msisdn, caller=caller)
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
    *, msisdn: str, caller: Caller, name: str, id_number: str, now: dt.datetime
) -> SimCard:
    """Issue a new card for the line after re-verifying its owner: name and ID number must be
    those of the real-name check of the order that created it (a line opened by staff needs
    staff). Attempts are rate-limited per line and per caller, so ID numbers cannot be
    guessed. The old card is retired for good; number, money and allowances stay.
    Raises LineNotFound, RateLimited, StaffRequired, InvalidIdNumber, InvalidName,
    IdentityMismatch, LineStateConflict."""
    line = line_for(msisdn=msisdn, caller=caller)
    _require(line, *LIVE, target="SIM_REPLACED")
    if not caller.staff:
        if not line.order_ref:
            raise StaffRequired()
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
            log.warning("sim replacement identity mismatch line=%s", line.pk)
            raise IdentityMismatch()
    with transaction.atomic():
        closing.release_sessions(line_id=line.pk, now=now)
        line = lock_line(line.pk)
        _require(line, *LIVE, target="SIM_REPLACED")
        old = _current_card(line)
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
