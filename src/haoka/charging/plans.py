"""A line's plan change, charging's use case: the fee difference of an upgrade, its prorated
allowances and the line book are charging's business; the line only records its new (or
pending) plan, through ``lines.operations``.

The monthly cycle applies a pending change when it opens the next month (``charging.cycles``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from haoka.catalog import queries as catalog_queries
from haoka.charging import cycle, linebook, tariffs
from haoka.charging.models import Bucket
from haoka.core import accounts_chart as chart
from haoka.core import audit, ledger
from haoka.core.errors import Conflict, ValidationError
from haoka.core.money import format_fen
from haoka.lines import domain as line_domain
from haoka.lines import operations as line_ops
from haoka.lines import queries as line_queries
from haoka.lines.domain import Caller, LineState, PlanTiming

_KINDS = {  # allowance kind -> (bucket unit, label of the upgrade's top-up bucket)
    "data": ("BYTES", "升级补足通用流量"),
    "targeted": ("BYTES", "升级补足定向流量"),
    "voice": ("SECONDS", "升级补足语音"),
    "sms": ("SMS", "升级补足短信"),
}


class PlanNotForLine(ValidationError):
    code = "plan_not_for_line"
    message = "只能变更为同一运营商在售的其他套餐"


class NoPendingPlanChange(Conflict):
    code = "no_pending_plan_change"
    message = "没有待生效的套餐变更"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    message = "余额不足以支付本月升级差价，请先充值"


@dataclass(frozen=True)
class PlanChange:
    line: object  # the line as it is after the change (lines' row)
    timing: PlanTiming
    effective_at: dt.datetime
    charged_fen: int = 0
    granted: dict[str, int] = field(default_factory=dict)


def _require(line, *states: str, target: str) -> None:
    if line.status not in states:
        raise line_domain.LineStateConflict(current=line.status, target=target)


def _target_plan(*, plan_code: str, line):
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
    line = line_queries.line_for(msisdn=msisdn, caller=caller)
    plan = _target_plan(plan_code=plan_code, line=line)
    with transaction.atomic():
        book = linebook.open_book(line.pk, since=now) if at_once else None
        line = line_ops.lock(line_id=line.pk)
        _require(line, *line_queries.LIVE, target="PLAN_CHANGE")
        if plan.code == line.plan_code:
            raise PlanNotForLine("已经是该套餐", plan_code=plan.code)
        _, current_terms, current_fee = tariffs.plan_charging(plan_code=line.plan_code)
        timing = line_domain.plan_change_timing(
            current_fee_fen=current_fee, new_fee_fen=plan.monthly_fee_fen, now_wanted=at_once
        )
        if timing == PlanTiming.NEXT_CYCLE:
            line_ops.set_pending_plan(line_id=line.pk, plan_code=plan.code)
            line.pending_plan_code = plan.code
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


def _upgrade(book, line, plan, current_terms, current_fee: int, *, now) -> PlanChange:
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
        ledger.post(
            legs=[
                ledger.Leg(chart.line_wallet(line_id=line.pk), charge),
                ledger.Leg(chart.MONTHLY_FEES, -charge),
            ],
            kind="line.plan_upgrade",
            memo=f"线路 {line.msisdn} 升级 {plan.code} 本月差价",
            key=f"plan.upgrade:{line.pk}:{month}:{plan.code}",
        )
    _, new_terms, _ = tariffs.plan_charging(plan_code=plan.code)
    days_in_month = (month_end - month_start).days
    granted = line_domain.prorated_allowances(
        current=_allowances(current_terms),
        new=_allowances(new_terms),
        days_left=days_in_month - cycle.beijing_date(now).day + 1,
        days_in_month=days_in_month,
    )
    _grant(line.pk, granted, terms=new_terms, origin=f"{month}:{plan.code}", now=now, end=month_end)
    line_ops.switch_plan(line_id=line.pk, plan_code=plan.code)
    line.plan_code, line.pending_plan_code = plan.code, ""
    return PlanChange(line, PlanTiming.NOW, now, charge, granted)


def _grant(line_id: int, granted: dict[str, int], *, terms, origin: str, now, end) -> None:
    """The upgrade's top-up buckets, until the end of the month (once per month and plan)."""
    for kind, amount in granted.items():
        unit, label = _KINDS[kind]
        groups = sorted(terms.targeted_groups) if kind == "targeted" else []
        Bucket.objects.get_or_create(
            origin=f"upgrade:{line_id}:{origin}:{kind}"[:80],
            defaults={
                "line_id": line_id,
                "unit": unit,
                "source": "PLAN",
                "label": label,
                "amount": amount,
                "valid_from": now,
                "valid_to": end,
                "rating_groups": groups,
                "created_at": now,
            },
        )


def cancel_plan_change(*, msisdn: str, caller: Caller, now: dt.datetime):
    """Drop the pending plan change; returns the line. Raises LineNotFound,
    NoPendingPlanChange."""
    line = line_queries.line_for(msisdn=msisdn, caller=caller)
    with transaction.atomic():
        line = line_ops.lock(line_id=line.pk)
        if not line.pending_plan_code:
            raise NoPendingPlanChange()
        dropped = line.pending_plan_code
        line_ops.set_pending_plan(line_id=line.pk, plan_code="")
        line.pending_plan_code = ""
        audit.record(
            actor=caller.actor,
            action="lines.plan_change_cancelled",
            object_type="line",
            object_id=str(line.pk),
            data={"dropped": dropped, "at": now.isoformat()},
        )
    return line
