from __future__ import annotations

from django.conf import settings
from ninja import Router

from haoka.accounts import operations, queries
from haoka.accounts.auth import bearer
from haoka.accounts.schemas import LoginIn, MeOut, OtpIn, OtpOut, SmsOut, TokenOut
from haoka.core import clock, idempotency
from haoka.core.clientip import client_ip
from haoka.core.errors import NotFound
from haoka.core.phone import parse_mainland_mobile
from haoka.core.pii import mask_phone

router = Router(tags=["accounts"])


@router.post("/auth/otp", response={200: OtpOut})
def send_otp(request, body: OtpIn):
    sent = operations.request_otp(phone=body.phone, client_ip=client_ip(request), now=clock.now())
    return OtpOut(phone=sent.phone, expires_at=sent.expires_at)


@router.post("/auth/login", response={200: TokenOut})
@idempotency.never_replayed  # the token is shown once: a repeat must not hand it out again
def login(request, body: LoginIn):
    issued = operations.login_with_otp(
        phone=body.phone, code=body.code, client_ip=client_ip(request), now=clock.now()
    )
    return TokenOut(
        token=issued.token, user_id=issued.user_id, role=issued.role, expires_at=issued.expires_at
    )


@router.get("/me", response=MeOut, auth=bearer)
def me(request):
    user = request.auth
    return MeOut(
        id=user.pk, phone=user.phone, phone_masked=mask_phone(user.phone or ""), role=user.role
    )


@router.get("/sandbox/sms", response=list[SmsOut])
def sandbox_sms(request, phone: str):
    """Sandbox only: the SMS outbox of one phone (stands in for the phone's inbox)."""
    if not settings.SANDBOX:
        raise NotFound()
    return [
        SmsOut(phone=m.phone, text=m.text, sent_at=m.sent_at)
        for m in queries.sandbox_outbox(phone=parse_mainland_mobile(phone))
    ]
