"""Use cases of campaigns: creating one (its budget moves from the wallet into the held
account and is split into budget shards), pausing, resuming, ending (the unsliced budget
goes back to the wallet), raising or lowering the budget, ending expired campaigns, and the
opt-in / opt-out records.

Lock order, everywhere: the sponsor's row, then the campaign's (FOR NO KEY UPDATE, which
slicing lines' foreign-key locks never wait for), then its shards in index order
(``sponsors.slices`` takes a line's month row then one shard), so no two use cases wait on
each other in a circle."""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction

from haoka.catalog import domain as catalog_domain
from haoka.catalog import queries as catalog_queries
from haoka.core.errors import Conflict, NotFound
from haoka.core.phone import parse_mainland_mobile
from haoka.lines import queries as line_queries
from haoka.numbers import domain as numbers_domain
from haoka.sponsors import domain, wallet
from haoka.sponsors.domain import (
    CAMPAIGN_MACHINE,
    CampaignKind,
    CampaignStatus,
    InvalidCampaign,
    SponsorStatus,
)
from haoka.sponsors.models import (
    BudgetShard,
    Campaign,
    CampaignEvent,
    Slice,
    Sponsor,
    SponsorOptIn,
    SponsorOptOut,
)
from haoka.sponsors.operations import SponsorNotFound

log = structlog.get_logger(__name__)


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    message = "活动不存在"


class BudgetBelowHeld(Conflict):
    code = "budget_below_held"
    message = "预算不能低于已被切片占用和已结算的金额"


class NotAnOptInCampaign(Conflict):
    code = "campaign_not_opt_in"
    message = "该活动不需要用户报名"


class LineNotFound(NotFound):
    code = "line_not_found"
    message = "找不到该号码的线路"


# ---------------------------------------------------------------- creating


def create(
    *,
    sponsor: Sponsor,
    actor: str,
    kind: str,
    name: str,
    budget_fen: int,
    valid_from: dt.datetime,
    valid_to: dt.datetime,
    rating_groups: list[int],
    per_line_cap_mb: int,
    price_fen_per_gb: int,
    eligibility: dict,
    now: dt.datetime,
) -> Campaign:
    """Create an ACTIVE campaign whose budget leaves the sponsor's wallet for the held
    account. Raises InvalidCampaign (422), InsufficientBalance (409
    ``insufficient_balance``)."""
    values = _checked(
        kind=kind, name=name, budget_fen=budget_fen, valid_from=valid_from, valid_to=valid_to,
        rating_groups=rating_groups, per_line_cap_mb=per_line_cap_mb,
        price_fen_per_gb=price_fen_per_gb, eligibility=eligibility, now=now,
    )  # fmt: skip
    with transaction.atomic():
        locked = Sponsor.objects.select_for_update().get(pk=sponsor.pk)
        campaign = Campaign.objects.create(
            campaign_id=_free_id(), sponsor=locked, shards=domain.SHARDS, created_at=now,
            **values,
        )  # fmt: skip
        wallet.move_to_held(
            sponsor=locked, amount_fen=campaign.budget_fen, kind="sponsor.campaign_budget",
            memo=f"活动 {campaign.campaign_id} 预算", key=f"campaign:{campaign.campaign_id}:budget",
        )  # fmt: skip
        BudgetShard.objects.bulk_create(
            BudgetShard(campaign=campaign, index=i, available_fen=share)
            for i, share in enumerate(domain.split(campaign.budget_fen, campaign.shards))
        )
        campaign.events.create(
            from_status="", to_status=campaign.status, actor=actor, reason="创建活动", at=now
        )
        wallet.moved(sponsor=locked, now=now)
    log.info("campaign_created", campaign_id=campaign.campaign_id, budget_fen=budget_fen)
    return campaign


def _free_id() -> str:
    for _ in range(10):
        campaign_id = domain.new_public_id(domain.CAMPAIGN_ID_PREFIX)
        if not Campaign.objects.filter(campaign_id=campaign_id).exists():
            return campaign_id
    raise RuntimeError("could not find a free campaign id")  # 34^10 ids: not in practice


