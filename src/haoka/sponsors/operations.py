"""Use cases of sponsors: applying, staff's decision, members' API tokens.

The wallet (``sponsors.wallet``), campaigns (``sponsors.campaigns``) and budget slices
(``sponsors.slices``) have modules of their own."""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction

from haoka.accounts import operations as accounts_operations
from haoka.core import pii
from haoka.core.errors import Conflict, NotFound
from haoka.core.phone import parse_mainland_mobile
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.sponsors import domain, wallet
from haoka.sponsors.domain import SPONSOR_MACHINE, SponsorKind, SponsorStatus
from haoka.sponsors.models import Sponsor, SponsorMember

log = structlog.get_logger(__name__)

#: The one scope of a sponsor's own integration tokens.
TOKEN_SCOPE = "sponsor"


class UsccTaken(Conflict):
    code = "uscc_already_registered"
    message = "该统一社会信用代码已提交过申请"


class AlreadySponsorMember(Conflict):
    code = "already_sponsor_member"
    message = "您已是另一后向客户的成员"


class SponsorNotFound(NotFound):
    code = "sponsor_not_found"
    message = "后向客户不存在"


class InvalidSponsorKind(domain.InvalidCompany):
    message = "类型须为 APP、ENTERPRISE 或 MERCHANT"


def apply(
    *,
    user_id: int,
    company_name: str,
    uscc: str,
    kind: str,
    contact_name: str,
    contact_phone: str,
    now: dt.datetime,
) -> Sponsor:
    """Apply to become a sponsor; the applicant is its first member. A rejected applicant
    may apply again with the same code. Raises InvalidUscc, InvalidCompany,
    InvalidSponsorKind, InvalidPhone, UsccTaken (409), AlreadySponsorMember (409)."""
    values = {
        "company_name": domain.check_company_name(company_name),
        "kind": _kind(kind),
        "contact_name": domain.check_contact_name(contact_name),
        "contact_phone": parse_mainland_mobile(str(contact_phone or "")),
    }
    code = domain.check_uscc(uscc)
    with transaction.atomic():
        member = SponsorMember.objects.select_for_update().filter(user_id=user_id).first()
        current = member and Sponsor.objects.select_for_update().get(pk=member.sponsor_id)
        if current and current.status != SponsorStatus.REJECTED:
            raise AlreadySponsorMember(status=current.status)
        existing = Sponsor.objects.select_for_update().filter(uscc=code).first()
        if existing is not None and (existing != current or existing.applicant_id != user_id):
            raise UsccTaken()
        if existing is not None:  # the same applicant again, after a rejection
            for name, value in values.items():
                setattr(existing, name, value)
            SPONSOR_MACHINE.record(
                existing,
                target=SponsorStatus.PENDING,
                actor=f"user:{user_id}",
                reason="重新提交申请",
                at=now,
                update={**values, "applied_at": now, "decided_at": None, "decision_reason": ""},
            )
            return existing
        sponsor = _create(user_id=user_id, uscc=code, values=values, now=now)
        if member is not None:  # moving on from a rejected company of another code
            member.delete()
        SponsorMember.objects.create(sponsor=sponsor, user_id=user_id, added_at=now)
        sponsor.events.create(
            from_status="", to_status=sponsor.status, actor=f"user:{user_id}", reason="提交申请",
            at=now,
        )  # fmt: skip
    log.info("sponsor_applied", sponsor_id=sponsor.sponsor_id)
    return sponsor


def _kind(kind: object) -> str:
    text = str(kind or "").strip().upper()
    if text not in SponsorKind.values:
        raise InvalidSponsorKind(field="kind", allowed=list(SponsorKind.values))
    return text


def _create(*, user_id: int, uscc: str, values: dict, now: dt.datetime) -> Sponsor:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Sponsor.objects.create(
                    sponsor_id=domain.new_public_id(domain.SPONSOR_ID_PREFIX),
                    uscc=uscc,
                    applicant_id=user_id,
                    applied_at=now,
                    **values,
                )
        except IntegrityError as exc:
            if Sponsor.objects.filter(uscc=uscc).exists():
                raise UsccTaken() from exc
    raise RuntimeError("could not find a free sponsor id")  # 34^10 ids: not in practice


def decide(*, sponsor_id: str, approve: bool, actor: str, reason: str, now: dt.datetime) -> Sponsor:
    """Staff approve (every member gets the SPONSOR role, the sponsor's ledger accounts are
    opened) or reject a PENDING application, and tell the applicant. Raises
    SponsorNotFound, SponsorStateConflict (409)."""
    target = SponsorStatus.APPROVED if approve else SponsorStatus.REJECTED
    with transaction.atomic():
        sponsor = Sponsor.objects.select_for_update().filter(sponsor_id=sponsor_id).first()
        if sponsor is None:
            raise SponsorNotFound(sponsor_id=str(sponsor_id)[:20])
        reason = " ".join(str(reason or "").split())[:200]
        SPONSOR_MACHINE.record(
            sponsor,
            target=target,
            actor=actor,
            reason=reason or ("审核通过" if approve else "审核未通过"),
            at=now,
            update={"decided_at": now, "decision_reason": reason},
        )
        if approve:
            wallet.open_accounts(sponsor=sponsor)
            for user_id in sponsor.members.values_list("user_id", flat=True):
                accounts_operations.make_sponsor(user_id=user_id)
        notices.notify(
            user_id=sponsor.applicant_id,
            kind=Kind.SPONSOR_APPROVED if approve else Kind.SPONSOR_REJECTED,
            key=f"sponsor:{sponsor.sponsor_id}:{target.lower()}:{sponsor.events.count()}",
            values={
                "company_name": sponsor.company_name,
                "sponsor_id": sponsor.sponsor_id,
                "reason": reason or "资料未通过审核",
            },
            now=now,
        )
    log.info("sponsor_decided", sponsor_id=sponsor.sponsor_id, status=sponsor.status)
    return sponsor


def contact_masked(sponsor: Sponsor) -> dict[str, str]:
    """The contact person as staff screens show it."""
    return {
        "contact_name_masked": pii.mask_name(sponsor.contact_name),
        "contact_phone_masked": pii.mask_phone(sponsor.contact_phone),
    }


# ---------------------------------------------------------------- members' API tokens


def member_ids(*, sponsor: Sponsor) -> list[int]:
    return list(sponsor.members.values_list("user_id", flat=True))


def create_token(
    *, sponsor: Sponsor, user_id: int, name: str, now: dt.datetime
) -> accounts_operations.CreatedToken:
    """An API token with the ``sponsor`` scope bound to the member ``user_id`` (shown once).
    Raises ValidationError (name), NotFound."""
    return accounts_operations.create_user_token(
        user_id=user_id, name=name, scope=TOKEN_SCOPE, actor=f"user:{user_id}", now=now
    )


def tokens(*, sponsor: Sponsor) -> list[accounts_operations.TokenListing]:
    """The sponsor's members' live ``sponsor`` tokens (prefix only), newest first."""
    return accounts_operations.api_tokens_of(
        user_ids=member_ids(sponsor=sponsor), scope=TOKEN_SCOPE
    )


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = "令牌不存在"


def revoke_token(*, sponsor: Sponsor, token_id: int, user_id: int, now: dt.datetime) -> None:
    """Revoke one of the sponsor's tokens. Raises TokenNotFound (also another sponsor's)."""
    done = accounts_operations.revoke_api_token(
        token_id=token_id, user_ids=member_ids(sponsor=sponsor), actor=f"user:{user_id}", now=now
    )
    if not done:
        raise TokenNotFound(token_id=token_id)
