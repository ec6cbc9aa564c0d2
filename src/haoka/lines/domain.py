"""Pure rules of a line (a subscription): states and transitions. Issue "Lines and real-time
charging" extends this with the wallet, buckets and self-service."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.db import models

from haoka.core import states
from haoka.core.errors import IllegalTransition


class LineState(StrEnum):
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CLOSED = "CLOSED"
    PORTED_OUT = "PORTED_OUT"


L = LineState
LABELS = {
    L.PENDING_ACTIVATION: "待激活",
    L.ACTIVE: "正常",
    L.SUSPENDED: "停机",
    L.CLOSED: "已销户",
    L.PORTED_OUT: "已携出",
}


class LineStateConflict(IllegalTransition):
    code = "line_state_conflict"
    message = "线路当前状态不允许此操作"


#: A line's life: activated from its order (or closed before), suspended and resumed, closed
#: (销户) or ported out (携号转网); CLOSED and PORTED_OUT are final.
LINE_MACHINE = states.Machine(
    LineState,
    {
        L.PENDING_ACTIVATION: {L.ACTIVE, L.CLOSED},
        L.ACTIVE: {L.SUSPENDED, L.CLOSED, L.PORTED_OUT},
        L.SUSPENDED: {L.ACTIVE, L.CLOSED},
        L.CLOSED: set(),
        L.PORTED_OUT: set(),
    },
    error=LineStateConflict,
    labels=LABELS,
)


class SimStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "使用中"
    RETIRED = "RETIRED", "已失效"


class SimStateConflict(IllegalTransition):
    code = "sim_state_conflict"
    message = "SIM 卡当前状态不允许此操作"


#: A card is retired for good when it is replaced (补换卡): its ICCID never comes back.
SIM_MACHINE = states.Machine(
    SimStatus,
    {SimStatus.ACTIVE: {SimStatus.RETIRED}, SimStatus.RETIRED: set()},
    error=SimStateConflict,
)


class ClosureState(models.TextChoices):
    REFUNDING = "REFUNDING", "退款处理中"
    DONE = "DONE", "已完成"
    MANUAL = "MANUAL", "待人工退款"


class ClosureStateConflict(IllegalTransition):
    code = "closure_state_conflict"
    message = "销户退款当前状态不允许此操作"


#: A closure refunds until no planned refund is left: DONE, or MANUAL when some of the
#: balance is left for staff to pay back by hand (both final: no refund is planned later).
CLOSURE_MACHINE = states.Machine(
    ClosureState,
    {
        ClosureState.REFUNDING: {ClosureState.DONE, ClosureState.MANUAL},
        ClosureState.DONE: set(),
        ClosureState.MANUAL: set(),
    },
    error=ClosureStateConflict,
)


class ClosureRefundState(models.TextChoices):
    PLANNED = "PLANNED", "待发起"
    SENT = "SENT", "已提交网关"
    FAILED = "FAILED", "网关拒绝"


#: One refund of a closure: sent to the gateway, or refused by it (then paid by hand).
CLOSURE_REFUND_MACHINE = states.Machine(
    ClosureRefundState,
    {
        ClosureRefundState.PLANNED: {ClosureRefundState.SENT, ClosureRefundState.FAILED},
        ClosureRefundState.SENT: set(),
        ClosureRefundState.FAILED: set(),
    },
    error=ClosureStateConflict,
)


@dataclass(frozen=True)
class Caller:
    """Who asks about a line: a consumer (its owner) or staff."""

    user_id: int
    staff: bool = False

    @property
    def actor(self) -> str:
        return f"{'staff' if self.staff else 'user'}:{self.user_id}"


# ---------------------------------------------------------------- self-service rules
# (issue "Lines and real-time charging": plan change, 停机保号, 补换卡, 销户, 携号转网)


#: 停机保号: what a suspended line pays a month to keep its number (default of the setting
#: ``KEEP_NUMBER_FEE_FEN``; the monthly cycle charges it).
KEEP_NUMBER_FEE_FEN = 500


class SuspendReason(StrEnum):
    ARREARS = "ARREARS"
    USER_REQUEST = "USER_REQUEST"
    POLICY = "POLICY"


#: What a suspended line is called, by why it was suspended.
SUSPEND_LABELS = {
    SuspendReason.USER_REQUEST: "停机保号",
    SuspendReason.ARREARS: "欠费停机",
    SuspendReason.POLICY: "停机",
}


class ResumeNotAllowed(IllegalTransition):
    code = "resume_not_allowed"
    message = "该停机只能由充值或客服恢复"


def check_resume(*, status: str, suspend_reason: str, staff: bool) -> None:
    """Who may lift a suspension: the owner only their own 停机保号 (USER_REQUEST); staff also
    POLICY; nobody ARREARS (a top-up that clears the debt lifts it). Raises LineStateConflict
    (not suspended), ResumeNotAllowed."""
    if status != LineState.SUSPENDED:
        raise LineStateConflict(current=status, target=LineState.ACTIVE)
    allowed = {SuspendReason.USER_REQUEST} | ({SuspendReason.POLICY} if staff else set())
    if suspend_reason not in allowed:
        reason = "欠费停机请充值后自动恢复" if suspend_reason == SuspendReason.ARREARS else None
        raise ResumeNotAllowed(reason, suspend_reason=suspend_reason)


# ---- plan change


class PlanTiming(StrEnum):
    NOW = "NOW"
    NEXT_CYCLE = "NEXT_CYCLE"


class NotAnUpgrade(IllegalTransition):
    code = "not_an_upgrade"
    message = "只有升级到月租更高的套餐才能立即生效，其他变更在下个账期生效"


def plan_change_timing(*, current_fee_fen: int, new_fee_fen: int, now_wanted: bool) -> PlanTiming:
    """When a plan change takes effect: next cycle by default; at once only when asked and
    the new plan costs more a month (an upgrade). Raises NotAnUpgrade."""
    if not now_wanted:
        return PlanTiming.NEXT_CYCLE
    if new_fee_fen <= current_fee_fen:
        raise NotAnUpgrade(current_fee_fen=current_fee_fen, new_fee_fen=new_fee_fen)
    return PlanTiming.NOW


def prorated_allowances(
    *, current: dict[str, int], new: dict[str, int], days_left: int, days_in_month: int
) -> dict[str, int]:
    """What an upgrade adds this month, per kind: the increase of each allowance times the
    days left (today counts) over the days in the month, rounded down (a whole byte, second
    or message is never granted twice). Kinds that do not grow get nothing."""
    if not 0 < days_left <= days_in_month:
        raise ValueError("days_left must be within the month")
    out = {}
    for kind, amount in new.items():
        increase = amount - current.get(kind, 0)
        if increase > 0:
            granted = increase * days_left // days_in_month
            if granted > 0:
                out[kind] = granted
    return out


# ---- contract lock (合约期)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, on the month's last day when it has no such day."""
    if months < 0:
        raise ValueError("months must not be negative")
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def contract_end(*, activated_on: dt.date | None, months: int) -> dt.date | None:
    """The first Beijing day the line is free of its contract (None without a contract)."""
    if activated_on is None or months <= 0:
        return None
    return add_months(activated_on, months)