def _checked(*, kind, name, budget_fen, valid_from, valid_to, rating_groups, per_line_cap_mb,
             price_fen_per_gb, eligibility, now) -> dict:  # fmt: skip
    """The campaign's fields, checked. Raises InvalidCampaign."""
    kind = str(kind or "").strip().upper()
    if kind not in CampaignKind.values:
        raise InvalidCampaign("未知的活动类型", field="kind", allowed=list(CampaignKind.values))
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= 60:
        raise InvalidCampaign("活动名称须为 1 到 60 个字", field="name")
    if not _int(budget_fen) or budget_fen < 100:
        raise InvalidCampaign("预算至少 ¥1.00", field="budget_fen")
    if valid_to <= valid_from or valid_to <= now:
        raise InvalidCampaign("结束时间须晚于开始时间和当前时间", field="valid_to")
    if not _int(price_fen_per_gb) or not 0 < price_fen_per_gb <= domain.MAX_PRICE_FEN_PER_GB:
        raise InvalidCampaign("单价须为正整数分/GB", field="price_fen_per_gb")
    if not _int(per_line_cap_mb) or not 0 < per_line_cap_mb <= domain.MAX_CAP_MB:
        raise InvalidCampaign("每号每月上限须为正整数 MB", field="per_line_cap_mb")
    groups = sorted(set(rating_groups or []))
    if kind == CampaignKind.APP_FREE_FLOW and not groups:
        raise InvalidCampaign("定向免流活动须列出费率组", field="rating_groups")
    unknown = sorted(set(groups) - catalog_queries.rating_group_numbers())
    if unknown:
        raise InvalidCampaign("未知的费率组", field="rating_groups", unknown=unknown[:20])
    rules = domain.check_eligibility(eligibility)
    if "provinces" in rules:
        rules = {"provinces": sorted({catalog_domain.province_key(p) for p in rules["provinces"]})}
    return {
        "kind": kind, "name": name, "budget_fen": budget_fen, "valid_from": valid_from,
        "valid_to": valid_to, "rating_groups": groups, "per_line_cap_mb": per_line_cap_mb,
        "price_fen_per_gb": price_fen_per_gb, "eligibility": rules,
    }  # fmt: skip


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def campaign_of(*, sponsor: Sponsor, campaign_id: str) -> Campaign:
    """The sponsor's campaign. Raises CampaignNotFound (also for another sponsor's)."""
    found = Campaign.objects.filter(sponsor=sponsor, campaign_id=str(campaign_id)[:20]).first()
    if found is None:
        raise CampaignNotFound(campaign_id=str(campaign_id)[:20])
    return found


# ---------------------------------------------------------------- changing


def change(
    *, sponsor: Sponsor, campaign_id: str, action: str | None, budget_fen: int | None,
    actor: str, now: dt.datetime,
) -> Campaign:  # fmt: skip
    """``action`` pause | resume | end, or a new ``budget_fen`` (raised: the difference
    leaves the wallet; lowered: it comes back, never below what slices hold and spent).
    Raises CampaignNotFound, CampaignStateConflict (409), InvalidCampaign, BudgetBelowHeld
    (409), InsufficientBalance (409)."""
    if (action is None) == (budget_fen is None):
        raise InvalidCampaign("须给出 action 或 budget_fen 之一", field="action")
    with transaction.atomic():
        locked_sponsor = Sponsor.objects.select_for_update().get(pk=sponsor.pk)
        found = campaign_of(sponsor=sponsor, campaign_id=campaign_id)
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=found.pk)
        if budget_fen is not None:
            _rebudget(campaign, sponsor=locked_sponsor, budget_fen=budget_fen, actor=actor, now=now)
        elif action == "pause":
            _move(campaign, CampaignStatus.PAUSED, actor=actor, reason="暂停", now=now)
        elif action == "resume":
            _resume(campaign, actor=actor, now=now)
        elif action == "end":
            _end(campaign, sponsor=locked_sponsor, actor=actor, reason="结束", now=now)
        else:
            raise InvalidCampaign("action 须为 pause、resume 或 end", field="action")
        wallet.moved(sponsor=locked_sponsor, now=now)
    return campaign


