"""Top-ups of a line's wallet: the owner starts one (a payment with purpose TOPUP), the paid
payment credits the wallet and lifts an arrears suspension; and auto top-up, the owner's
standing order to top up when the balance drops below a threshold.

An auto top-up cannot charge a stored card in this sandbox: it starts a payment and sends the
owner its pay link. It fires at most once per Beijing day per line: its reference is
``AT<line>D<yyyymmdd>`` (UNIQUE), checked right after the wallet is debited (usage, packs,
the monthly fee) and by the daily sweep (a balance already low, a payment start that failed).
"""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.charging import tasks
from haoka.charging.domain import TOPUP_MACHINE, TopUpStatus
from haoka.charging.models import AutoTopUp, ChargingAccount, TopUp, TopUpKind
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.errors import Conflict, HaokaError, ValidationError
from haoka.core.money import format_fen
from haoka.lines import operations as line_ops
from haoka.lines import queries as line_queries
from haoka.lines import signals
from haoka.lines.domain import LineState
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.payments import operations as payment_ops
from haoka.payments.domain import TAKEN_BACK

log = structlog.get_logger(__name__)

PURPOSE = "TOPUP"
MIN_FEN, MAX_FEN = 100, 500_000  # ¥1 - ¥5,000 per top-up
MIN_THRESHOLD_FEN, MAX_THRESHOLD_FEN = 100, 50_000  # ¥1 - ¥500 auto top-up threshold
METHODS = ("WECHAT", "ALIPAY")
DEAD = (LineState.CLOSED, LineState.PORTED_OUT)


class TopUpAmountOutOfRange(ValidationError):
    code = "topup_amount_out_of_range"
    message = f"充值金额须在 {format_fen(MIN_FEN)} 到 {format_fen(MAX_FEN)} 之间"


class InvalidTopUpMethod(ValidationError):
    code = "invalid_topup_method"
    message = "支付方式须为 wechat 或 alipay"


class InvalidAutoTopUp(ValidationError):
    code = "invalid_auto_topup"
    message = (
        f"自动充值阈值须在 {format_fen(MIN_THRESHOLD_FEN)} 到 {format_fen(MAX_THRESHOLD_FEN)} 之间"
    )


class LineNotRechargeable(Conflict):
    code = "line_not_rechargeable"
    message = "该线路已销户或携出，不能充值"


