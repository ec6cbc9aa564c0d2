"""A sponsor's wallet on the ledger: its prepaid money (``liability:sponsor:<id>``, may not
go negative) and the money its campaigns hold (``liability:sponsor_held:<id>``); top-ups
through the payment gateway (purpose SPONSOR_TOPUP, as a line's top-up); the low-balance
alert; the wholesale cost of data per carrier.

Both accounts are liabilities: a credit balance is the sponsor's money, shown positive."""

from __future__ import annotations

import datetime as dt
import secrets

import structlog
from django.conf import settings
from django.db import transaction

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.accounts_chart import AccountKind
from haoka.core.errors import HaokaError, ValidationError
from haoka.core.money import format_fen
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.payments import operations as payment_ops
from haoka.payments.domain import TAKEN_BACK
from haoka.sponsors import domain
from haoka.sponsors.domain import TOPUP_MACHINE, TopUpStatus
from haoka.sponsors.models import Sponsor, SponsorTopUp, WholesaleRate

log = structlog.get_logger(__name__)

PURPOSE = "SPONSOR_TOPUP"
METHODS = ("WECHAT", "ALIPAY")
GB = 1024**3


class SponsorTopUpOutOfRange(ValidationError):
    code = "topup_amount_out_of_range"
    message = (
        f"充值金额须在 {format_fen(domain.TOPUP_MIN_FEN)} 到 "
        f"{format_fen(domain.TOPUP_MAX_FEN)} 之间"
    )


class InvalidTopUpMethod(ValidationError):
    code = "invalid_topup_method"
    message = "支付方式须为 wechat 或 alipay"


def open_accounts(*, sponsor: Sponsor) -> None:
    """Open the sponsor's two ledger accounts (idempotent). The held account is posted to by
    every settled slice of every campaign of the sponsor: it keeps no cached balance, so
    settlements never wait for each other on it (``core.ledger.open_account(busy=True)``).
    The wallet is never overdrawn: whatever takes money from it checks its balance with the
    sponsor's row locked (:func:`move_to_held`)."""
    ledger.open_account(
        code=chart.sponsor_wallet(sponsor_id=sponsor.sponsor_id),
        name=f"后向客户预付款 {sponsor.sponsor_id}",
        kind=AccountKind.LIABILITY,
    )
    ledger.open_account(
        code=chart.sponsor_held(sponsor_id=sponsor.sponsor_id),
        name=f"后向客户活动预算 {sponsor.sponsor_id}",
        kind=AccountKind.LIABILITY,
        busy=True,
    )


def balance_fen(*, sponsor_id: str) -> int:
    """The wallet's money (free to fund campaigns)."""
    return -ledger.balance_fen(account=chart.sponsor_wallet(sponsor_id=sponsor_id))


def held_fen(*, sponsor_id: str) -> int:
    """The money the sponsor's campaigns hold (unsliced budget and open slices)."""
    return -ledger.balance_fen(account=chart.sponsor_held(sponsor_id=sponsor_id))


def move_to_held(
    *, sponsor: Sponsor, amount_fen: int, kind: str, memo: str, key: str | None
) -> None:
    """Move money between the wallet and the held account (a positive amount into held: a
    campaign's budget; negative: budget returned). Call inside the transaction with the
    sponsor's row locked. Raises InsufficientBalance (409 ``insufficient_balance``) when the
    wallet has less than a positive amount."""
    if amount_fen == 0:
        return
    sid = sponsor.sponsor_id
    if amount_fen > 0 and balance_fen(sponsor_id=sid) < amount_fen:
        raise ledger.InsufficientBalance(
            "赞助账户余额不足", balance_fen=balance_fen(sponsor_id=sid), needed_fen=amount_fen
        )
    ledger.post(
        legs=[
            ledger.Leg(chart.sponsor_wallet(sponsor_id=sid), amount_fen),
            ledger.Leg(chart.sponsor_held(sponsor_id=sid), -amount_fen),
        ],
        kind=kind,
        memo=memo,
        key=key,
    )


# ---------------------------------------------------------------- top-ups


