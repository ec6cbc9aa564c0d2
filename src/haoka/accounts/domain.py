"""Pure rules of sign-in: OTP codes, their limits, token formats.

Guessing a code, and why nobody can lock an owner out by guessing wrong:

- Only a phone's latest code counts, and it dies after ``OTP_MAX_ATTEMPTS`` (5) wrong guesses,
  from wherever they come; the owner then asks for a fresh code, which starts a fresh count.
  Wrong guesses never block the right code of a fresh request: there is no per-phone lockout.
- A phone gets at most ``OTP_SEND_PER_PHONE_HOUR`` (5) codes a clock hour (one a minute), so an
  attacker gets at most 5 x 5 = 25 guesses per phone per hour, each on a code drawn uniformly
  from 10**6: the chance of signing in as a given phone is at most 25 / 10**6 = 2.5e-5 per
  hour (the expected number of successes of an attacker hammering one phone all day is
  24 x 2.5e-5 = 6e-4), and every code they burn is an SMS the owner sees.
- One address gets at most ``LOGIN_PER_IP_HOUR`` (50) guesses an hour across all phones
  (at most 50 / 10**6 = 5e-5 expected successes per address-hour) and
  ``OTP_SEND_PER_IP_HOUR`` (20) codes: spreading guesses over many phones does not help.

What a stranger can still do is spend a phone's 5 codes of the hour (the cap that stops SMS
bombing), which the owner notices as unasked-for codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import models

OTP_LENGTH = 6
OTP_TTL = dt.timedelta(minutes=5)
#: How long sign-in and step-up codes are kept after they ended (``purge_challenges``).
CHALLENGE_RETENTION = dt.timedelta(days=30)
OTP_MAX_ATTEMPTS = 5
#: Sending limits: (how many, per window) per phone and per client IP.
OTP_SEND_PER_PHONE_MINUTE = (1, dt.timedelta(minutes=1))
OTP_SEND_PER_PHONE_HOUR = (5, dt.timedelta(hours=1))
OTP_SEND_PER_IP_HOUR = (20, dt.timedelta(hours=1))
#: Verification attempts of one client address across all phones (a phone's guesses are capped
#: by its codes: OTP_MAX_ATTEMPTS each, OTP_SEND_PER_PHONE_HOUR of them; see above).
LOGIN_PER_IP_HOUR = (50, dt.timedelta(hours=1))
SESSION_TTL = dt.timedelta(days=30)
TOKEN_PREFIX = "hk_"


class Role(models.TextChoices):
    """Who a user is (``User.role``'s choices)."""

    CONSUMER = "CONSUMER", "消费者"
    AGENT = "AGENT", "代理"
    SPONSOR = "SPONSOR", "后向客户"
    STAFF = "STAFF", "运营人员"


SCOPES = frozenset(
    {
        "numbers:write",
        "catalog:write",
        "charging",
        "orders",
        "staff",
        "carrier-callbacks",
        "distribution",
        "sponsors",  # staff's review of sponsor applications
        "sponsor",  # a sponsor's own integration (its tokens are bound to a member)
    }
)


def new_otp_code() -> str:
    return f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"


def otp_hash(*, secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_matches(*, secret: str, phone: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(otp_hash(secret=secret, phone=phone, code=code), stored_hash)


def otp_usable(*, expires_at: dt.datetime, attempts: int, consumed: bool, now: dt.datetime) -> bool:
    return not consumed and now < expires_at and attempts < OTP_MAX_ATTEMPTS


def is_code_shaped(code: str) -> bool:
    return len(code) == OTP_LENGTH and code.isascii() and code.isdigit()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def otp_text(code: str) -> str:
    return f"【号卡】您的登录验证码是 {code}，5 分钟内有效。如非本人操作请忽略。"


# ---------------------------------------------------------------- step-up (二次验证)
# Before 停机保号, 补换卡 and 销户 the signed-in owner proves again that they hold the phone of
# record: a fresh SMS code for that action on that line. Verifying it gives a proof token the
# action spends once. Both are stored as keyed hashes of (user, action, line, secret), so a
# code or proof made for one action on one line matches nothing else, and a copy of the table
# replays nothing.
#
# Guessing: a code dies after STEP_UP_MAX_ATTEMPTS (5) wrong tries and a user gets at most
# STEP_UP_SEND_PER_USER_HOUR (5) codes a clock hour, so someone holding a stolen session but not
# the phone gets at most 25 guesses an hour on codes drawn from 10**6 (2.5e-5 an hour), and
# every code they burn is an SMS the owner sees. The limits are fixed windows: whoever spends
# them holds the owner up until the hour turns, never longer.


class StepUpAction(models.TextChoices):
    """The risky line actions that want a fresh SMS code (values are the API's names)."""

    SUSPEND = "suspend", "停机保号"
    SIM_REPLACEMENT = "sim-replacement", "补换卡"
    CLOSURE = "closure", "销户"
    #: 流量转赠: the code goes to the giving line's own number and is bound to one gift (its
    #: use case asks for it; never asked for by name through the step-up API).
    DATA_GIFT = "data-gift", "流量转赠"
    #: 家庭共享: the code goes to the invited line's own number, bound to one invitation.
    FAMILY_INVITE = "family-invite", "家庭共享邀请"


#: The actions a caller may ask a code for by name (the step-up API and pages).
NAMED_STEP_UP_ACTIONS = frozenset(
    {StepUpAction.SUSPEND, StepUpAction.SIM_REPLACEMENT, StepUpAction.CLOSURE}
)


STEP_UP_CODE_TTL = dt.timedelta(minutes=5)
#: How long a verified code's proof may wait for its action.
STEP_UP_PROOF_TTL = dt.timedelta(minutes=5)
STEP_UP_MAX_ATTEMPTS = 5
STEP_UP_SEND_PER_USER_MINUTE = (1, dt.timedelta(minutes=1))
STEP_UP_SEND_PER_USER_HOUR = (5, dt.timedelta(hours=1))
STEP_UP_SEND_PER_IP_HOUR = (20, dt.timedelta(hours=1))
STEP_UP_PROOF_PREFIX = "su_"


def _bound(*, user_id: int, action: str, target: str, value: str) -> str:
    return f"step-up:{user_id}:{action}:{target}:{value}"


def step_up_hash(*, secret: str, user_id: int, action: str, target: str, value: str) -> str:
    """Keyed hash of a code or proof bound to one user, action and line (what is stored)."""
    message = _bound(user_id=user_id, action=action, target=target, value=value)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def step_up_matches(
    *, secret: str, user_id: int, action: str, target: str, value: str, stored_hash: str
) -> bool:
    made = step_up_hash(secret=secret, user_id=user_id, action=action, target=target, value=value)
    return hmac.compare_digest(made, stored_hash)


def step_up_code_usable(
    *, expires_at: dt.datetime, attempts: int, verified: bool, now: dt.datetime
) -> bool:
    """A code can be tried while unused, unexpired and under its wrong-try limit."""
    return not verified and now < expires_at and attempts < STEP_UP_MAX_ATTEMPTS


def step_up_proof_usable(*, expires_at: dt.datetime | None, spent: bool, now: dt.datetime) -> bool:
    return expires_at is not None and not spent and now < expires_at


def new_step_up_proof() -> str:
    return STEP_UP_PROOF_PREFIX + secrets.token_urlsafe(32)


def step_up_text(*, code: str, action: str, target: str) -> str:
    """The SMS: the code first, then what it is for (the line by its last four digits)."""
    label = StepUpAction(action).label
    return step_up_purpose_text(code=code, purpose=f"为尾号{target[-4:]}的号码办理{label}")


def step_up_purpose_text(*, code: str, purpose: str) -> str:
    """The SMS of a code for ``purpose`` (what the person is about to confirm)."""
    return (
        f"【号卡】验证码 {code}，用于{purpose}，5 分钟内有效。"
        "如非本人操作，请勿将验证码告诉任何人。"
    )