def check_amount(amount_fen: object) -> int:
    """Raises TopUpAmountOutOfRange."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise TopUpAmountOutOfRange(amount_fen=repr(amount_fen)[:20])
    if not MIN_FEN <= amount_fen <= MAX_FEN:
        raise TopUpAmountOutOfRange(amount_fen=amount_fen, min_fen=MIN_FEN, max_fen=MAX_FEN)
    return amount_fen


def check_method(method: object) -> str:
    """``wechat`` / ``alipay`` in any case. Raises InvalidTopUpMethod."""
    text = str(method or "").strip().upper()
    if text not in METHODS:
        raise InvalidTopUpMethod(method=str(method)[:20], allowed=[m.lower() for m in METHODS])
    return text


# ---------------------------------------------------------------- starting a top-up


def start_topup(*, line_id: int, amount_fen: int, method: str, now: dt.datetime) -> TopUp:
    """Start topping up the line: a TopUp and its payment; the TopUp carries the pay URL.
    Not to be wrapped in a transaction (the gateway is called).
    Raises TopUpAmountOutOfRange, InvalidTopUpMethod, LineNotRechargeable, Line.DoesNotExist
    and the errors of ``payments.operations.start_payment`` (the TopUp is then FAILED)."""
    amount_fen, method = check_amount(amount_fen), check_method(method)
    line = line_queries.line_by_id(line_id=line_id)
    if line.status in DEAD:
        raise LineNotRechargeable(status=line.status)
    topup = TopUp.objects.create(
        ref=f"TU{secrets.token_hex(8).upper()}",
        line_id=line.pk,
        kind=TopUpKind.MANUAL,
        amount_fen=amount_fen,
        method=method,
        status=TopUpStatus.PENDING,
        created_at=now,
    )
    return _pay(topup, line=line, now=now)


def _pay(topup: TopUp, *, line, now: dt.datetime) -> TopUp:
    """Start the TopUp's payment. A manual top-up whose start fails is FAILED (the owner
    sees the error and tries again); an auto top-up stays PENDING for the sweep to retry."""
    try:
        started = payment_ops.start_payment(
            purpose=PURPOSE,
            reference=topup.ref,
            user_id=line.user_id,
            amount_fen=topup.amount_fen,
            method=topup.method,
            return_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/lines/{line.msisdn}",
            now=now,
        )
    except HaokaError:
        if topup.kind == TopUpKind.MANUAL:
            TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.FAILED)
            TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING).update(
                status=TopUpStatus.FAILED
            )
        raise
    TopUp.objects.filter(pk=topup.pk).update(payment_id=started.payment_id, pay_url=started.pay_url)
    topup.refresh_from_db()
    return topup


# ---------------------------------------------------------------- money received


def payment_received(
    *, payment_id: int, reference: str, amount_fen: int, now: dt.datetime
) -> TopUp | None:
    """Credit the wallet with a paid TOPUP payment (once per payment, whatever the TopUp's
    status: money received is never ignored), then resume a line suspended for arrears
    whose wallet is no longer negative. None for a reference that is not a top-up.
    Raises TopUpStateConflict (a top-up being refunded while its line is live: not a move
    of its table)."""
    with transaction.atomic():
        topup = TopUp.objects.select_for_update().filter(ref=reference).first()
        if topup is None:
            log.warning("topup_payment_without_topup", payment_id=payment_id, reference=reference)
            return None
        # The line's charging lock: a suspension for arrears decided meanwhile waits for us.
        ChargingAccount.objects.select_for_update().filter(line_id=topup.line_id).first()
        if line_queries.status_of(line_id=topup.line_id) in GONE:
            # The line closed (its balance was settled) before this money arrived: it is not
            # credited to a wallet nobody can use, but goes back to the payer.
            if topup.status != TopUpStatus.REFUNDING:  # another late attempt: refund it too
                TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.REFUNDING)
                TopUp.objects.filter(pk=topup.pk).update(status=TopUpStatus.REFUNDING)
            transaction.on_commit(
                lambda: tasks.refund_topup.enqueue(payment_id=payment_id, reference=reference)
            )
            return topup
        key = f"topup:{payment_id}"
        if not ledger.posted(key=key):
            _credit(topup, payment_id=payment_id, amount_fen=amount_fen, key=key, now=now)
        _resume_if_paid_up(topup.line_id, ref=topup.ref, now=now)
    return topup


#: Lines whose wallet no longer takes money.
GONE = (LineState.CLOSED, LineState.PORTED_OUT)


def refund_late_topup(*, payment_id: int, reference: str, now: dt.datetime) -> str:
    """Give back a top-up paid after its line closed (worker task; idempotent: the refund's
    intent key is fixed). Never inside a transaction. Returns the refund's status."""
    topup = TopUp.objects.filter(ref=reference).first()
    if topup is None or topup.status not in (TopUpStatus.REFUNDING, TopUpStatus.REFUNDED):
        return "nothing"
    result = payment_ops.refund(
        purpose="TOPUP",
        reference=topup.ref,
        amount_fen=None,
        reason=f"线路已销户，充值 {topup.ref} 原路退回",
        now=now,
        payment_id=payment_id,
    )
    if str(result.status) in ("SUCCEEDED", "NOTHING_LEFT") and topup.status != TopUpStatus.REFUNDED:
        TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.REFUNDED)
        TopUp.objects.filter(pk=topup.pk).update(status=TopUpStatus.REFUNDED)
    return str(result.status)


def _credit(topup: TopUp, *, payment_id: int, amount_fen: int, key: str, now) -> None:
    """Raises TopUpStateConflict (a top-up being refunded takes no money)."""
    if topup.status != TopUpStatus.PAID:  # a second paid attempt is credited, not a move
        TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.PAID)
    ledger.post(
        legs=[
            ledger.Leg(chart.CUSTOMER_PREPAYMENTS, amount_fen),
            ledger.Leg(chart.line_wallet(line_id=topup.line_id), -amount_fen),
        ],
        kind="line.topup",
        memo=f"充值 {topup.ref}",
        key=key,
    )
    topup.credited_fen += amount_fen
    topup.status = TopUpStatus.PAID
    topup.paid_at = topup.paid_at or now
    topup.payment_id = topup.payment_id or payment_id
    topup.save(update_fields=["credited_fen", "status", "paid_at", "payment_id"])
    signals.wallet_credited.send(
        sender=TopUp, line_id=topup.line_id, amount_fen=amount_fen, key=key, source="TOPUP", now=now
    )
    line_ops.notify(
        line_id=topup.line_id,
        kind="TOPUP",
        key=key,
        title="充值到账",
        body=f"您充值的 {format_fen(amount_fen)} 已到账。",
        sms=False,
        now=now,
    )
    line = line_queries.line_by_id(line_id=topup.line_id)
    notices.notify(
        user_id=line.user_id,
        kind=Kind.TOPUP_CREDITED,
        key=f"{key}:credited",
        values={"msisdn": line.msisdn, "amount_fen": amount_fen},
        now=now,
    )