def start_topup(
    *, sponsor: Sponsor, user_id: int, amount_fen: int, method: str, now: dt.datetime
) -> SponsorTopUp:
    """Start topping up the sponsor's wallet: a SponsorTopUp and its payment (the payer pays
    at ``pay_url``). Not to be wrapped in a transaction (the gateway is called). Raises
    SponsorTopUpOutOfRange, InvalidTopUpMethod and the errors of
    ``payments.operations.start_payment`` (the top-up is then FAILED)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise SponsorTopUpOutOfRange(amount_fen=repr(amount_fen)[:20])
    if not domain.TOPUP_MIN_FEN <= amount_fen <= domain.TOPUP_MAX_FEN:
        raise SponsorTopUpOutOfRange(amount_fen=amount_fen)
    method = str(method or "").strip().upper()
    if method not in METHODS:
        raise InvalidTopUpMethod(method=method[:20], allowed=[m.lower() for m in METHODS])
    topup = SponsorTopUp.objects.create(
        ref=f"ST{secrets.token_hex(8).upper()}",
        sponsor=sponsor,
        amount_fen=amount_fen,
        method=method,
        created_by_id=user_id,
        created_at=now,
    )
    try:
        started = payment_ops.start_payment(
            purpose=PURPOSE,
            reference=topup.ref,
            user_id=user_id,
            amount_fen=amount_fen,
            method=method,
            return_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/sponsor/",
            now=now,
        )
    except HaokaError:
        TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.FAILED)
        SponsorTopUp.objects.filter(pk=topup.pk, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.FAILED
        )
        raise
    SponsorTopUp.objects.filter(pk=topup.pk).update(
        payment_id=started.payment_id, pay_url=started.pay_url
    )
    topup.refresh_from_db()
    return topup


def payment_received(
    *, payment_id: int, reference: str, amount_fen: int, now: dt.datetime
) -> SponsorTopUp | None:
    """Credit the wallet with a paid SPONSOR_TOPUP payment, once per payment whatever the
    top-up's status (money received is never ignored). None for an unknown reference."""
    with transaction.atomic():
        topup = SponsorTopUp.objects.select_for_update().filter(ref=reference).first()
        if topup is None:
            log.warning("sponsor_topup_payment_without_topup", payment_id=payment_id)
            return None
        sponsor = Sponsor.objects.select_for_update().get(pk=topup.sponsor_id)
        key = f"sponsor_topup:{payment_id}"
        if ledger.posted(key=key):
            return topup
        if topup.status != TopUpStatus.PAID:  # a second paid attempt is credited, not a move
            TOPUP_MACHINE.check(current=topup.status, target=TopUpStatus.PAID)
        ledger.post(
            legs=[
                ledger.Leg(chart.CUSTOMER_PREPAYMENTS, amount_fen),
                ledger.Leg(chart.sponsor_wallet(sponsor_id=sponsor.sponsor_id), -amount_fen),
            ],
            kind="sponsor.topup",
            memo=f"后向客户充值 {topup.ref}",
            key=key,
        )
        topup.credited_fen += amount_fen
        topup.status = TopUpStatus.PAID
        topup.paid_at = topup.paid_at or now
        topup.payment_id = topup.payment_id or payment_id
        topup.save(update_fields=["credited_fen", "status", "paid_at", "payment_id"])
        moved(sponsor=sponsor, now=now)
    log.info("sponsor_topup_credited", ref=topup.ref, amount_fen=amount_fen)
    return topup


def take_back_refund(*, reference: str, payment_id: int, refund_id: str, amount_fen: int) -> str:
    """The gateway refunded a sponsor's top-up without haoka asking: the money leaves the
    wallet too (once per refund) when the wallet still has it; else why not (the refund is
    parked for staff, ``payments.unmatched``). Runs inside the payments' transaction."""
    topup = SponsorTopUp.objects.select_for_update().filter(ref=reference).first()
    if topup is None:
        return "topup_not_found"
    key = f"sponsor_topup.reversal:{refund_id}"
    if ledger.posted(key=key):
        return TAKEN_BACK
    if not ledger.posted(key=f"sponsor_topup:{payment_id}"):
        return "topup_not_credited"
    sponsor = Sponsor.objects.select_for_update().get(pk=topup.sponsor_id)
    if balance_fen(sponsor_id=sponsor.sponsor_id) < amount_fen:
        return "insufficient_balance"  # spent on campaigns: staff settle it with the sponsor
    ledger.post(
        legs=[
            ledger.Leg(chart.sponsor_wallet(sponsor_id=sponsor.sponsor_id), amount_fen),
            ledger.Leg(chart.CUSTOMER_PREPAYMENTS, -amount_fen),
        ],
        kind="sponsor.topup_refunded",
        memo=f"后向客户充值 {topup.ref} 已由支付渠道退款 {refund_id}",
        key=key,
    )
    return TAKEN_BACK


# ---------------------------------------------------------------- the low-balance alert


def moved(*, sponsor: Sponsor, now: dt.datetime) -> None:
    """After the wallet moved (inside the transaction, the sponsor's row locked): below the
    sponsor's threshold for the first time since it was last above it, its members are told
    once; back at or above it, the next crossing will be told again."""
    balance = balance_fen(sponsor_id=sponsor.sponsor_id)
    below = balance < sponsor.low_balance_fen
    if below == sponsor.low_balance_alerted:
        return
    sponsor.low_balance_alerted = below
    if below:
        sponsor.low_balance_alerts += 1
        for user_id in sponsor.members.values_list("user_id", flat=True):
            notices.notify(
                user_id=user_id,
                kind=Kind.SPONSOR_LOW_BALANCE,
                key=f"sponsor:{sponsor.sponsor_id}:low_balance:{sponsor.low_balance_alerts}:{user_id}",
                values={
                    "company_name": sponsor.company_name,
                    "sponsor_id": sponsor.sponsor_id,
                    "balance_fen": balance,
                    "threshold_fen": sponsor.low_balance_fen,
                },
                now=now,
            )
    Sponsor.objects.filter(pk=sponsor.pk).update(
        low_balance_alerted=below, low_balance_alerts=sponsor.low_balance_alerts
    )


# ---------------------------------------------------------------- the wholesale cost of data


def wholesale_fen_per_gb(*, carrier_code: str, at: dt.datetime) -> int | None:
    """The wholesale rate of the carrier's data in force at ``at`` (None when staff set none)."""
    return (
        WholesaleRate.objects.filter(carrier_code=carrier_code, valid_from__lte=at)
        .order_by("-valid_from", "-id")
        .values_list("fen_per_gb", flat=True)
        .first()
    )
