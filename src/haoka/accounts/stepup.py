"""Step-up (二次验证) before a risky line action: a fresh SMS code to the account's phone for
one action on one line, verified into a short-lived proof the action spends once.

The rules and the guessing arithmetic are in :mod:`haoka.accounts.domain`. Which line a user may
ask about is the caller's business (the lines API and pages check ownership first); here a
code and a proof are bound to (user, action, line) and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from haoka.accounts import domain, sms
from haoka.accounts.domain import StepUpAction
from haoka.accounts.models import StepUpChallenge, User
from haoka.core import ratelimit
from haoka.core.errors import HaokaError, PermissionDenied, ValidationError
from haoka.core.pii import mask_phone

#: The resend button waits this long after a code is sent (the per-user minute limit).
RESEND_AFTER_SECONDS = int(domain.STEP_UP_SEND_PER_USER_MINUTE[1].total_seconds())


class StepUpRequired(PermissionDenied):
    code = "step_up_required"
    message = "请先完成短信验证（验证码发送至账户绑定的手机号）"


class StepUpCodeInvalid(HaokaError):
    code = "step_up_code_invalid"
    status = 422
    message = "短信验证码错误或已过期，请重新获取"


class StepUpUnavailable(PermissionDenied):
    code = "step_up_unavailable"
    message = "账户未绑定手机号，无法短信验证，请联系客服办理"


class UnknownStepUpAction(ValidationError):
    code = "unknown_step_up_action"
    message = "不支持的验证业务"


@dataclass(frozen=True)
class CodeSent:
    action: str
    phone_masked: str
    expires_at: dt.datetime
    resend_after_seconds: int


@dataclass(frozen=True)
class Proof:
    action: str
    proof: str  # shown once, stored only as its keyed hash
    expires_at: dt.datetime


def action_of(value: str) -> StepUpAction:
    """The action named ``value`` (one a caller may ask for by name). Raises
    UnknownStepUpAction."""
    allowed = sorted(a.value for a in domain.NAMED_STEP_UP_ACTIONS)
    try:
        action = StepUpAction(value)
    except ValueError:
        raise UnknownStepUpAction(action=value, allowed=allowed) from None
    if action not in domain.NAMED_STEP_UP_ACTIONS:
        raise UnknownStepUpAction(action=value, allowed=allowed)
    return action


def _hash(*, user_id: int, action: str, target: str, value: str) -> str:
    return domain.step_up_hash(
        secret=settings.OTP_SECRET, user_id=user_id, action=action, target=target, value=value
    )


def send_code(
    *, user_id: int, action: str, target: str, client_ip: str, now: dt.datetime
) -> CodeSent:
    """Send a fresh code for ``action`` on line ``target`` to the user's phone of record; it
    replaces any earlier code for the same action and line. Raises UnknownStepUpAction,
    StepUpUnavailable (no phone), RateLimited."""
    action = action_of(action)
    phone = User.objects.filter(pk=user_id).values_list("phone", flat=True).first()
    if not phone:
        raise StepUpUnavailable()
    text = domain.step_up_text(code="{code}", action=action, target=target)
    return send_code_to(
        user_id=user_id, action=action, target=target, phone=phone, text=text,
        client_ip=client_ip, now=now,
    )  # fmt: skip


def send_code_to(
    *,
    user_id: int,
    action: StepUpAction,
    target: str,
    phone: str,
    text: str,
    client_ip: str,
    now: dt.datetime,
) -> CodeSent:
    """Send a fresh code for ``action`` on ``target`` (at most 20 characters: a line's number,
    or what one use case binds it to, e.g. ``gift:<id>``) to ``phone`` (e.g. a line's own
    number rather than the account's), in ``text`` (``{code}`` is replaced by the code; see
    ``domain.step_up_purpose_text``), under the same limits as every step-up code. Raises
    RateLimited."""
    for key, (limit, window) in (
        (f"step-up:ip:{client_ip}", domain.STEP_UP_SEND_PER_IP_HOUR),
        (f"step-up:user:{user_id}:m", domain.STEP_UP_SEND_PER_USER_MINUTE),
        (f"step-up:user:{user_id}:h", domain.STEP_UP_SEND_PER_USER_HOUR),
    ):
        ratelimit.hit(key=key, limit=limit, window=window, now=now)
    code = domain.new_otp_code()
    expires_at = now + domain.STEP_UP_CODE_TTL
    with transaction.atomic():
        StepUpChallenge.objects.create(
            user_id=user_id,
            action=action,
            target=target,
            phone=phone,
            code_hash=_hash(user_id=user_id, action=action, target=target, value=code),
            created_at=now,
            expires_at=expires_at,
        )
        sms.provider().send(phone=phone, text=text.replace("{code}", code))
    return CodeSent(
        action=action,
        phone_masked=mask_phone(phone),
        expires_at=expires_at,
        resend_after_seconds=RESEND_AFTER_SECONDS,
    )


def resend_wait_seconds(*, user_id: int, now: dt.datetime) -> int:
    """How long before the user may ask for another code (0: now), for a page drawn again
    after its code was sent (the countdown goes on)."""
    last = (
        StepUpChallenge.objects.filter(user_id=user_id)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    left = RESEND_AFTER_SECONDS - int((now - last).total_seconds())
    return max(0, min(left, RESEND_AFTER_SECONDS))


def verify_code(*, user_id: int, action: str, target: str, code: str, now: dt.datetime) -> Proof:
    """Check the latest code for (user, action, line) and turn it into a proof the action
    spends once within ``STEP_UP_PROOF_TTL``. A wrong code counts against its attempts.
    Raises UnknownStepUpAction, StepUpCodeInvalid."""
    return verify_code_for(
        user_id=user_id, action=action_of(action), target=target, code=code, now=now
    )


def verify_code_for(
    *, user_id: int, action: StepUpAction, target: str, code: str, now: dt.datetime
) -> Proof:
    """:func:`verify_code` for an action a use case asks for itself (``send_code_to``). Call
    it outside the action's transaction (a wrong try must stay counted). Raises
    StepUpCodeInvalid."""
    code = (code or "").strip()
    if not domain.is_code_shaped(code):
        raise StepUpCodeInvalid()
    proof = domain.new_step_up_proof()
    with transaction.atomic():
        # Only the latest code counts: asking again retires the one before.
        challenge = (
            StepUpChallenge.objects.select_for_update()
            .filter(user_id=user_id, action=action, target=target)
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None or not domain.step_up_code_usable(
            expires_at=challenge.expires_at,
            attempts=challenge.attempts,
            verified=challenge.verified_at is not None,
            now=now,
        ):
            raise StepUpCodeInvalid()
        if not domain.step_up_matches(
            secret=settings.OTP_SECRET,
            user_id=user_id,
            action=action,
            target=target,
            value=code,
            stored_hash=challenge.code_hash,
        ):
            StepUpChallenge.objects.filter(pk=challenge.pk).update(attempts=F("attempts") + 1)
            wrong = True
        else:
            wrong = False
            expires_at = now + domain.STEP_UP_PROOF_TTL
            StepUpChallenge.objects.filter(pk=challenge.pk).update(
                attempts=F("attempts") + 1,
                verified_at=now,
                proof_hash=_hash(user_id=user_id, action=action, target=target, value=proof),
                proof_expires_at=expires_at,
            )
    if wrong:  # raised after the block so the wrong try stays counted
        raise StepUpCodeInvalid()
    return Proof(action=action, proof=proof, expires_at=expires_at)


def _live_proof(*, user_id: int, action: str, target: str, proof: str, now: dt.datetime):
    if not proof or not proof.startswith(domain.STEP_UP_PROOF_PREFIX):
        raise StepUpRequired(action=action)
    return StepUpChallenge.objects.filter(
        proof_hash=_hash(user_id=user_id, action=action, target=target, value=proof),
        user_id=user_id,
        action=action,
        target=target,
        spent_at__isnull=True,
        proof_expires_at__gt=now,
    )


def check(*, user_id: int, action: str, target: str, proof: str, now: dt.datetime) -> None:
    """Whether ``proof`` could be spent now (spends nothing: for checks that must not run
    without one). Raises StepUpRequired."""
    found = (
        _live_proof(user_id=user_id, action=action, target=target, proof=proof, now=now)
        .values("proof_expires_at", "spent_at")
        .first()
    )
    if found is None or not domain.step_up_proof_usable(
        expires_at=found["proof_expires_at"], spent=found["spent_at"] is not None, now=now
    ):
        raise StepUpRequired(action=action)


def spend(*, user_id: int, action: str, target: str, proof: str, now: dt.datetime) -> None:
    """Spend the proof of a verified code for exactly this user, action and line. Call it in
    the action's transaction: if the action fails and rolls back, the proof is unspent and
    may be tried again until it expires. Raises StepUpRequired (missing, wrong, expired,
    spent, or made for another action or line)."""
    live = _live_proof(user_id=user_id, action=action, target=target, proof=proof, now=now)
    if live.update(spent_at=now) != 1:  # one statement: of two racing spends, one wins
        raise StepUpRequired(action=action)
