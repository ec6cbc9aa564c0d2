"""Gifts of data between lines (流量转赠).

The giver's owner asks (:func:`ask`): the rules are checked, the gift waits in CODE_SENT and
an SMS code goes to the giving line's own number (the SIM in the person's hand; the code is a
step-up code of ``accounts.stepup`` bound to this gift). :func:`confirm` with that code moves
the bytes under both lines' charging locks (``dataflow.lock_lines``): taken from the giver's
transferable buckets (``movements.GIFTABLE``, soonest expiry first, never what sessions hold
reserved), given as a GIFT bucket of the receiver valid to the end of the Beijing month
(``origin="gift:<id>"``, UNIQUE); both owners are told. Staff may :func:`reverse` a gift:
what the receiver has not used goes back where it came from.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.db import transaction

from haoka.accounts import stepup
from haoka.accounts.domain import STEP_UP_CODE_TTL, StepUpAction, step_up_purpose_text
from haoka.charging import cycle, dataflow, linebook, movements, notifications
from haoka.charging.domain import Source, Unit
from haoka.charging.models import DataGift
from haoka.charging.movements import GIFT_MACHINE, GiftState, MovementKind
from haoka.core.errors import Conflict, NotFound
from haoka.core.pii import mask_phone
from haoka.lines import queries as line_queries
from haoka.notices import operations as notices
from haoka.notices.templates import Kind

log = structlog.get_logger(__name__)

#: The rule errors that turn a confirmation into FAILED (rather than leave it to retry).
_REFUSALS = (
    movements.NotEnoughData,
    movements.MonthlyLimitReached,
    movements.LineNotActive,
    movements.ReceiverNotAvailable,
)


class GiftNotFound(NotFound):
    code = "gift_not_found"
    message = "转赠记录不存在"


class GiftExpired(Conflict):
    code = "gift_expired"
    message = "验证码已过期，请重新发起转赠"


class GiftKeyReused(Conflict):
    code = "gift_key_reused"
    message = "该幂等键已用于另一笔转赠"


def monthly_max() -> int:
    return settings.DATA_GIFT_MONTHLY_MAX_MB * movements.MB


def _given_this_month(line_id: int, now: dt.datetime) -> int:
    start, _ = cycle.beijing_month(now)
    return dataflow.moved_this_month(
        line_id=line_id, kinds=[MovementKind.GIFT_OUT], month_start=start
    )


def _receiver(to_msisdn: str) -> tuple[int | None, str]:
    found = line_queries.find_line(msisdn=str(to_msisdn)[:11], user_id=None)
    return (found.pk, found.status) if found is not None else (None, "")


def ask(
    *,
    line_id: int,
    user_id: int,
    to_msisdn: str,
    megabytes: int,
    client_ip: str,
    now: dt.datetime,
    request_key: str = "",
) -> DataGift:
    """Start a gift of ``megabytes`` from the line to the line numbered ``to_msisdn`` and send
    the code to the giving line's number. The same ``request_key`` again returns the first
    gift. Raises AmountOutOfRange, SameLine, LineNotActive, ReceiverNotAvailable,
    MonthlyLimitReached, NotEnoughData, GiftKeyReused, RateLimited."""
    amount = movements.bytes_of(megabytes=megabytes)
    receiver_id, receiver_status = _receiver(to_msisdn)
    if request_key:
        first = DataGift.objects.filter(giver_id=line_id, request_key=request_key).first()
        if first is not None:
            if (first.receiver_id, first.amount) != (receiver_id, amount):
                raise GiftKeyReused()
            return first
    with transaction.atomic():
        books = dataflow.lock_lines([line_id], now=now)
        book = books[line_id]
        movements.check_gift_lines(
            giver_id=line_id, giver_status=book.line.status, receiver_id=receiver_id,
            receiver_status=receiver_status,
        )  # fmt: skip
        given = _given_this_month(line_id, now)
        movements.check_monthly(amount=amount, done_this_month=given, monthly_max=monthly_max())
        movements.take(  # a look only: nothing moves before the code comes back
            buckets=book.engine_buckets(Unit.BYTES, now), sources=movements.GIFTABLE,
            amount=amount, at=now,
        )  # fmt: skip
        gift = DataGift.objects.create(
            giver_id=line_id, receiver_id=receiver_id, user_id=user_id, amount=amount,
            state=GiftState.CODE_SENT, request_key=request_key, created_at=now,
            expires_at=now + STEP_UP_CODE_TTL,
        )  # fmt: skip
        purpose = f"将 {movements.format_bytes(amount)} 流量转赠给 {mask_phone(str(to_msisdn))}"
        stepup.send_code_to(
            user_id=user_id, action=StepUpAction.DATA_GIFT, target=f"gift:{gift.pk}",
            phone=book.line.msisdn, text=step_up_purpose_text(code="{code}", purpose=purpose),
            client_ip=client_ip, now=now,
        )  # fmt: skip
    log.info("data_gift_asked", gift_id=gift.pk, giver=line_id, amount=amount)
    return gift


def of_line(*, gift_id: int, line_id: int) -> tuple[DataGift, str]:
    """A gift the line gave or asked to give, with the receiver's number (a page's read).
    Raises GiftNotFound (also for another line's gift)."""
    gift = DataGift.objects.filter(pk=gift_id, giver_id=line_id).first()
    if gift is None:
        raise GiftNotFound(gift_id=gift_id)
    numbers = line_queries.numbers_and_owners(line_ids=[gift.receiver_id])
    return gift, numbers[gift.receiver_id][0]


def confirm(*, gift_id: int, line_id: int, user_id: int, code: str, now: dt.datetime) -> DataGift:
    """Move the gift's bytes once its SMS code is right. A gift already DONE (or reversed
    since) is returned as it is: confirming twice changes nothing. A rule that no longer
    holds (the data was used meanwhile, the receiver closed) makes it FAILED. Raises
    GiftNotFound, GiftExpired, GiftStateConflict, StepUpCodeInvalid, and the refusals of
    :func:`ask` (after recording FAILED)."""
    gift = DataGift.objects.filter(pk=gift_id, giver_id=line_id).first()
    if gift is None:
        raise GiftNotFound(gift_id=gift_id)
    if gift.state in (GiftState.DONE, GiftState.REVERSED):
        return gift
    GIFT_MACHINE.check(current=gift.state, target=GiftState.DONE)
    if now >= gift.expires_at:
        _close(gift.pk, GiftState.EXPIRED, now=now)
        raise GiftExpired(gift_id=gift.pk)
    target = f"gift:{gift.pk}"
    proof = stepup.verify_code_for(
        user_id=user_id, action=StepUpAction.DATA_GIFT, target=target, code=code, now=now
    )
    try:
        with transaction.atomic():
            books = dataflow.lock_lines([gift.giver_id, gift.receiver_id], now=now)
            gift = DataGift.objects.select_for_update().get(pk=gift.pk)
            if gift.state != GiftState.CODE_SENT:  # a concurrent confirmation won
                return gift
            stepup.spend(
                user_id=user_id, action=StepUpAction.DATA_GIFT, target=target,
                proof=proof.proof, now=now,
            )  # fmt: skip
            _move(gift, books, now=now)
    except _REFUSALS as refused:
        _close(gift.pk, GiftState.FAILED, now=now, failure=refused.code)
        raise
    return gift


def _move(gift: DataGift, books: dict, *, now: dt.datetime) -> None:
    giver, receiver = books[gift.giver_id], books[gift.receiver_id]
    movements.check_gift_lines(
        giver_id=gift.giver_id, giver_status=giver.line.status, receiver_id=gift.receiver_id,
        receiver_status=receiver.line.status,
    )  # fmt: skip
    movements.check_monthly(
        amount=gift.amount, done_this_month=_given_this_month(gift.giver_id, now),
        monthly_max=monthly_max(),
    )  # fmt: skip
    takes = dataflow.take_from(giver, sources=movements.GIFTABLE, amount=gift.amount, now=now)
    bucket = dataflow.new_bucket(
        line_id=gift.receiver_id, source=Source.GIFT,
        label=f"{mask_phone(giver.line.msisdn)} 转赠", amount=gift.amount,
        origin=f"gift:{gift.pk}", now=now, valid_to=cycle.next_month_start(now),
    )  # fmt: skip
    GIFT_MACHINE.check(current=gift.state, target=GiftState.DONE)
    gift.state, gift.takes, gift.done_at = GiftState.DONE, dataflow.dump(takes), now
    gift.save(update_fields=["state", "takes", "done_at"])
    dataflow.record(
        line_id=gift.giver_id, kind=MovementKind.GIFT_OUT, amount=gift.amount,
        key=f"gift:{gift.pk}:out", now=now, counterpart_id=gift.receiver_id, gift=gift,
        takes=gift.takes,
    )  # fmt: skip
    dataflow.record(
        line_id=gift.receiver_id, kind=MovementKind.GIFT_IN, amount=gift.amount,
        key=f"gift:{gift.pk}:in", now=now, counterpart_id=gift.giver_id, gift=gift,
        bucket_id=bucket.pk,
    )  # fmt: skip
    notifications.quota_available(line_id=gift.receiver_id, cause=f"gift:{gift.pk}", now=now)
    _tell(gift, giver_msisdn=giver.line.msisdn, receiver_msisdn=receiver.line.msisdn, now=now)
    log.info("data_gift_done", gift_id=gift.pk, amount=gift.amount)


def _tell(gift: DataGift, *, giver_msisdn: str, receiver_msisdn: str, now: dt.datetime) -> None:
    owners = line_queries.numbers_and_owners(line_ids=[gift.giver_id, gift.receiver_id])
    data = movements.format_bytes(gift.amount)
    for line_id, kind, msisdn, other in (
        (gift.giver_id, Kind.DATA_GIFT_SENT, giver_msisdn, receiver_msisdn),
        (gift.receiver_id, Kind.DATA_GIFT_RECEIVED, receiver_msisdn, giver_msisdn),
    ):
        notices.notify(
            user_id=owners[line_id][1], kind=kind, key=f"gift:{gift.pk}:{kind.lower()}",
            values={"msisdn": msisdn, "counterpart": mask_phone(other), "data": data}, now=now,
        )  # fmt: skip


def _close(gift_id: int, state: GiftState, *, now: dt.datetime, failure: str = "") -> None:
    """CODE_SENT -> EXPIRED | FAILED, if it still waits (a conditional update: of two, one)."""
    GIFT_MACHINE.check(current=GiftState.CODE_SENT, target=state)
    DataGift.objects.filter(pk=gift_id, state=GiftState.CODE_SENT).update(
        state=state, closed_at=now, failure=failure[:60]
    )


def expire(*, now: dt.datetime) -> int:
    """Gifts whose code ran out unconfirmed become EXPIRED. How many."""
    GIFT_MACHINE.check(current=GiftState.CODE_SENT, target=GiftState.EXPIRED)
    return DataGift.objects.filter(state=GiftState.CODE_SENT, expires_at__lte=now).update(
        state=GiftState.EXPIRED, closed_at=now
    )


def reverse(*, gift_id: int, actor: str, now: dt.datetime) -> DataGift:
    """Staff take a DONE gift back: what the receiver has not used (nor holds reserved) of
    the gift's bucket is taken from it and goes back into the giver's buckets it came from,
    those still valid; the rest of it lapses (its bucket has ended). A compensating movement
    on each line; the gift becomes REVERSED. Raises GiftNotFound, GiftStateConflict."""
    with transaction.atomic():
        gift = DataGift.objects.filter(pk=gift_id).first()
        if gift is None:
            raise GiftNotFound(gift_id=gift_id)
        books = dataflow.lock_lines([gift.giver_id, gift.receiver_id], now=now)
        gift = DataGift.objects.select_for_update().get(pk=gift_id)
        GIFT_MACHINE.check(current=gift.state, target=GiftState.REVERSED)
        received = gift.movements.get(kind=MovementKind.GIFT_IN)
        linebook.load_held(books[gift.receiver_id], [received.bucket_id])
        bucket = books[gift.receiver_id].buckets[received.bucket_id]
        # An ended bucket has nothing left to take: its bytes lapsed with it.
        ended = bucket.valid_to is not None and bucket.valid_to <= now
        taken = 0 if ended else max(0, bucket.amount - bucket.used - bucket.reserved)
        if taken:
            dataflow.shrink(received.bucket_id, taken)
        giver = books[gift.giver_id]
        back = movements.give_back(
            takes=dataflow.load(gift.takes), amount=taken, still_valid=giver.buckets.keys()
        )
        dataflow.give_to(giver, back.restores)
        gift.state, gift.reversed_amount, gift.closed_at = GiftState.REVERSED, taken, now
        gift.save(update_fields=["state", "reversed_amount", "closed_at"])
        dataflow.record(
            line_id=gift.receiver_id, kind=MovementKind.GIFT_TAKEN_BACK, amount=taken,
            key=f"gift:{gift.pk}:taken-back", now=now, counterpart_id=gift.giver_id, gift=gift,
            actor=actor,
        )  # fmt: skip
        dataflow.record(
            line_id=gift.giver_id, kind=MovementKind.GIFT_BACK, amount=taken - back.lapsed,
            lapsed=back.lapsed, key=f"gift:{gift.pk}:back", now=now,
            counterpart_id=gift.receiver_id, gift=gift, takes=dataflow.dump(back.restores),
            actor=actor,
        )  # fmt: skip
    log.info("data_gift_reversed", gift_id=gift.pk, taken=taken, lapsed=back.lapsed)
    return gift