def contract_locked(*, end: dt.date | None, today: dt.date) -> bool:
    return end is not None and today < end


# ---- porting out (携号转网)

PORTING_MIN_DAYS = 120
PORTING_CODE_DAYS = 30
PORTING_CODE_LENGTH = 6
#: No 0/O, 1/I/L: the code is read out and typed at another carrier's counter.
PORTING_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Check:
    """One eligibility rule: its code, whether it passed, and why not (Chinese)."""

    code: str
    passed: bool
    reason: str = ""


#: The rules of :func:`porting_checks` as the customer reads them, by code.
PORTING_CHECK_LABELS = {
    "active": "号码状态正常",
    "real_name": "已实名登记",
    "tenure": f"入网满 {PORTING_MIN_DAYS} 天",
    "no_arrears": "无欠费",
    "no_contract": "不在合约期内",
}


def porting_checks(
    *,
    status: str,
    verified: bool,
    activated_on: dt.date | None,
    today: dt.date,
    wallet_fen: int,
    contract_end_on: dt.date | None,
) -> list[Check]:
    """Every rule of porting a number out, each with its outcome (all are listed, so the
    customer sees everything to fix at once)."""
    days = (today - activated_on).days if activated_on else 0
    locked = contract_locked(end=contract_end_on, today=today)
    return [
        Check("active", status == LineState.ACTIVE, "号码须处于正常使用状态（未停机、未销户）"),
        Check("real_name", verified, "号码须已完成实名登记"),
        Check(
            "tenure",
            activated_on is not None and days >= PORTING_MIN_DAYS,
            f"入网须满 {PORTING_MIN_DAYS} 天（已入网 {max(days, 0)} 天）",
        ),
        Check("no_arrears", wallet_fen >= 0, "须结清欠费后再申请"),
        Check(
            "no_contract",
            not locked,
            f"合约期内不能携出（合约期至 {contract_end_on}）" if locked else "",
        ),
    ]


def failing(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]


# ---- SIM cards

#: Mobile network codes (MCC 460) of the carriers; the own brand rides on CUCC's network.
MNC = {"CMCC": "00", "CUCC": "01", "CTCC": "03", "CBN": "15", "HAOKA": "01"}


class UnknownNetwork(ValueError):
    """A carrier without a mobile network code."""


def luhn_check_digit(payload: str) -> str:
    """The Luhn (ISO/IEC 7812) check digit to append to the digit string ``payload``."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    """Whether the last digit of ``number`` is its Luhn check digit."""
    return (
        number.isascii()
        and number.isdigit()
        and len(number) > 1
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def iccid(*, carrier: str, serial: int) -> str:
    """A 20-digit ICCID: 89 (telecom) 86 (China), the carrier's MNC, a 13-digit serial and the
    Luhn check digit. Raises UnknownNetwork, ValueError (serial out of range)."""
    if carrier not in MNC:
        raise UnknownNetwork(carrier)
    if not 0 <= serial < 10**13:
        raise ValueError("an ICCID serial has 13 digits")
    payload = f"8986{MNC[carrier]}{serial:013d}"
    return payload + luhn_check_digit(payload)


def imsi(*, carrier: str, serial: int) -> str:
    """A 15-digit IMSI: MCC 460, the carrier's MNC, a 10-digit subscriber number.
    Raises UnknownNetwork, ValueError."""
    if carrier not in MNC:
        raise UnknownNetwork(carrier)
    if not 0 <= serial < 10**10:
        raise ValueError("an IMSI serial has 10 digits")
    return f"460{MNC[carrier]}{serial:010d}"
