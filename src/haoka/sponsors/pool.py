"""企业流量池 (ENTERPRISE_POOL): an enterprise pays general data for its employees' lines.

The sponsor adds a member by number (``add_member``): the line's number gets an SMS code and
its owner an in-app notice; the owner confirms with the code (``confirm``) and the member is
ACTIVE; the owner may leave and the sponsor remove it at any time (no new slices from that
moment; what the line holds runs out as it was). An ACTIVE member's requests take slices of
the pool on the hot path as 定向免流 does (``charging.sponsored``), for any traffic, up to the
campaign's per-line (per-member) monthly cap; sponsor buckets are drawn before the line's
own. Members are shown to the sponsor masked.

States: ``domain.MEMBER_MACHINE``; a code is good for ``domain.CODE_TTL`` and
``domain.CODE_TRIES`` tries."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.accounts import sms
from haoka.accounts.domain import new_otp_code
from haoka.core.errors import Conflict, NotFound, ValidationError
from haoka.core.phone import parse_mainland_mobile
from haoka.lines import queries as line_queries
from haoka.notices import operations as notices
from haoka.notices.templates import SMS_SIGNATURE, Kind
from haoka.sponsors import campaigns, domain
from haoka.sponsors.domain import MEMBER_MACHINE, CampaignKind, MemberStatus
from haoka.sponsors.models import Campaign, PoolMember, Sponsor

log = structlog.get_logger(__name__)


class NotAPoolCampaign(Conflict):
    code = "campaign_not_enterprise_pool"
    message = "该活动不是企业流量池"


class MemberNotFound(NotFound):
    code = "member_not_found"
    message = "该号码不是流量池成员"


class ConsentCodeWrong(ValidationError):
    code = "consent_code_wrong"
    message = "验证码不正确"


class ConsentCodeExpired(Conflict):
    code = "consent_code_expired"
    message = "验证码已失效，请让企业重新邀请"


def _pool_of(sponsor: Sponsor, campaign_id: str) -> Campaign:
    campaign = campaigns.campaign_of(sponsor=sponsor, campaign_id=campaign_id)
    if campaign.kind != CampaignKind.ENTERPRISE_POOL:
        raise NotAPoolCampaign(campaign_id=campaign.campaign_id)
    return campaign


def _live_line(msisdn: str):
    number = parse_mainland_mobile(str(msisdn or "")[:30])
    line = line_queries.find_line(msisdn=number, user_id=None)
    if line is None or line.status not in line_queries.LIVE:
        raise campaigns.LineNotFound()
    return line


def _code_hash(member_pk: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"pool:{member_pk}:{code}".encode(), hashlib.sha256).hexdigest()


def add_member(*, sponsor: Sponsor, campaign_id: str, msisdn: str, now: dt.datetime) -> PoolMember:
    """Invite the line of ``msisdn``: CODE_SENT with a new code (SMS to the number after
    commit, a notice to its owner). An ACTIVE member is answered as it is. Raises
    CampaignNotFound (another sponsor's too), NotAPoolCampaign, InvalidMsisdn, LineNotFound."""
    campaign = _pool_of(sponsor, campaign_id)
    line = _live_line(msisdn)
    with transaction.atomic():
        member = _member_row(campaign, line_id=line.pk, now=now)
        if member.status == MemberStatus.ACTIVE:
            return member
        if member.status != MemberStatus.CODE_SENT:
            MEMBER_MACHINE.check(current=member.status, target=MemberStatus.CODE_SENT)
        code = new_otp_code()
        member.status, member.attempts, member.changed_at = MemberStatus.CODE_SENT, 0, now
        member.code_hash = _code_hash(member.pk, code)
        member.code_expires_at = now + domain.CODE_TTL
        member.save(update_fields=["status", "attempts", "changed_at", "code_hash",
                                   "code_expires_at"])  # fmt: skip
        _tell(campaign, line=line, code=code, member=member, now=now)
    return member


def _member_row(campaign: Campaign, *, line_id: int, now: dt.datetime) -> PoolMember:
    found = PoolMember.objects.select_for_update().filter(campaign=campaign, line_id=line_id)
    member = found.first()
    if member is None:
        try:
            with transaction.atomic():
                PoolMember.objects.create(campaign=campaign, line_id=line_id, created_at=now,
                                          changed_at=now)  # fmt: skip
        except IntegrityError:
            pass  # invited at the same moment by another request
        member = found.get()
    return member


def _tell(campaign: Campaign, *, line, code: str, member: PoolMember, now: dt.datetime) -> None:
    text = (
        f"{SMS_SIGNATURE}{campaign.sponsor.company_name} 邀请本号码加入企业流量池，验证码 {code}，"
        f"{int(domain.CODE_TTL.total_seconds() // 60)} 分钟内有效。如非本人同意请忽略。"
    )
    phone = line.msisdn
    transaction.on_commit(lambda: sms.provider().send(phone=phone, text=text))
    notices.notify(
        user_id=line.user_id, kind=Kind.SPONSOR_POOL_INVITED,
        key=f"pool_invite:{member.pk}:{int(now.timestamp())}",
        values={"company_name": campaign.sponsor.company_name, "msisdn": line.msisdn,
                "campaign_name": campaign.name},
        now=now,
    )  # fmt: skip


def confirm(*, line_id: int, campaign_id: str, code: object, now: dt.datetime) -> PoolMember:
    """The line's owner confirms the invitation with the SMS code: ACTIVE. Idempotent for an
    ACTIVE member. Raises MemberNotFound (no invitation of this line to this campaign),
    ConsentCodeWrong (422; a try counted), ConsentCodeExpired (too old or too many tries),
    MemberStateConflict (the member left or was removed)."""
    with transaction.atomic():
        member = _member_of_line(line_id=line_id, campaign_id=campaign_id)
        if member.status == MemberStatus.ACTIVE:
            return member
        MEMBER_MACHINE.check(current=member.status, target=MemberStatus.ACTIVE)
        if (
            member.code_expires_at is None
            or now >= member.code_expires_at
            or (member.attempts >= domain.CODE_TRIES)
        ):
            raise ConsentCodeExpired()
        if not hmac.compare_digest(member.code_hash, _code_hash(member.pk, str(code or "")[:12])):
            PoolMember.objects.filter(pk=member.pk).update(attempts=member.attempts + 1)
            wrong = ConsentCodeWrong(tries_left=domain.CODE_TRIES - member.attempts - 1)
        else:
            wrong = None
            member.status, member.changed_at, member.code_hash = MemberStatus.ACTIVE, now, ""
            member.save(update_fields=["status", "changed_at", "code_hash"])
    if wrong is not None:
        raise wrong  # after the commit: the try is counted
    log.info("pool_member_joined", campaign_id=campaign_id, member_id=member.pk)
    return member


def _member_of_line(*, line_id: int, campaign_id: str) -> PoolMember:
    member = (
        PoolMember.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(line_id=line_id, campaign__campaign_id=str(campaign_id)[:20])
        .first()
    )
    if member is None:
        raise MemberNotFound()
    return member


def leave(*, line_id: int, campaign_id: str, now: dt.datetime) -> PoolMember:
    """The line's owner leaves the pool (or refuses the invitation): LEFT, no new slices.
    Idempotent. Raises MemberNotFound, MemberStateConflict (removed by the sponsor)."""
    with transaction.atomic():
        member = _member_of_line(line_id=line_id, campaign_id=campaign_id)
        return _end(member, MemberStatus.LEFT, now=now)


def remove(*, sponsor: Sponsor, campaign_id: str, msisdn: str, now: dt.datetime) -> PoolMember:
    """The sponsor removes a member: REMOVED, no new slices. Idempotent. Raises
    CampaignNotFound, NotAPoolCampaign, InvalidMsisdn, LineNotFound, MemberNotFound,
    MemberStateConflict (the member left)."""
    campaign = _pool_of(sponsor, campaign_id)
    line = _live_line(msisdn)
    with transaction.atomic():
        member = _member_of_line(line_id=line.pk, campaign_id=campaign.campaign_id)
        return _end(member, MemberStatus.REMOVED, now=now)


def _end(member: PoolMember, target: MemberStatus, *, now: dt.datetime) -> PoolMember:
    if member.status == target:
        return member
    MEMBER_MACHINE.check(current=member.status, target=target)
    member.status, member.changed_at, member.code_hash = target, now, ""
    member.save(update_fields=["status", "changed_at", "code_hash"])
    return member