# ---------------------------------------------------------------- refunds haoka did not ask for

#: Why a refund of a top-up's payment could not be taken back from the wallet (the payments
#: domain then parks it for staff, see ``payments.unmatched``).
NOT_A_TOPUP = "topup_not_found"
NOT_CREDITED = "topup_not_credited"
LINE_GONE = "line_closed"
NOT_ENOUGH = "insufficient_balance"


def take_back_refund(
    *, payment_id: int, reference: str, refund_id: str, amount_fen: int, now: dt.datetime
) -> str:
    """The gateway refunded ``amount_fen`` of a top-up's payment without haoka asking (its
    merchant console): the payer has the money back, so it leaves the wallet too (Dr wallet /
    Cr customer prepayments, once per refund) when the wallet has that much available (its
    balance less what open sessions hold). Runs inside the payments' transaction (signal
    ``refund_unsolicited``), the payment locked. Returns ``payments.domain.TAKEN_BACK`` or
    why not (NOT_A_TOPUP, NOT_CREDITED, LINE_GONE, NOT_ENOUGH): then nothing is written
    and the refund is parked for staff. The TopUp keeps what it credited; the bill shows the
    debit among "other"."""
    topup = TopUp.objects.select_for_update().filter(ref=reference).first()
    if topup is None:
        return NOT_A_TOPUP
    account = ChargingAccount.objects.select_for_update().filter(line_id=topup.line_id).first()
    key = f"topup.reversal:{refund_id}"
    if ledger.posted(key=key):
        return TAKEN_BACK  # asked again (a retry by staff after it was taken)
    if not ledger.posted(key=f"topup:{payment_id}"):
        if topup.status in (TopUpStatus.REFUNDING, TopUpStatus.REFUNDED):
            # Paid after the line closed: never credited, owed back anyway.
            return TAKEN_BACK
        return NOT_CREDITED  # its credit may still come: staff look
    if account is None or line_queries.status_of(line_id=topup.line_id) in GONE:
        return LINE_GONE  # the balance was settled when the line closed
    wallet = chart.line_wallet(line_id=topup.line_id)
    available = -ledger.balance_fen(account=wallet) - account.reserved_fen
    if available < amount_fen:
        log.warning(
            "topup_refund_exceeds_wallet",
            ref=topup.ref,
            refund_id=refund_id,
            amount_fen=amount_fen,
            available_fen=available,
        )
        return NOT_ENOUGH
    ledger.post(
        legs=[
            ledger.Leg(wallet, amount_fen),
            ledger.Leg(chart.CUSTOMER_PREPAYMENTS, -amount_fen),
        ],
        kind="line.topup_refunded",
        memo=f"充值 {topup.ref} 已由支付渠道退款 {refund_id}",
        key=key,
    )
    line_ops.notify(
        line_id=topup.line_id,
        kind="TOPUP_REFUND",
        key=key,
        title="充值已退款",
        body=f"您的充值 {format_fen(amount_fen)} 已由支付渠道原路退回，已从余额中扣除。",
        sms=False,
        now=now,
    )
    return TAKEN_BACK


def _resume_if_paid_up(line_id: int, *, ref: str, now: dt.datetime) -> None:
    line = line_queries.status_and_plan(line_id=line_id)
    if line.status != LineState.SUSPENDED or line.suspend_reason != "ARREARS":
        return
    if ledger.balance_fen(account=chart.line_wallet(line_id=line_id)) > 0:
        return  # still owes (a liability's debit balance is the customer's debt)
    line_ops.change_status(
        line_id=line_id, to=LineState.ACTIVE, actor=f"topup:{ref}", reason="充值后欠费已结清",
        now=now,
    )  # fmt: skip


# ---------------------------------------------------------------- auto top-up