def _move(campaign: Campaign, target: CampaignStatus, *, actor: str, reason: str, now) -> None:
    CAMPAIGN_MACHINE.record(campaign, target=target, actor=actor, reason=reason, at=now)


def _shards(campaign: Campaign) -> list[BudgetShard]:
    shards = BudgetShard.objects.select_for_update(of=("self",)).filter(campaign=campaign)
    return list(shards.order_by("index"))


def _resume(campaign: Campaign, *, actor: str, now) -> None:
    """PAUSED -> ACTIVE, or EXHAUSTED when nothing is left to slice."""
    available = sum(s.available_fen for s in _shards(campaign))
    target = CampaignStatus.ACTIVE if available > 0 else CampaignStatus.EXHAUSTED
    if campaign.status == CampaignStatus.EXHAUSTED and target == CampaignStatus.EXHAUSTED:
        return
    _move(campaign, target, actor=actor, reason="恢复", now=now)


def _rebudget(campaign: Campaign, *, sponsor: Sponsor, budget_fen: int, actor: str, now) -> None:
    if campaign.status == CampaignStatus.ENDED:
        CAMPAIGN_MACHINE.check(current=campaign.status, target=CampaignStatus.ACTIVE)
    if not _int(budget_fen) or budget_fen < 100:
        raise InvalidCampaign("预算至少 ¥1.00", field="budget_fen")
    shards = _shards(campaign)
    available = sum(s.available_fen for s in shards)
    committed = campaign.budget_fen - available  # held by open slices, or spent
    if budget_fen < committed:
        raise BudgetBelowHeld(budget_fen=budget_fen, committed_fen=committed)
    delta = budget_fen - campaign.budget_fen
    wallet.move_to_held(
        sponsor=sponsor, amount_fen=delta, kind="sponsor.campaign_budget",
        memo=f"活动 {campaign.campaign_id} 预算调整为 {budget_fen}", key=None,
    )  # fmt: skip
    for shard, share in zip(shards, domain.split(available + delta, len(shards)), strict=True):
        shard.available_fen = share
    BudgetShard.objects.bulk_update(shards, ["available_fen"])
    campaign.budget_fen = budget_fen
    campaign.save(update_fields=["budget_fen"])
    if campaign.status == CampaignStatus.EXHAUSTED and available + delta > 0:
        _move(campaign, CampaignStatus.ACTIVE, actor=actor, reason="追加预算", now=now)


def _end(campaign: Campaign, *, sponsor: Sponsor, actor: str, reason: str, now) -> None:
    """ENDED; the unsliced budget goes back to the wallet (open slices bring theirs back as
    they settle)."""
    _move(campaign, CampaignStatus.ENDED, actor=actor, reason=reason, now=now)
    shards = _shards(campaign)
    returned = sum(s.available_fen for s in shards)
    BudgetShard.objects.filter(campaign=campaign).update(available_fen=0)
    wallet.move_to_held(
        sponsor=sponsor, amount_fen=-returned, kind="sponsor.campaign_returned",
        memo=f"活动 {campaign.campaign_id} 结束，退回未使用预算",
        key=f"campaign:{campaign.campaign_id}:ended",
    )  # fmt: skip
    campaign.budget_fen -= returned
    campaign.save(update_fields=["budget_fen"])


