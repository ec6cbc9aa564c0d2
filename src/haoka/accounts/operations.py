"""Use cases of accounts: OTP sign-in, tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from haoka.accounts import domain, sms, store, tokencache
from haoka.accounts.domain import Role
from haoka.accounts.models import AuthToken, OtpChallenge, StepUpChallenge, User
from haoka.core import audit, ratelimit
from haoka.core.errors import HaokaError, NotFound, Unauthenticated, ValidationError
from haoka.core.phone import parse_mainland_mobile


class OtpInvalid(HaokaError):
    code = "otp_invalid"
    status = 401
    message = "验证码错误或已过期"


class InvalidScope(ValidationError):
    code = "invalid_scope"
    message = "未知的权限范围"


@dataclass(frozen=True)
class OtpSent:
    phone: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    user_id: int
    role: str
    expires_at: dt.datetime | None


def request_otp(*, phone: str, client_ip: str, now: dt.datetime) -> OtpSent:
    """Send a 6-digit code to ``phone``. Raises InvalidMsisdn, RateLimited."""
    phone = parse_mainland_mobile(phone)
    for key, (limit, window) in (
        (f"otp:ip:{client_ip}", domain.OTP_SEND_PER_IP_HOUR),
        (f"otp:phone:{phone}:m", domain.OTP_SEND_PER_PHONE_MINUTE),
        (f"otp:phone:{phone}:h", domain.OTP_SEND_PER_PHONE_HOUR),
    ):
        ratelimit.hit(key=key, limit=limit, window=window, now=now)
    code = domain.new_otp_code()
    expires_at = now + domain.OTP_TTL
    with transaction.atomic():
        OtpChallenge.objects.create(
            phone=phone,
            code_hash=domain.otp_hash(secret=settings.OTP_SECRET, phone=phone, code=code),
            created_at=now,
            expires_at=expires_at,
        )
        sms.provider().send(phone=phone, text=domain.otp_text(code))
    return OtpSent(phone=phone, expires_at=expires_at)


def verify_otp(*, phone: str, code: str, client_ip: str, now: dt.datetime) -> User:
    """Check the latest code for ``phone`` and return its user (created on first sign-in).
    Pages sign in with this; the API also issues a token. Raises InvalidMsisdn, RateLimited
    (too many guesses from this address), OtpInvalid.

    A phone's guesses are capped by its code (dead after ``OTP_MAX_ATTEMPTS`` wrong ones) and
    by how many codes it gets, not by a per-phone lock that a stranger could trip to keep the
    owner out (the arithmetic is in :mod:`haoka.accounts.domain`)."""
    phone = parse_mainland_mobile(phone)
    limit, window = domain.LOGIN_PER_IP_HOUR
    ratelimit.hit(key=f"login:ip:{client_ip}", limit=limit, window=window, now=now)
    if not domain.is_code_shaped(code or ""):
        raise OtpInvalid()
    user = _consume_otp(phone=phone, code=code, now=now)
    if user is None:
        raise OtpInvalid()
    return user


def login_with_otp(*, phone: str, code: str, client_ip: str, now: dt.datetime) -> IssuedToken:
    """Verify the code and issue a session token. Raises InvalidMsisdn, RateLimited,
    OtpInvalid."""
    user = verify_otp(phone=phone, code=code, client_ip=client_ip, now=now)
    return _issue_session(user=user, now=now)


def _consume_otp(*, phone: str, code: str, now: dt.datetime) -> User | None:
    with transaction.atomic():
        # Only the latest code counts, used or not: using it must not revive an older one.
        challenge = (
            OtpChallenge.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None or not domain.otp_usable(
            expires_at=challenge.expires_at,
            attempts=challenge.attempts,
            consumed=challenge.consumed_at is not None,
            now=now,
        ):
            return None
        if not domain.otp_matches(
            secret=settings.OTP_SECRET, phone=phone, code=code, stored_hash=challenge.code_hash
        ):
            OtpChallenge.objects.filter(pk=challenge.pk).update(attempts=F("attempts") + 1)
            return None
        OtpChallenge.objects.filter(pk=challenge.pk).update(
            consumed_at=now, attempts=F("attempts") + 1
        )
        return register_consumer(phone=phone)


def register_consumer(*, phone: str) -> User:
    """The consumer of ``phone`` (a valid mainland mobile), registered on first sight with no
    password (they sign in with OTP)."""
    user, created = User.objects.get_or_create(
        phone=phone, defaults={"username": phone, "role": Role.CONSUMER}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit.record(
            actor=f"user:{user.pk}",
            action="user.registered",
            object_type="user",
            object_id=str(user.pk),
        )
    return user


def ensure_staff_user(*, username: str, password: str) -> User:
    """A staff superuser who signs in to the admin with a password (made once: an existing
    username is left as it is)."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_superuser(username=username, password=password, role=Role.STAFF)
    return user