def set_auto_topup(
    *,
    line_id: int,
    enabled: bool,
    threshold_fen: int,
    amount_fen: int,
    method: str,
    now: dt.datetime,
) -> AutoTopUp:
    """Set (or replace) the line's auto top-up.
    Raises InvalidAutoTopUp, TopUpAmountOutOfRange, InvalidTopUpMethod, LineNotRechargeable."""
    amount_fen, method = check_amount(amount_fen), check_method(method)
    if isinstance(threshold_fen, bool) or not isinstance(threshold_fen, int):
        raise InvalidAutoTopUp(threshold_fen=repr(threshold_fen)[:20])
    if not MIN_THRESHOLD_FEN <= threshold_fen <= MAX_THRESHOLD_FEN:
        raise InvalidAutoTopUp(threshold_fen=threshold_fen)
    if line_queries.status_of(line_id=line_id) in DEAD:
        raise LineNotRechargeable()
    setting, _ = AutoTopUp.objects.update_or_create(
        line_id=line_id,
        defaults={
            "enabled": bool(enabled),
            "threshold_fen": threshold_fen,
            "amount_fen": amount_fen,
            "method": method,
            "updated_at": now,
        },
    )
    return setting


def trigger_auto_topup(*, line_id: int, available_fen: int, now: dt.datetime) -> TopUp | None:
    """Make today's auto top-up when the line has one enabled and ``available_fen`` is below
    its threshold; its payment starts after commit (a task). Runs in the caller's
    transaction. None when nothing fires (already fired today, no setting, balance fine)."""
    if available_fen >= MAX_THRESHOLD_FEN:
        return None  # above any threshold: no query on the charging path
    setting = AutoTopUp.objects.filter(pk=line_id, enabled=True).first()
    if setting is None or available_fen >= setting.threshold_fen:
        return None
    ref = f"AT{line_id}D{now.astimezone(clock.BEIJING):%Y%m%d}"
    if TopUp.objects.filter(ref=ref).exists():
        return None
    try:
        with transaction.atomic():
            topup = TopUp.objects.create(
                ref=ref,
                line_id=line_id,
                kind=TopUpKind.AUTO,
                amount_fen=setting.amount_fen,
                method=setting.method,
                status=TopUpStatus.PENDING,
                created_at=now,
            )
    except IntegrityError:
        return None  # a concurrent debit fired it first
    transaction.on_commit(lambda: _enqueue_start(ref))
    return topup


def _enqueue_start(ref: str) -> None:
    try:
        tasks.start_auto_topup.enqueue(ref=ref)
    except Exception:  # the daily sweep starts it later; the debit that fired it stands
        log.exception("auto_topup_enqueue_failed", ref=ref)


def start_auto_topup(*, ref: str, now: dt.datetime) -> TopUp:
    """Start the payment of an auto top-up made by :func:`trigger_auto_topup` and send the
    owner its pay link (once). Idempotent. Raises TopUp.DoesNotExist and the errors of
    ``payments.operations.start_payment``."""
    topup = TopUp.objects.get(ref=ref, kind=TopUpKind.AUTO)
    if topup.status != TopUpStatus.PENDING or topup.payment_id is not None:
        return topup
    line = line_queries.line_by_id(line_id=topup.line_id)
    topup = _pay(topup, line=line, now=now)
    line_ops.notify(
        line_id=line.pk,
        kind="AUTO_TOPUP",
        key=f"autotopup:{ref}",
        title="自动充值待支付",
        body=f"余额不足，已为您发起 {format_fen(topup.amount_fen)} 自动充值，"
        f"请打开链接完成支付：{topup.pay_url}",
        sms=True,
        now=now,
    )
    return topup


def sweep_auto_topups(*, now: dt.datetime, limit: int = 1000) -> dict[str, int]:
    """Fire auto top-ups of lines whose balance is already below the threshold and start the
    payments of those whose start failed (within a day). Returns counts."""
    fired = started = 0
    settings_ = AutoTopUp.objects.filter(enabled=True).exclude(line__status__in=DEAD)
    for line_id in settings_.order_by("line_id").values_list("line_id", flat=True)[:limit]:
        with transaction.atomic():
            account = ChargingAccount.objects.select_for_update().filter(line_id=line_id).first()
            if account is None:
                continue
            balance = -ledger.balance_fen(account=chart.line_wallet(line_id=line_id))
            available = balance - account.reserved_fen
            fired += (
                trigger_auto_topup(line_id=line_id, available_fen=available, now=now) is not None
            )
    stuck = TopUp.objects.filter(
        kind=TopUpKind.AUTO, status=TopUpStatus.PENDING, payment_id__isnull=True,
        created_at__gte=now - dt.timedelta(days=1), created_at__lte=now - dt.timedelta(minutes=5),
    )  # fmt: skip
    for ref in stuck.order_by("id").values_list("ref", flat=True)[:limit]:
        try:
            start_auto_topup(ref=ref, now=now)
            started += 1
        except HaokaError as exc:
            log.warning("auto_topup_start_failed", ref=ref, code=exc.code)
    return {"fired": fired, "started": started}