def end_expired(*, now: dt.datetime, limit: int = 500) -> int:
    """End the campaigns past their ``valid_to`` (their unsliced budget back to the wallet,
    an EXPIRED outbox row for the sponsor's webhook). Safe to run twice. Returns how many."""
    due = Campaign.objects.filter(valid_to__lte=now).exclude(status=CampaignStatus.ENDED)
    done = 0
    for pk, sponsor_pk in due.order_by("valid_to", "id").values_list("pk", "sponsor_id")[:limit]:
        with transaction.atomic():
            sponsor = Sponsor.objects.select_for_update().get(pk=sponsor_pk)
            campaign = Campaign.objects.select_for_update(no_key=True).get(pk=pk)
            if campaign.status == CampaignStatus.ENDED:
                continue
            _end(campaign, sponsor=sponsor, actor="system", reason="活动到期", now=now)
            record_events(campaign_pk=campaign.pk, kinds=["EXPIRED"], now=now)
            wallet.moved(sponsor=sponsor, now=now)
            done += 1
    return done


def record_events(*, campaign_pk: int, kinds: list[str], now: dt.datetime) -> None:
    """Outbox rows for the sponsor's webhooks, once per (campaign, kind)."""
    if kinds:
        CampaignEvent.objects.bulk_create(
            [CampaignEvent(campaign_id=campaign_pk, kind=k, created_at=now) for k in kinds],
            ignore_conflicts=True,
        )


# ---------------------------------------------------------------- opting in and out


def opt_in(*, sponsor: Sponsor, campaign_id: str, msisdn: str, now: dt.datetime) -> SponsorOptIn:
    """Record that the line of ``msisdn`` opted in to an opted_in campaign through the
    sponsor's app (idempotent). Raises CampaignNotFound, NotAnOptInCampaign, InvalidMsisdn
    (422), LineNotFound (no live line has the number; the error never repeats it)."""
    campaign = campaign_of(sponsor=sponsor, campaign_id=campaign_id)
    if not campaign.eligibility.get("opted_in"):
        raise NotAnOptInCampaign(campaign_id=campaign.campaign_id)
    number = parse_mainland_mobile(str(msisdn or "")[:30])
    line = line_queries.find_line(msisdn=number, user_id=None)
    if line is None or line.status not in line_queries.LIVE:
        raise LineNotFound()
    try:
        with transaction.atomic():
            return SponsorOptIn.objects.create(line_id=line.pk, campaign=campaign, created_at=now)
    except IntegrityError:
        return SponsorOptIn.objects.get(line_id=line.pk, campaign=campaign)


def _approved_sponsor(sponsor_id: str) -> Sponsor:
    found = Sponsor.objects.filter(
        sponsor_id=str(sponsor_id)[:20], status=SponsorStatus.APPROVED
    ).first()
    if found is None:
        raise SponsorNotFound(sponsor_id=str(sponsor_id)[:20])
    return found


def opt_out(*, line_id: int, sponsor_id: str, now: dt.datetime) -> SponsorOptOut:
    """The line's owner refuses the sponsor: its campaigns give the line no new slice from
    now on (idempotent: a second call returns the first record). Raises SponsorNotFound (an
    unknown or unapproved sponsor)."""
    sponsor = _approved_sponsor(sponsor_id)
    try:
        with transaction.atomic():
            return SponsorOptOut.objects.create(line_id=line_id, sponsor=sponsor, created_at=now)
    except IntegrityError:
        return SponsorOptOut.objects.get(line_id=line_id, sponsor=sponsor)


def undo_opt_out(*, line_id: int, sponsor_id: str) -> bool:
    """The line's owner accepts the sponsor again (idempotent). True when an opt-out was
    removed. Raises SponsorNotFound."""
    sponsor = _approved_sponsor(sponsor_id)
    removed, _ = SponsorOptOut.objects.filter(line_id=line_id, sponsor=sponsor).delete()
    return removed > 0


def province_of(msisdn: str) -> str:
    """The short name of the number's 归属地 province ("" when unknown)."""
    try:
        location = numbers_domain.locate(msisdn=msisdn)
    except numbers_domain.InvalidMsisdn:
        return ""
    return catalog_domain.province_key(location.province) if location.province else ""


def slices_of_line(*, line_id: int):
    return Slice.objects.filter(line_id=line_id)