def _issue_session(*, user: User, now: dt.datetime) -> IssuedToken:
    token = domain.new_token()
    expires_at = now + domain.SESSION_TTL
    AuthToken.objects.create(
        user=user,
        kind=AuthToken.Kind.SESSION,
        token_hash=domain.token_hash(token),
        prefix=token[:10],
        scopes=[],
        created_at=now,
        expires_at=expires_at,
        last_used_at=now,  # signing in is a use: the first requests need not record one
    )
    return IssuedToken(token=token, user_id=user.pk, role=user.role, expires_at=expires_at)


def create_api_token(
    *, name: str, scopes: list[str], username: str | None, now: dt.datetime
) -> IssuedToken:
    """Create an integration token (shown once). Without ``username`` a service user named
    after the token is created. Raises InvalidScope, NotFound."""
    unknown = sorted(set(scopes) - domain.SCOPES)
    if unknown or not scopes:
        raise InvalidScope(unknown=unknown, allowed=sorted(domain.SCOPES))
    if not name.strip():
        raise ValidationError("令牌名称不能为空", field="name")
    with transaction.atomic():
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise NotFound("用户不存在", username=username)
        else:
            user, _ = User.objects.get_or_create(
                username=f"svc-{name.strip()}",
                defaults={"role": Role.STAFF if "staff" in scopes else Role.CONSUMER},
            )
        token = domain.new_token()
        record = AuthToken.objects.create(
            user=user,
            kind=AuthToken.Kind.API,
            name=name.strip(),
            token_hash=domain.token_hash(token),
            prefix=token[:10],
            scopes=sorted(set(scopes)),
            created_at=now,
        )
        audit.record(
            actor="cli",
            action="token.created",
            object_type="auth_token",
            object_id=str(record.pk),
            data={"name": record.name, "scopes": record.scopes},
        )
    return IssuedToken(token=token, user_id=user.pk, role=user.role, expires_at=None)


def authenticate_token(*, token: str, now: dt.datetime) -> tuple[User, AuthToken]:
    """Resolve a bearer token. Raises Unauthenticated.

    The unrevoked token of this hash and its user come from this process's memory when they
    are there (:mod:`haoka.accounts.tokencache`, which forgets a token the moment the
    database changes it), else from one written-out statement (every API request asks: the
    ORM's compiling of the join cost more than the database)."""
    token_hash = domain.token_hash(token)
    cache = tokencache.cache if tokencache.cache.enabled() else None
    kept = cache.lookup(token_hash) if cache is not None else None
    if kept is not None:
        row, generation = kept, None
    else:
        generation = cache.generation() if cache is not None else None
        row = store.live_token_row(token_hash)
    record = None if row is None else store.token_from_row(row)
    if (
        record is None
        or (record.expires_at is not None and record.expires_at <= now)
        or not record.user.is_active
    ):
        raise Unauthenticated()
    if record.last_used_at is None or now - record.last_used_at > dt.timedelta(minutes=5):
        # The change is announced like any other: the row is read again next time.
        store.touch_token(record.pk, now=now)
    elif cache is not None and generation is not None:
        cache.keep(token_hash, user_id=record.user_id, row=row, generation=generation)
    return record.user, record


