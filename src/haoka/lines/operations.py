"""Use cases of lines (a line is born from an activated order, or created by staff) and the
writes other domains make to a line (status, plan, notifications)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from haoka.accounts import sms as sms_provider
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.lines import signals
from haoka.lines.domain import LINE_MACHINE, LineState
from haoka.lines.models import Line, LineEvent, Notification

#: Money paid up front for the line (首充) waits here until the line exists.
PREPAYMENTS = chart.CUSTOMER_PREPAYMENTS
#: Balances brought over from another system when staff create a line directly (migration).
OPENING_BALANCES = chart.OPENING_BALANCES


def open_from_order(
    *,
    order_ref: str,
    user_id: int,
    msisdn: str,
    carrier_code: str,
    plan_code: str,
    iccid: str,
    imsi: str,
    opening_balance_fen: int,
    contract_months: int = 0,
    now: dt.datetime,
) -> Line:
    """Create the ACTIVE line of an activated order (idempotent by order_ref), keeping the
    order's contract months, and credit its wallet with the first top-up paid at checkout.
    Runs inside the caller's transaction."""
    with transaction.atomic():
        line = Line.objects.filter(order_ref=order_ref).first()
        if line is not None:
            return line
        line = _open(
            user_id=user_id,
            msisdn=msisdn,
            carrier_code=carrier_code,
            plan_code=plan_code,
            iccid=iccid,
            imsi=imsi,
            order_ref=order_ref,
            actor=f"order:{order_ref}",
            now=now,
            contract_months=contract_months,
        )
        if opening_balance_fen > 0:
            _credit(
                line,
                source=PREPAYMENTS,
                amount_fen=opening_balance_fen,
                kind="line.first_topup",
                memo=f"订单 {order_ref} 首充转入余额",
                key=f"line.first_topup:{order_ref}",
            )
            signals.wallet_credited.send(
                sender=Line,
                line_id=line.pk,
                amount_fen=opening_balance_fen,
                key=f"line.first_topup:{order_ref}",
                source="FIRST_TOPUP",
                now=now,
            )
    return line


def open_line(
    *,
    user_id: int,
    msisdn: str,
    carrier_code: str,
    plan_code: str,
    iccid: str,
    imsi: str,
    opening_balance_fen: int = 0,
    actor: str,
    now: dt.datetime,
) -> Line:
    """Staff create an ACTIVE line directly (a line migrated from another system, or for
    tests), with its balance brought over. Raises IntegrityError when the number or ICCID
    already has a live line."""
    with transaction.atomic():
        line = _open(
            user_id=user_id,
            msisdn=msisdn,
            carrier_code=carrier_code,
            plan_code=plan_code,
            iccid=iccid,
            imsi=imsi,
            order_ref=None,
            actor=actor,
            now=now,
        )
        if opening_balance_fen > 0:
            _credit(
                line,
                source=OPENING_BALANCES,
                amount_fen=opening_balance_fen,
                kind="line.opening_balance",
                memo=f"线路 {msisdn} 期初余额",
                key=f"line.opening_balance:{line.pk}",
            )
    return line


def _open(
    *, user_id, msisdn, carrier_code, plan_code, iccid, imsi, order_ref, actor, now, **fields
) -> Line:
    line = Line.objects.create(
        **fields,
        msisdn=msisdn,
        user_id=user_id,
        carrier_code=carrier_code,
        plan_code=plan_code,
        status=LineState.ACTIVE,
        iccid=iccid,
        imsi=imsi,
        order_ref=order_ref,
        activated_at=now,
        created_at=now,
    )
    LineEvent.objects.create(
        line=line,
        from_status="",
        to_status=LineState.ACTIVE,
        actor=actor,
        reason="开卡激活" if order_ref else "后台开户",
        at=now,
    )
    ledger.open_account(
        code=chart.line_wallet(line_id=line.pk),
        name=f"线路 {msisdn} 余额",
        kind=chart.AccountKind.LIABILITY,
        allow_negative=True,
    )
    signals.line_opened.send(
        sender=Line, line_id=line.pk, plan_code=plan_code, order_ref=order_ref, now=now
    )
    return line


def _credit(line: Line, *, source: str, amount_fen: int, kind: str, memo: str, key: str) -> None:
    ledger.post(
        legs=[
            ledger.Leg(source, amount_fen),
            ledger.Leg(chart.line_wallet(line_id=line.pk), -amount_fen),
        ],
        kind=kind,
        memo=memo,
        key=key,
    )


def change_status(
    *,
    line_id: int,
    to: str,
    actor: str,
    reason: str,
    now: dt.datetime,
    suspend_reason: str = "",
    **fields,
) -> Line:
    """Move a line to another state (checked against the transition table), recording who,
    when and why. ``suspend_reason`` (ARREARS | USER_REQUEST | POLICY) goes with SUSPENDED.
    Runs in its own or the caller's transaction. Raises LineStateConflict, Line.DoesNotExist."""
    with transaction.atomic():
        line = Line.objects.select_for_update().get(pk=line_id)
        fields["suspend_reason"] = suspend_reason if to == LineState.SUSPENDED else ""
        move = LINE_MACHINE.record(
            line,
            target=to,
            actor=actor,
            at=now,
            reason=reason[:200],
            update=fields,
        )
        signals.line_status_changed.send(
            sender=Line,
            line_id=line.pk,
            from_status=move.before,
            to_status=move.after,
            suspend_reason=line.suspend_reason,
            reason=reason,
            now=now,
        )
    return line


def notify(
    *, line_id: int, kind: str, key: str, title: str, body: str, sms: bool, now: dt.datetime
) -> bool:
    """Put a message in the line's notification centre (and send it by SMS to the line's
    number when ``sms``), once per ``key``. Returns False when it was already sent."""
    try:
        with transaction.atomic():
            Notification.objects.create(
                line_id=line_id,
                kind=kind,
                key=key[:80],
                title=title[:60],
                body=body[:300],
                sms_sent=sms,
                created_at=now,
            )
    except IntegrityError:
        return False
    if sms:
        msisdn = Line.objects.filter(pk=line_id).values_list("msisdn", flat=True).first()
        if msisdn:
            transaction.on_commit(
                lambda: sms_provider.provider().send(phone=msisdn, text=f"【号卡】{title}：{body}")
            )
    return True


# ---------------------------------------------------------------- writes of charging


def lock(*, line_id: int) -> Line:
    """The line, locked for the caller's transaction (after the charging lock, as ratings
    take them). Raises Line.DoesNotExist."""
    return Line.objects.select_for_update().get(pk=line_id)


def set_pending_plan(*, line_id: int, plan_code: str) -> None:
    """Record a plan change that takes effect at the next cycle ("" drops it)."""
    Line.objects.filter(pk=line_id).update(pending_plan_code=plan_code)


def switch_plan(*, line_id: int, plan_code: str) -> None:
    """The line runs on ``plan_code`` from now on (an upgrade); any pending change is dropped."""
    Line.objects.filter(pk=line_id).update(plan_code=plan_code, pending_plan_code="")


def apply_pending_plan(*, line_id: int) -> tuple[str, str]:
    """(the plan the line ran on, the plan it runs on now): a pending plan change takes
    effect (the monthly cycle calls it when a new month opens)."""
    plan_code, pending = Line.objects.filter(pk=line_id).values_list(
        "plan_code", "pending_plan_code"
    )[0]
    if not pending:
        return plan_code, plan_code
    Line.objects.filter(pk=line_id, pending_plan_code=pending).update(
        plan_code=pending, pending_plan_code=""
    )
    return plan_code, pending
