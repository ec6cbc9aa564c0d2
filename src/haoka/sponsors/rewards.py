"""流量红包 (DATA_REWARD): a sponsor grants megabytes of general or targeted data to a line
(``POST /api/v1/sponsor/campaigns/{id}/grants``), once per its ``external_id``.

A grant takes its bytes whole from the campaign's budget shards as slices (no hot spot: the
same conditional UPDATEs as the hot path, from the line's home shard), within the line's
monthly cap, valid to the campaign's end; charging makes each slice a SPONSOR bucket of the
line (``signals.slices_granted``, same transaction), drawn before the line's own buckets.
The sponsor pays for what is used: each slice settles as the hot path's do (used bytes at
the campaign's price by cumulative rounding; the rest back to the budget when the bucket is
used up or expires). The line's owner is told (in the app and by SMS).

Idempotency: UNIQUE (campaign, external_id). The same request again answers the first
grant and changes nothing; another request under the same id is refused (409)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from django.db import IntegrityError, transaction

from haoka.core import pii
from haoka.core.clock import BEIJING
from haoka.core.errors import Conflict
from haoka.core.phone import parse_mainland_mobile
from haoka.lines import queries as line_queries
from haoka.notices import operations as notices
from haoka.notices.templates import Kind
from haoka.sponsors import campaigns, domain, slices
from haoka.sponsors.domain import MB, CampaignKind, GrantKind
from haoka.sponsors.models import Campaign, RewardGrant, Sponsor
from haoka.sponsors.signals import slices_granted

log = structlog.get_logger(__name__)


class NotARewardCampaign(Conflict):
    code = "campaign_not_data_reward"
    message = "该活动不是流量红包活动"


class GrantReused(Conflict):
    code = "grant_external_id_reused"
    message = "external_id 已用于另一个不同的发放请求"


class GrantRefused(Conflict):
    code = "grant_refused"
    message = "活动当前不能向该号码发放流量"


@dataclass(frozen=True)
class GrantResult:
    grant: RewardGrant
    msisdn: str
    replayed: bool  # the same request answered again


def grant(
    *, sponsor: Sponsor, campaign_id: str, msisdn: str, megabytes: object, external_id: object,
    kind: object = GrantKind.GENERAL, now: dt.datetime,
) -> GrantResult:  # fmt: skip
    """Grant ``megabytes`` of the campaign to the line of ``msisdn`` (see the module).
    Raises CampaignNotFound (another sponsor's too), NotARewardCampaign, InvalidGrant,
    InvalidMsisdn, LineNotFound, GrantReused, GrantRefused (campaign not live, line not
    active, not eligible or opted out), slices.OverLineCap, slices.OverBudget."""
    campaign = campaigns.campaign_of(sponsor=sponsor, campaign_id=campaign_id)
    if campaign.kind != CampaignKind.DATA_REWARD:
        raise NotARewardCampaign(campaign_id=campaign.campaign_id)
    size_mb, ext, kind = domain.check_grant(
        megabytes=megabytes, external_id=external_id, kind=kind,
        rating_groups=campaign.rating_groups,
    )  # fmt: skip
    number = parse_mainland_mobile(str(msisdn or "")[:30])
    line = line_queries.find_line(msisdn=number, user_id=None)
    if line is None or line.status not in line_queries.LIVE:
        raise campaigns.LineNotFound()
    wanted = {"line_id": line.pk, "megabytes": size_mb, "kind": kind}
    found = RewardGrant.objects.filter(campaign=campaign, external_id=ext).first()
    if found is not None:
        return _replay(found, wanted, msisdn=number)
    try:
        made = _grant_new(campaign, external_id=ext, now=now, **wanted)
    except IntegrityError:  # the same id granted at the same moment
        found = RewardGrant.objects.get(campaign=campaign, external_id=ext)
        return _replay(found, wanted, msisdn=number)
    _tell_owner(made, campaign=campaign, msisdn=number, now=now)
    log.info("sponsor_grant_made", campaign_id=campaign.campaign_id, grant_id=made.pk,
             megabytes=size_mb, kind=kind)  # fmt: skip
    return GrantResult(made, number, replayed=False)


def _replay(found: RewardGrant, wanted: dict, *, msisdn: str) -> GrantResult:
    have = {"line_id": found.line_id, "megabytes": found.megabytes, "kind": found.kind}
    if have != wanted:
        raise GrantReused(external_id=found.external_id)
    return GrantResult(found, msisdn, replayed=True)


def _grant_new(campaign: Campaign, *, external_id: str, line_id: int, megabytes: int,
               kind: str, now: dt.datetime) -> RewardGrant:  # fmt: skip
    """The grant row, its slices and (through the signal) the line's buckets, or nothing.
    Raises GrantRefused, slices.OverLineCap, slices.OverBudget, IntegrityError (the id
    taken meanwhile)."""
    if not slices.may_draw(campaign, line_id=line_id, now=now):
        raise GrantRefused(campaign_id=campaign.campaign_id)
    with transaction.atomic():
        made = RewardGrant.objects.create(
            campaign=campaign, external_id=external_id, line_id=line_id, megabytes=megabytes,
            kind=kind, valid_to=campaign.valid_to, created_at=now,
        )  # fmt: skip
        groups = domain.grant_rating_groups(kind, campaign.rating_groups)
        # A refusal (OverLineCap, OverBudget) undoes the slices and the grant row.
        taken = slices.take_exact(
            campaign, line_id=line_id, size=megabytes * MB, valid_to=campaign.valid_to,
            now=now, rating_groups=groups, grant_pk=made.pk,
        )  # fmt: skip
        slices_granted.send(sender=RewardGrant, line_id=line_id, grants=taken, now=now)
    return made


def _tell_owner(made: RewardGrant, *, campaign: Campaign, msisdn: str, now: dt.datetime) -> None:
    facts = line_queries.line_facts(line_id=made.line_id)
    if facts is None or not facts.user_id:
        return
    scope = "通用流量" if made.kind == GrantKind.GENERAL else "定向流量"
    notices.notify(
        user_id=facts.user_id, kind=Kind.SPONSOR_DATA_GRANTED, key=f"sponsor_grant:{made.pk}",
        values={"company_name": campaign.sponsor.company_name, "msisdn": msisdn,
                "megabytes": made.megabytes, "scope": scope,
                "valid_to": f"{made.valid_to.astimezone(BEIJING):%Y-%m-%d %H:%M}"},
        now=now,
    )  # fmt: skip


def answer(result: GrantResult) -> dict:
    """The API's view of a grant: the number masked."""
    made = result.grant
    return {
        "grant_id": made.pk, "campaign_id": made.campaign.campaign_id,
        "external_id": made.external_id, "msisdn_masked": pii.mask_phone(result.msisdn),
        "megabytes": made.megabytes, "kind": made.kind, "valid_to": made.valid_to,
        "created_at": made.created_at,
    }  # fmt: skip