def revoke_token(*, token: str, now: dt.datetime) -> None:
    AuthToken.objects.filter(token_hash=domain.token_hash(token), revoked_at__isnull=True).update(
        revoked_at=now
    )


def make_agent(*, user_id: int) -> bool:
    """Give a consumer the AGENT role (an approved agent); other roles are left as they are.
    True when the role changed."""
    return bool(User.objects.filter(pk=user_id, role=Role.CONSUMER).update(role=Role.AGENT))


def purge_challenges(*, now: dt.datetime) -> int:
    """Delete sign-in and step-up codes that ended more than ``CHALLENGE_RETENTION`` ago
    (their hashes are of no use once expired; the month kept is for looking into abuse).
    Returns how many rows went."""
    before = now - domain.CHALLENGE_RETENTION
    otp, _ = OtpChallenge.objects.filter(expires_at__lt=before).delete()
    step_up, _ = (
        StepUpChallenge.objects.filter(expires_at__lt=before)
        .exclude(proof_expires_at__gte=before)
        .delete()
    )
    return otp + step_up


def make_sponsor(*, user_id: int) -> bool:
    """Give a consumer the SPONSOR role (a member of an approved sponsor); other roles are
    left as they are. True when the role changed."""
    return bool(User.objects.filter(pk=user_id, role=Role.CONSUMER).update(role=Role.SPONSOR))


@dataclass(frozen=True)
class TokenListing:
    """An integration token as its owner may see it again: never the token, its prefix."""

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class CreatedToken:
    """A token just made: the token itself (shown once, never stored) and its listing."""

    token: str
    listing: TokenListing


def create_user_token(
    *, user_id: int, name: str, scope: str, actor: str, now: dt.datetime
) -> CreatedToken:
    """An integration token with one ``scope`` bound to an existing user (shown once), made
    by that user's self-service (a sponsor's console). Raises InvalidScope, ValidationError
    (an empty or over-long name), NotFound."""
    if scope not in domain.SCOPES:
        raise InvalidScope(unknown=[scope], allowed=sorted(domain.SCOPES))
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= 100:
        raise ValidationError("令牌名称须为 1 到 100 个字", field="name")
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise NotFound("用户不存在", user_id=user_id)
        token = domain.new_token()
        record = AuthToken.objects.create(
            user=user,
            kind=AuthToken.Kind.API,
            name=name,
            token_hash=domain.token_hash(token),
            prefix=token[:10],
            scopes=[scope],
            created_at=now,
        )
        audit.record(
            actor=actor,
            action="token.created",
            object_type="auth_token",
            object_id=str(record.pk),
            data={"name": record.name, "scopes": record.scopes},
        )
    return CreatedToken(token=token, listing=_listing(record))


def _listing(t: AuthToken) -> TokenListing:
    return TokenListing(t.pk, t.user_id, t.name, t.prefix, t.scopes, t.created_at, t.last_used_at)


def api_tokens_of(*, user_ids: list[int], scope: str) -> list[TokenListing]:
    """The live integration tokens with ``scope`` of these users, newest first."""
    found = AuthToken.objects.filter(
        user_id__in=user_ids, kind=AuthToken.Kind.API, revoked_at__isnull=True
    ).order_by("-created_at", "-id")
    return [_listing(t) for t in found if scope in t.scopes]


def revoke_api_token(*, token_id: int, user_ids: list[int], actor: str, now: dt.datetime) -> bool:
    """Revoke the integration token ``token_id`` when it belongs to one of ``user_ids``.
    False when there is no such live token of theirs."""
    with transaction.atomic():
        done = AuthToken.objects.filter(
            pk=token_id, user_id__in=user_ids, kind=AuthToken.Kind.API, revoked_at__isnull=True
        ).update(revoked_at=now)
        if done:
            audit.record(
                actor=actor,
                action="token.revoked",
                object_type="auth_token",
                object_id=str(token_id),
                data={},
            )
    return bool(done)
